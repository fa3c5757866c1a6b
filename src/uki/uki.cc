#include "uki/uki.h"

#include <algorithm>

#include "bls/cmdline.h"
#include "bls/os_release.h"
#include "base/hex.h"

namespace bootseal::uki {

namespace {

// x86 boot protocol (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header").
constexpr size_t kSetupHeaderBase = 0x200;
constexpr size_t kHdrSMagicOffset = 0x202;
constexpr size_t kKernelVersionPtrOffset = 0x20E;
constexpr std::string_view kHdrSMagic = "HdrS";
constexpr size_t kKernelVersionMaxLen = 128;  // ukify reads 128 bytes

std::vector<std::string> split_lines(std::string_view s) {
  // Python str.splitlines() for \n and \r\n.
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    std::string_view line = s.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.emplace_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}

bool is_version_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == '-';
}

// ukify's VERSION_PATTERN: "(?P<version>[a-z0-9._+-]+) \([^ )]+\) (?:#.*)".
std::optional<std::string> match_version(std::string_view t) {
  size_t i = 0;
  while (i < t.size() && is_version_char(t[i])) i++;
  if (i == 0) return std::nullopt;
  std::string version(t.substr(0, i));
  if (t.substr(i, 2) != " (") return std::nullopt;
  size_t j = i + 2, k = j;
  while (k < t.size() && t[k] != ' ' && t[k] != ')') k++;
  if (k == j || k >= t.size() || t[k] != ')') return std::nullopt;
  if (t.substr(k, 3) != ") #") return std::nullopt;
  return version;
}

}  // namespace

Content Content::own(Bytes b) {
  auto p = std::make_shared<const Bytes>(std::move(b));
  return {ByteSpan(*p), p, {}};
}

uint64_t Content::size() const {
  if (parts.empty()) return data.size();
  uint64_t n = 0;
  for (ByteSpan p : parts) n += round_up(p.size(), kInitrdAlignment);
  return n;
}

