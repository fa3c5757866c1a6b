#include "uki/build.h"

namespace bootseal::uki {

Result<std::vector<NamedSection>> build_sections(const BuildInputs& in, std::vector<std::string>* warnings) {
  std::vector<NamedSection> secs;
  if (in.os_release && !in.os_release->empty()) secs.push_back({".osrel", Content::own(std::string_view(*in.os_release))});
  if (!in.cmdline.empty()) secs.push_back({".cmdline", Content::own(std::string_view(in.cmdline))});
  if (in.devicetree) secs.push_back({".dtb", Content::own(*in.devicetree)});
  std::string uname;
  if (in.uname) {
    uname = *in.uname;
  } else {
    auto u = kernel_uname(in.linux_image);
    if (u.ok())
      uname = *u;
    else if (warnings)
      warnings->push_back(u.error().message());
  }
  if (!uname.empty()) secs.push_back({".uname", Content::own(std::string_view(uname))});
  if (in.splash) secs.push_back({".splash", Content::own(*in.splash)});
  if (in.pcrpkey) secs.push_back({".pcrpkey", Content::own(std::string_view(*in.pcrpkey))});
  secs.push_back({".linux", Content::view(in.linux_image)});
  if (in.initrds.size() == 1) {
    secs.push_back({".initrd", Content::view(in.initrds[0])});
  } else if (in.initrds.size() > 1) {
    std::vector<ByteSpan> views(in.initrds.begin(), in.initrds.end());
    secs.push_back({".initrd", Content::own(join_initrds(views))});
  }
  std::vector<std::string> pe_sbats;
  if (auto s = pe_sbat(in.stub)) pe_sbats.push_back(*s);
  if (auto s = pe_sbat(in.linux_image)) pe_sbats.push_back(*s);
  std::vector<std::string> texts = in.sbat_texts;
  if (texts.empty()) texts.emplace_back(kUkiSbat);
  secs.push_back({".sbat", Content::own(std::string_view(merge_sbat(pe_sbats, texts, warnings)))});
  return secs;
}

Result<Bytes> assemble_uki(ByteSpan stub, std::vector<NamedSection> sections, const std::optional<std::string>& pcrsig,
                           bool update_checksum) {
  if (pcrsig) sections.push_back({".pcrsig", Content::own(std::string_view(*pcrsig))});
  return assemble(stub, sections, {.update_checksum = update_checksum});
}

Result<Bytes> build(const BuildInputs& in, std::vector<std::string>* warnings) {
  auto secs = BS_TRY(build_sections(in, warnings));
  return assemble_uki(in.stub, std::move(secs), std::nullopt, in.update_checksum);
}

}  // namespace bootseal::uki