std::optional<std::string> pe_sbat(ByteSpan file) {
  auto img = pe::parse(file);
  if (!img.ok()) return std::nullopt;
  const pe::Section* s = img->find(".sbat");
  if (!s) return std::nullopt;
  // pefile's get_data() returns SizeOfRawData bytes; ukify strips NULs at the end.
  ByteSpan raw = file.subspan(s->PointerToRawData, s->SizeOfRawData);
  std::string text(as_string(raw));
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

std::string merge_sbat(const std::vector<std::string>& pe_sbats, const std::vector<std::string>& texts,
                       std::vector<std::string>* warnings) {
  std::vector<std::string> entries;
  auto take = [&](const std::string& text, const std::string& what) {
    auto lines = split_lines(text);
    if (lines.empty() || lines[0].rfind("sbat,", 0) != 0) {
      if (warnings) warnings->push_back(fmt::format("{} does not contain a valid SBAT section, skipping", what));
      return;
    }
    entries.insert(entries.end(), lines.begin() + 1, lines.end());
  };
  for (auto& s : pe_sbats) take(s, "PE .sbat section");
  for (auto& t : texts) take(t, "SBAT text");
  std::string out(kSbatHeader);
  out += "\n";
  for (size_t i = 0; i < entries.size(); i++) {
    if (i) out += "\n";
    out += entries[i];
  }
  out += "\n";
  out.push_back('\0');
  return out;
}

Result<std::string> kernel_uname(ByteSpan k) {
  if (k.size() >= kKernelVersionPtrOffset + 2 && as_string(k.subspan(kHdrSMagicOffset, 4)) == kHdrSMagic) {
    uint64_t off = kSetupHeaderBase + load_le<uint16_t>(k.data() + kKernelVersionPtrOffset);
    if (off < k.size()) {
      std::string_view text = as_string(k.subspan(off, std::min<uint64_t>(kKernelVersionMaxLen, k.size() - off)));
      text = text.substr(0, text.find('\0'));
      if (auto v = match_version(text)) return *v;
    }
  }
  // Fallback: "Linux version <digit>.<non-space>* (" anywhere in the image.
  std::string_view all = as_string(k);
  constexpr std::string_view kNeedle = "Linux version ";
  for (size_t pos = all.find(kNeedle); pos != std::string_view::npos; pos = all.find(kNeedle, pos + 1)) {
    size_t v = pos + kNeedle.size();
    if (v + 1 >= all.size() || !(all[v] >= '0' && all[v] <= '9') || all[v + 1] != '.') continue;
    size_t e = v;
    while (e < all.size() && all[e] != ' ' && all[e] != '\t' && all[e] != '\n' && all[e] != '\0') e++;
    if (all.substr(e, 2) == " (") return std::string(all.substr(v, e - v));
  }
  return input_error("cannot find the kernel version in the kernel image (no bzImage version string and no "
                     "\"Linux version\" text); pass --uname");
}

Result<Arch> pe_arch(ByteSpan file) {
  pe::Image img = BS_TRY(pe::parse(file));
  auto a = arch_from_pe_machine(img.Machine);
  if (!a) return unsupported_error("PE Machine {:#06x} is neither x86-64 (0x8664) nor arm64 (0xaa64)", img.Machine);
  return *a;
}

Result<KernelCheck> check_kernel_for_stub(ByteSpan kernel, ByteSpan stub) {
  KernelCheck r;
  r.arch = BS_TRY_CTX(pe_arch(stub), "stub");
  const std::string_view sa = arch_name(r.arch);
  if (!pe::looks_like_pe(kernel)) {
    if (r.arch == Arch::kArm64)
      return input_error("the kernel is not a PE image{}; systemd-stub for arm64 boots only an EFI (PE) kernel Image",
                         is_gzip(kernel) ? " (it is gzip-compressed)" : "");
    r.warnings.push_back("the kernel is not a PE image; the firmware cannot start it");
    return r;
  }
  pe::Image k = BS_TRY_CTX(pe::parse(kernel), "kernel");
  auto ka = arch_from_pe_machine(k.Machine);
  if (!ka)
    return input_error("the kernel's PE Machine {:#06x} is not {} ({:#06x}), the stub's", k.Machine, sa,
                       arch_info(r.arch).pe_machine);
  if (*ka != r.arch)
    return input_error("the kernel is {} (PE Machine {:#06x}) but the stub is {} (PE Machine {:#06x})",
                       arch_name(*ka), k.Machine, sa, arch_info(r.arch).pe_machine);
  if (r.arch == Arch::kArm64 && k.MajorImageVersion < 1)
    return input_error("the kernel's MajorImageVersion is {}; systemd-stub for arm64 needs >= 1 (\"Bad kernel image\")",
                       k.MajorImageVersion);
  return r;
}

Bytes join_initrds(const std::vector<ByteSpan>& initrds) {
  Bytes out;
  if (initrds.size() == 1) return Bytes(initrds[0].begin(), initrds[0].end());
  size_t total = 0;
  for (auto& i : initrds) total += round_up(i.size(), kInitrdAlignment);
  out.reserve(total);
  for (auto& i : initrds) {
    out.insert(out.end(), i.begin(), i.end());
    out.resize(round_up(out.size(), kInitrdAlignment), 0);
  }
  return out;
}

void sort_ukify_order(std::vector<NamedSection>& sections) {
  // Extra sections (ukify's --section) go after the standard ones, before .sbat.
  auto rank = [](const std::string& n) {
    auto it = std::find(kUkifyOrder.begin(), kUkifyOrder.end(), n);
    if (it == kUkifyOrder.end()) it = std::find(kUkifyOrder.begin(), kUkifyOrder.end(), ".sbat");
    size_t r = 2 * static_cast<size_t>(it - kUkifyOrder.begin());
    return std::find(kUkifyOrder.begin(), kUkifyOrder.end(), n) == kUkifyOrder.end() ? r - 1 : r;
  };
  std::stable_sort(sections.begin(), sections.end(),
                   [&](const NamedSection& a, const NamedSection& b) { return rank(a.name) < rank(b.name); });
}

Result<Bytes> assemble(ByteSpan stub, const std::vector<NamedSection>& sections, const AssembleOptions& opts) {
  pe::Layout l = BS_TRY(assemble_layout(stub, sections, opts));
  return l.materialize();
}

Result<pe::Layout> assemble_layout(ByteSpan stub, const std::vector<NamedSection>& sections,
                                   const AssembleOptions& opts) {
  pe::Editor ed = BS_TRY_CTX(pe::Editor::open(stub), "stub");
  if (ed.image().has_certificate_table())
    return input_error("the stub is signed; refusing to add sections to a signed stub (ukify refuses too)");
  std::vector<std::string> original = ed.section_names();
  for (auto& s : sections) {
    if (s.content.size() == 0) return input_error("section {} is empty", s.name);
    bool in_stub = std::find(original.begin(), original.end(), s.name) != original.end();
    if (!s.content.parts.empty()) {
      if (in_stub) return input_error("section {}: the stub already has one", s.name);
      BS_TRY_CTX(ed.add_section_parts(s.name, s.content.parts, kInitrdAlignment,
                                      pe::kScnMemRead | pe::kScnCntInitializedData),
                 "adding section {}", s.name);
      continue;
    }
    if (in_stub) {
      // ukify swaps the data of a section the stub already has (in practice
      // .sbat) and fails if it does not fit.
      const pe::Section* old = ed.image().find(s.name);
      if (s.content.data.size() > old->SizeOfRawData)
        return input_error("not enough space in the stub's existing section {} ({} bytes) for {} bytes", s.name,
                           old->SizeOfRawData, s.content.data.size());
      BS_TRY(ed.replace_section(s.name, s.content.data));
      continue;
    }
    uint32_t ch = pe::kScnMemRead | (s.name == ".linux" ? pe::kScnCntCode : pe::kScnCntInitializedData);
    BS_TRY_CTX(ed.add_section(s.name, s.content.data, ch), "adding section {}", s.name);
    if (s.name == ".linux") {
      // The UKI must not claim NX compatibility the kernel lacks (ukify does the same).
      auto k = pe::parse(s.content.data);
      if (k.ok() && !(k->DllCharacteristics & pe::kDllNxCompat))
        ed.set_dll_characteristics(ed.dll_characteristics() & ~pe::kDllNxCompat);
    }
  }
  return ed.layout({.update_checksum = opts.update_checksum});
}

Result<Inspection> inspect(ByteSpan file) {
  pe::Image img = BS_TRY(pe::parse(file));
  Inspection r;
  for (auto& s : img.sections) {
    SectionInfo si;
    si.name = s.name();
    si.virtual_address = s.VirtualAddress;
    si.virtual_size = s.VirtualSize;
    si.raw_size = s.SizeOfRawData;
    si.file_offset = s.PointerToRawData;
    r.sections.push_back(std::move(si));
  }
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    const pe::Section* s = img.find(name);
    if (!s) return std::nullopt;
    std::string t(as_string(pe::section_data(file, *s)));
    while (!t.empty() && t.back() == '\0') t.pop_back();
    return t;
  };
  r.cmdline = text(".cmdline");
  r.uname = text(".uname");
  r.sbat = text(".sbat");
  if (auto os = text(".osrel")) r.os_release = bls::parse_os_release(*os).fields;
  if (r.cmdline) {
    if (auto v = bls::cmdline_value(*r.cmdline, "composefs")) {
      std::string d = *v;
      if (!d.empty() && d.front() == '?') d.erase(0, 1);  // "verity optional" marker
      if (is_hex(d)) r.composefs_digest = d;
    }
  }
  r.is_uki = img.find(".linux") != nullptr;
  r.is_addon = !r.is_uki && (img.find(".cmdline") || img.find(".dtb"));
  r.signed_ = img.has_certificate_table();
  r.cert_table_size = img.certificate_table().Size;
  r.checksum = img.CheckSum;
  r.checksum_ok = img.CheckSum == pe::compute_checksum(file, img.checksum_offset);
  return r;
}

}  // namespace bootseal::uki
