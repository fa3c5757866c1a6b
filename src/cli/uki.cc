// bootseal uki build|inspect|addon: unified kernel images on systemd-stub, laid
// out as ukify 257 lays them out, with an optional signed PCR 11 policy.
#include <cstdio>
#include <cstdlib>

#include <fmt/ranges.h>

#include "authenticode/authenticode.h"
#include "base/hex.h"
#include "boot/payloads.h"
#include "bls/cmdline.h"
#include "cli/command.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "keys/keyset.h"
#include "measure/measure.h"
#include "pe/pe.h"
#include "sys/file.h"
#include "sys/mapped_file.h"
#include "sys/process.h"
#include "sys/tree.h"
#include "uki/uki.h"

namespace bootseal::cli {

// An --arch value that is no architecture is a usage error (exit 2).
inline Result<Arch> arch_option(const std::string& s) {
  auto a = parse_arch(s);
  if (!a.ok()) return usage_error("--arch: {}", a.error().message());
  return a;
}

// sign.cc: Authenticode-sign a PE layout with a key source and certificate
// file and write it atomically; write a layout atomically.
Status sign_layout_to_file(pe::Layout image, const std::string& key, const std::string& cert,
                           const std::vector<std::string>& addcerts, bool append, const std::string& output);
Status write_layout_file(const std::string& path, pe::Layout l, mode_t mode, bool set_checksum);
std::string& key_passphrase_file();  // sign.cc

namespace {


bool file_exists(const std::string& p) { return sys::is_regular_file(p); }

// TEXT or @FILE. Text given inline for the command line is whitespace-normalized
// (ukify does the same); a file is taken verbatim.
Result<Bytes> text_or_file(const std::string& v, bool normalize) {
  if (!v.empty() && v[0] == '@') return sys::read_file(v.substr(1));
  std::string t = normalize ? bls::normalize_cmdline(v) : v;
  return Bytes(t.begin(), t.end());
}

struct BuildOptions {
  std::string linux_path, cmdline, os_release, uname, splash, devicetree, stub, output, sign_key, sign_cert, arch, ucode;
  bool os_release_given = false, uname_given = false, no_checksum = false, unsigned_ = false;
  std::vector<std::string> initrds, sbat, pcr_private_keys, pcr_public_keys, phases, pcr_banks, extra_sections;
};

uki::Content own(Bytes b) { return uki::Content::own(std::move(b)); }

// The PCR signature for the measured sections, one signing per key (with its
// phase group), merged as ukify's combine_signatures().
// Only the sections the stub's version measures (a 254 stub ignores .ucode).
Result<std::string> make_pcrsig(const BuildOptions& o, const std::vector<uki::NamedSection>& secs, ByteSpan stub) {
  auto major = measure::stub_major_version(stub);
  measure::SectionMap m;
  for (auto& s : secs)
    if (measure::stub_measures(major, s.name)) m.emplace(s.name, s.content.data);
  std::vector<crypto::HashAlg> banks;
  for (auto& b : o.pcr_banks) banks.push_back(BS_TRY_CTX(crypto::parse_hash_name(b), "--pcr-banks"));
  if (banks.empty()) banks = measure::default_banks();
  if (!o.pcr_public_keys.empty() && o.pcr_public_keys.size() != o.pcr_private_keys.size())
    return usage_error("--pcr-public-key must be given as many times as --pcr-private-key");
  if (!o.phases.empty() && o.phases.size() != o.pcr_private_keys.size())
    return usage_error("--phases must be given as many times as --pcr-private-key");
  tpm2::PcrSigDocument doc;
  for (size_t i = 0; i < o.pcr_private_keys.size(); i++) {
    // A PEM file (encrypted: --key-passphrase-file or the terminal) or a PKCS#11 URI.
    auto key = BS_TRY(keys::load_signer(o.pcr_private_keys[i], key_passphrase_file()));
    Bytes pub;
    if (i < o.pcr_public_keys.size()) {
      Bytes ppem = BS_TRY(sys::read_file(o.pcr_public_keys[i]));
      pub = BS_TRY(crypto::public_key_der_from_pem(ppem, o.pcr_public_keys[i]));
    }
    std::vector<std::string> phases;
    if (i < o.phases.size()) {
      // A group is a comma- or space-separated list of phase paths (ukify's parse_phase_paths).
      const std::string& g = o.phases[i];
      size_t pos = 0;
      while (pos <= g.size()) {
        size_t e = g.find_first_of(", \t\n", pos);
        if (e == std::string::npos) e = g.size();
        if (e > pos) phases.push_back(g.substr(pos, e - pos));
        pos = e + 1;
      }
      for (auto& p : phases) BS_TRY_CTX(measure::validate_phase_path(p), "--phases");
    } else {
      phases = measure::default_phase_paths();
    }
    auto d = BS_TRY(measure::sign(m, banks, phases, *key, pub));
    for (auto& b : d.banks)
      for (auto& e : b.entries) doc.add(b.bank, e);
  }
  return tpm2::to_json(doc, tpm2::JsonStyle::kPython);
}

Status build_cmd(const BuildOptions& o, bool verbose) {
  if (o.pcr_private_keys.empty() && (!o.pcr_public_keys.empty() || !o.phases.empty()))
    return usage_error("--pcr-public-key and --phases need --pcr-private-key");
  if (o.sign_key.empty() != o.sign_cert.empty()) return usage_error("--sign-key and --sign-cert go together");
  sys::MappedFile kernel_map = BS_TRY(sys::MappedFile::open(o.linux_path));
  ByteSpan kernel = kernel_map.data();
  if (kernel.empty()) return input_error("{}: empty kernel image", o.linux_path);
  // A gzip-compressed kernel (arm64 Image.gz) is embedded decompressed, as
  // ukify 257 does: the firmware and systemd-stub load only a PE.
  Bytes kernel_gunzipped;
  if (uki::is_gzip(kernel)) {
    std::vector<std::string> argv = {"gzip", "-dc", o.linux_path};
    if (verbose) std::fprintf(stderr, "+ %s\n", sys::shell_join(argv).c_str());
    std::string out = BS_TRY_CTX(sys::run_capture(argv), "{}: decompressing the gzip kernel", o.linux_path);
    kernel_gunzipped.assign(out.begin(), out.end());
    kernel = kernel_gunzipped;
  }
  // The architecture: --arch, else the kernel's PE Machine, else x86-64; it
  // picks the default stub (linux<x64|aa64>.efi.stub).
  std::optional<Arch> arch;
  if (!o.arch.empty()) arch = BS_TRY(arch_option(o.arch));
  if (pe::looks_like_pe(kernel)) {
    if (auto ka = uki::pe_arch(kernel); ka.ok()) {
      if (arch && *arch != *ka)
        return input_error("{}: the kernel is {} but --arch is {}", o.linux_path, arch_name(*ka), arch_name(*arch));
      arch = *ka;
    }
  }
  std::string stub_path =
      BS_TRY(boot::find_systemd_efi(boot::linux_stub_name(arch.value_or(Arch::kX86_64)), o.stub, "--stub"));
  Bytes stub = BS_TRY(sys::read_file(stub_path));
  uki::KernelCheck kc = BS_TRY_CTX(uki::check_kernel_for_stub(kernel, stub), "{} with stub {}", o.linux_path, stub_path);
  for (auto& w : kc.warnings) warn(fmt::format("{}: {}", o.linux_path, w));

  std::vector<uki::NamedSection> secs;
  // .osrel: given text/@file, else the build host's os-release (ukify's default);
  // an empty --os-release leaves it out.
  if (o.os_release_given) {
    if (!o.os_release.empty()) secs.push_back({".osrel", own(BS_TRY(text_or_file(o.os_release, false)))});
  } else {
    std::string p = file_exists("/etc/os-release") ? "/etc/os-release" : "/usr/lib/os-release";
    secs.push_back({".osrel", own(BS_TRY(sys::read_file(p)))});
  }
  if (!o.cmdline.empty()) {
    Bytes c = BS_TRY(text_or_file(o.cmdline, true));
    if (!c.empty()) secs.push_back({".cmdline", own(std::move(c))});
  }
  if (!o.devicetree.empty()) secs.push_back({".dtb", own(BS_TRY(sys::read_file(o.devicetree)))});
  std::string uname = o.uname;
  if (!o.uname_given) {
    auto u = uki::kernel_uname(kernel);
    if (u.ok())
      uname = *u;
    else
      warn(fmt::format("{}: {}", o.linux_path, u.error().message()));
  }
  if (!uname.empty()) secs.push_back({".uname", uki::Content::own(std::string_view(uname))});
  if (!o.splash.empty()) secs.push_back({".splash", own(BS_TRY(sys::read_file(o.splash)))});
  if (!o.pcr_private_keys.empty()) {
    if (o.pcr_private_keys.size() == 1 && !o.pcr_public_keys.empty()) {
      secs.push_back({".pcrpkey", own(BS_TRY(sys::read_file(o.pcr_public_keys[0])))});
    } else if (o.pcr_private_keys.size() == 1) {
      auto key = BS_TRY(keys::load_signer(o.pcr_private_keys[0], key_passphrase_file()));
      secs.push_back({".pcrpkey", uki::Content::own(std::string_view(crypto::public_key_pem(key->public_key_der())))});
    }
  }
  secs.push_back({".linux", uki::Content::view(kernel)});
  std::vector<sys::MappedFile> initrd_maps;
  for (auto& i : o.initrds) initrd_maps.push_back(BS_TRY(sys::MappedFile::open(i)));
  if (!initrd_maps.empty()) {
    if (initrd_maps.size() == 1) {
      if (!initrd_maps[0].data().empty()) secs.push_back({".initrd", uki::Content::view(initrd_maps[0].data())});
    } else {
      // Several initrds: laid out in place from their mappings, each padded
      // to 4 bytes, unless a PCR policy is signed (measuring needs them as
      // one buffer).
      std::vector<ByteSpan> views;
      for (auto& m : initrd_maps) views.push_back(m.data());
      if (o.pcr_private_keys.empty())
        secs.push_back({".initrd", uki::Content::joined(std::move(views))});
      else
        secs.push_back({".initrd", own(uki::join_initrds(views))});
    }
  }
  // .ucode (ukify's --microcode): early microcode, loaded by systemd-stub >= 256
  // before the initrd (a 254 stub ignores it, and does not measure it).
  if (!o.ucode.empty()) {
    secs.push_back({".ucode", own(BS_TRY(sys::read_file(o.ucode)))});
    if (auto major = measure::stub_major_version(stub); major && !measure::stub_measures(major, ".ucode"))
      warn(fmt::format("{}: systemd-stub {} ignores .ucode (256 and later load it)", stub_path, *major));
  }
  // Extra sections (ukify's --section NAME:TEXT|@FILE): not measured by systemd-stub.
  for (auto& spec : o.extra_sections) {
    size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0)
      return usage_error("--section {}: expected NAME:TEXT or NAME:@FILE", spec);
    std::string name = spec.substr(0, colon);
    for (auto& s : secs)
      if (s.name == name) return usage_error("--section {}: section {} is already present", spec, name);
    if (std::find(uki::kUkifyOrder.begin(), uki::kUkifyOrder.end(), name) != uki::kUkifyOrder.end())
      return usage_error("--section {}: {} has its own option", spec, name);
    secs.push_back({name, own(BS_TRY(text_or_file(spec.substr(colon + 1), false)))});
  }
  // .sbat: the stub's and the kernel's entries plus the user's (default: the uki line).
  std::vector<std::string> pe_sbats;
  if (auto s = uki::pe_sbat(stub)) pe_sbats.push_back(*s);
  if (auto s = uki::pe_sbat(kernel)) pe_sbats.push_back(*s);
  std::vector<std::string> texts;
  for (auto& t : o.sbat) {
    Bytes b = BS_TRY(text_or_file(t, false));
    texts.emplace_back(b.begin(), b.end());
  }
  if (texts.empty()) texts.emplace_back(uki::kUkiSbat);
  std::vector<std::string> warnings;
  secs.push_back({".sbat", uki::Content::own(std::string_view(uki::merge_sbat(pe_sbats, texts, &warnings)))});
  for (auto& w : warnings) warn(w);

  if (!o.pcr_private_keys.empty())
    secs.push_back({".pcrsig", uki::Content::own(std::string_view(BS_TRY(make_pcrsig(o, secs, stub))))});

  // The layout holds views of the mapped kernel and initrds; nothing is
  // copied. The checksum is summed as the image is written (by the signer
  // when signing, which always sets it), not in a separate pass.
  pe::Layout layout =
      BS_TRY_CTX(uki::assemble_layout(stub, secs, {.update_checksum = false}), "{}", stub_path);
  if (!o.sign_key.empty())
    return sign_layout_to_file(std::move(layout), o.sign_key, o.sign_cert, {}, false, o.output);
  return write_layout_file(o.output, std::move(layout), 0644, !o.no_checksum);
}

struct AddonOptions {
  std::string cmdline, devicetree, stub, output, arch;
  std::vector<std::string> sbat;
  bool no_checksum = false;
};

Status addon_cmd(const AddonOptions& o) {
  if (o.cmdline.empty() && o.devicetree.empty()) return usage_error("an addon needs --cmdline or --devicetree");
  Arch arch = o.arch.empty() ? Arch::kX86_64 : BS_TRY(arch_option(o.arch));
  std::string stub_path = BS_TRY(boot::find_systemd_efi(boot::addon_stub_name(arch), o.stub, "--stub"));
  Bytes stub = BS_TRY(sys::read_file(stub_path));
  std::vector<uki::NamedSection> secs;
  if (!o.cmdline.empty()) secs.push_back({".cmdline", own(BS_TRY(text_or_file(o.cmdline, true)))});
  if (!o.devicetree.empty()) secs.push_back({".dtb", own(BS_TRY(sys::read_file(o.devicetree)))});
  std::vector<std::string> texts;
  for (auto& t : o.sbat) {
    Bytes b = BS_TRY(text_or_file(t, false));
    texts.emplace_back(b.begin(), b.end());
  }
  if (texts.empty()) texts.emplace_back(uki::kAddonSbat);
  // Addons do not take the stub's .sbat entries (ukify passes no input PEs).
  std::vector<std::string> warnings;
  secs.push_back({".sbat", uki::Content::own(std::string_view(uki::merge_sbat({}, texts, &warnings)))});
  for (auto& w : warnings) warn(w);
  Bytes image = BS_TRY_CTX(uki::assemble(stub, secs, {.update_checksum = !o.no_checksum}), "{}", stub_path);
  return sys::write_file_atomic(o.output, image);
}

Status inspect_cmd(const std::string& path, const Globals& g) {
  // Mapped, not read: a UKI is mostly a large initrd, hashed once from the mapping.
  sys::MappedFile map = BS_TRY(sys::MappedFile::open(path));
  ByteSpan file = map.data();
  auto r = BS_TRY_CTX(uki::inspect(file), "{}", path);
  pe::Image img = BS_TRY(pe::parse(file));
  for (size_t i = 0; i < r.sections.size(); i++) {
    // What systemd-stub measures: VirtualSize bytes, zeros past the raw data.
    const pe::Section& s = img.sections[i];
    ByteSpan raw = pe::section_data(file, s);
    crypto::Hasher h(crypto::HashAlg::kSha256);
    h.update(raw);
    for (uint64_t left = s.mapped_size() - std::min<uint64_t>(raw.size(), s.mapped_size()); left > 0;) {
      ByteSpan z = pe::zero_block().first(static_cast<size_t>(std::min<uint64_t>(left, pe::zero_block().size())));
      h.update(z);
      left -= z.size();
    }
    r.sections[i].sha256 = h.finish();
  }
  // The signed PCR policy, checked against this UKI's own sections.
  std::vector<measure::PolicyMatch> pcrsig;
  std::optional<std::string> pcrsig_error;
  if (const pe::Section* ps = img.find(".pcrsig")) {
    std::string text(as_string(pe::section_data(file, *ps)));
    while (!text.empty() && text.back() == '\0') text.pop_back();
    auto doc = tpm2::parse_pcrsig(text);
    if (doc.ok()) {
      std::vector<Bytes> storage;
      auto secs = measure::sections_from_uki(file, storage);
      if (secs.ok()) pcrsig = measure::match_pcrsig(*secs, *doc);
    } else {
      pcrsig_error = doc.error().message();
    }
  }
  // Authenticode signatures: who signed, and whether the image hash still
  // matches (no trust decision here: that is `bootseal verify --cert`).
  std::vector<authenticode::SignatureCheck> sigs;
  if (r.signed_) {
    auto rep = authenticode::verify(file, {});
    if (rep.ok()) sigs = rep->signatures;
  }
  // Multi-profile UKIs (.profile sections) and the stub's version (which sections it measures).
  auto profiles = measure::profiles_of_uki(file);
  std::vector<measure::ProfileInfo> profs = profiles.ok() ? *profiles : std::vector<measure::ProfileInfo>{};
  auto stub_major = measure::stub_major_version(file);
  auto match_json = [](const measure::PolicyMatch& m) {
    return nlohmann::json{{"bank", crypto::hash_name(m.bank)},
                          {"phase", m.phase_path ? nlohmann::json(*m.phase_path) : nlohmann::json(nullptr)},
                          {"key_matches_pcrpkey", m.pkfp_matches_pcrpkey ? nlohmann::json(*m.pkfp_matches_pcrpkey)
                                                                         : nlohmann::json(nullptr)},
                          {"signature_valid",
                           m.signature_valid ? nlohmann::json(*m.signature_valid) : nlohmann::json(nullptr)}};
  };
  if (g.json) {
    nlohmann::json j;
    j["file"] = path;
    j["kind"] = r.is_uki ? "uki" : r.is_addon ? "addon" : "pe";
    nlohmann::json secs = nlohmann::json::array();
    for (auto& s : r.sections)
      secs.push_back({{"name", s.name}, {"virtual_address", s.virtual_address}, {"size", s.virtual_size},
                      {"raw_size", s.raw_size}, {"file_offset", s.file_offset}, {"sha256", to_hex(s.sha256)}});
    j["sections"] = secs;
    j["cmdline"] = r.cmdline ? nlohmann::json(*r.cmdline) : nlohmann::json(nullptr);
    j["uname"] = r.uname ? nlohmann::json(*r.uname) : nlohmann::json(nullptr);
    nlohmann::json osr = nlohmann::json::object();
    for (auto& [k, v] : r.os_release) osr[k] = v;
    j["os_release"] = osr;
    j["sbat"] = r.sbat ? nlohmann::json(*r.sbat) : nlohmann::json(nullptr);
    j["composefs_digest"] = r.composefs_digest ? nlohmann::json(*r.composefs_digest) : nlohmann::json(nullptr);
    if (pcrsig_error) j["pcrsig_error"] = *pcrsig_error;
    if (!pcrsig.empty()) {
      j["pcrsig"] = nlohmann::json::array();
      for (auto& m : pcrsig) j["pcrsig"].push_back(match_json(m));
    }
    j["signed"] = r.signed_;
    j["signatures"] = nlohmann::json::array();
    for (auto& sc : sigs)
      j["signatures"].push_back({{"signer", sc.signer}, {"issuer", sc.issuer},
                                 {"digest_algorithm", sc.digest_algorithm}, {"image_hash_ok", sc.hash_ok}});
    j["stub_major_version"] = stub_major ? nlohmann::json(*stub_major) : nlohmann::json(nullptr);
    j["profiles"] = nlohmann::json::array();
    for (auto& p : profs) j["profiles"].push_back({{"index", p.index}, {"profile", p.text}, {"sections", p.sections}});
    j["certificate_table_size"] = r.cert_table_size;
    j["checksum"] = fmt::format("0x{:08x}", r.checksum);
    j["checksum_valid"] = r.checksum_ok;
    print_json(j);
    return {};
  }
  std::printf("%s: %s\n", path.c_str(), r.is_uki ? "UKI" : r.is_addon ? "UKI addon" : "PE image");
  std::printf("  %-9s %10s %10s %10s  %s\n", "section", "vaddr", "size", "offset", "sha256");
  for (auto& s : r.sections)
    std::printf("  %-9s %#10x %10u %#10x  %s\n", s.name.c_str(), s.virtual_address, s.virtual_size, s.file_offset,
                to_hex(s.sha256).c_str());
  if (r.uname) std::printf("uname: %s\n", r.uname->c_str());
  if (r.cmdline) std::printf("cmdline: %s\n", r.cmdline->c_str());
  if (r.composefs_digest) std::printf("composefs digest: %s\n", r.composefs_digest->c_str());
  if (!r.os_release.empty()) {
    std::printf("os-release:\n");
    for (auto& [k, v] : r.os_release) std::printf("  %s=%s\n", k.c_str(), v.c_str());
  }
  if (r.sbat) std::printf("sbat:\n  %s\n", r.sbat->c_str());
  if (stub_major) std::printf("stub: systemd-stub %u\n", *stub_major);
  for (auto& p : profs) {
    std::string t = p.text;
    for (char& c : t)
      if (c == '\n') c = ' ';
    std::printf("profile %u: %s (sections %s)\n", p.index, t.c_str(), fmt::format("{}", fmt::join(p.sections, " ")).c_str());
  }
  if (pcrsig_error) std::printf("pcrsig: unreadable: %s\n", pcrsig_error->c_str());
  for (auto& m : pcrsig)
    std::printf("pcrsig: %-6s %s%s%s\n", std::string(crypto::hash_name(m.bank)).c_str(),
                m.phase_path ? ("valid for phase " + *m.phase_path).c_str()
                             : "STALE: signs none of this UKI's phase paths",
                !m.pkfp_matches_pcrpkey      ? ""
                : *m.pkfp_matches_pcrpkey    ? ", key = .pcrpkey"
                                             : ", key is NOT .pcrpkey",
                !m.signature_valid ? "" : *m.signature_valid ? ", signature valid" : ", signature INVALID");
  std::printf("signature: %s\n",
              r.signed_ ? fmt::format("present ({} bytes of certificates)", r.cert_table_size).c_str() : "none");
  for (auto& sc : sigs)
    std::printf("  signer '%s' (issuer '%s', %s): image hash %s\n", sc.signer.c_str(), sc.issuer.c_str(),
                sc.digest_algorithm.c_str(), sc.hash_ok ? "matches" : "DOES NOT MATCH");
  std::printf("checksum: 0x%08x (%s)\n", r.checksum, r.checksum == 0 ? "not set" : r.checksum_ok ? "valid" : "WRONG");
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* u = group(root, "uki", "Unified kernel images: build, inspect, addons");

  static BuildOptions b;
  CLI::App* c = u->add_subcommand("build", "Build a UKI from a kernel, initrds, command line and os-release");
  c->add_option("--linux", b.linux_path, "Kernel image (.linux)")->required();
  c->add_option("--initrd", b.initrds, "Initrd(s), concatenated in order (.initrd)");
  c->add_option("--cmdline", b.cmdline, "Kernel command line: TEXT or @FILE (.cmdline)");
  c->add_option_function<std::string>(
      "--os-release", [](const std::string& v) { b.os_release = v, b.os_release_given = true; },
      "os-release: TEXT or @FILE (.osrel; default: the host's /etc/os-release; empty: none)");
  c->add_option_function<std::string>("--osrel", [](const std::string& v) { b.os_release = v, b.os_release_given = true; })
      ->group("");
  c->add_option_function<std::string>(
      "--uname", [](const std::string& v) { b.uname = v, b.uname_given = true; },
      "Kernel release (.uname; default: read from the kernel image)");
  c->add_option("--sbat", b.sbat, "SBAT entries: TEXT or @FILE (merged into .sbat)");
  c->add_option("--splash", b.splash, "Splash image (.splash)");
  c->add_option("--section", b.extra_sections, "Extra section NAME:TEXT or NAME:@FILE (not measured), as ukify's --section");
  c->add_option("--devicetree", b.devicetree, "Devicetree blob (.dtb)");
  c->add_option("--ucode,--microcode", b.ucode, "Early microcode (.ucode; systemd-stub >= 256 loads it before the initrd)");
  hidden_alias(c, "--dtb", b.devicetree);
  c->add_option("--stub", b.stub, "systemd-stub (default: $BOOTSEAL_STUB, the fetched payload, or /usr/lib/systemd/boot/efi)");
  c->add_option("--arch", b.arch, "x86-64 or arm64 (default: the kernel's PE Machine); picks linuxx64/linuxaa64.efi.stub");
  c->add_option("--pcr-private-key", b.pcr_private_keys, "RSA key to sign the PCR 11 policy with (.pcrsig): PEM file or PKCS#11 URI");
  c->add_option("--pcr-public-key", b.pcr_public_keys, "Its public key (PEM) (.pcrpkey)");
  c->add_option("--phases", b.phases, "Phase paths to sign for each --pcr-private-key (comma/space separated)");
  c->add_option("--pcr-banks", b.pcr_banks, "PCR banks to sign (default: sha1 sha256 sha384 sha512)")->delimiter(',')->check(CLI::IsMember({"sha1", "sha256", "sha384", "sha512"}));
  hidden_alias(c, "--bank", b.pcr_banks)->delimiter(',')->check(CLI::IsMember({"sha1", "sha256", "sha384", "sha512"}));
  hidden_alias(c, "--phase", b.phases);
  auto* sk = c->add_option("--sign-key", b.sign_key, "Secure Boot signing key (Authenticode): PEM file or PKCS#11 URI");
  c->add_option("--key-passphrase-file", key_passphrase_file(), "Passphrase of an encrypted PEM --sign-key or --pcr-private-key (first line)");
  auto* sc = c->add_option("--sign-cert", b.sign_cert, "Secure Boot signing certificate");
  c->add_flag("--unsigned", b.unsigned_,
              "No Authenticode signature: for offline signing (bootseal sign --prepare-offline-signing, then "
              "--signed-data-signature)")
      ->excludes(sk)
      ->excludes(sc);
  c->add_flag("--no-checksum", b.no_checksum, "Leave the PE checksum 0, as ukify does");
  c->add_option("--output,-o", b.output, "Output UKI")->required();
  c->callback([&ctx] { ctx.action = [&ctx] { return build_cmd(b, ctx.globals.verbose > 0); }; });

  static std::string ipath;
  CLI::App* i = u->add_subcommand("inspect", "Show a UKI's sections, cmdline, os-release, uname and signature");
  json_output(i);
  i->add_option("FILE", ipath, "UKI or addon")->required();
  i->callback([&ctx] { ctx.action = [&ctx] { return inspect_cmd(ipath, ctx.globals); }; });

  static AddonOptions a;
  CLI::App* ad = u->add_subcommand("addon", "Build a UKI addon (.cmdline/.dtb on systemd's addon stub)");
  ad->add_option("--cmdline", a.cmdline, "Extra kernel command line: TEXT or @FILE");
  ad->add_option("--devicetree", a.devicetree, "Devicetree blob");
  ad->add_option("--sbat", a.sbat, "SBAT entries: TEXT or @FILE");
  ad->add_option("--stub", a.stub, "Addon stub (default: addonx64.efi.stub, or addonaa64.efi.stub with --arch arm64)");
  ad->add_option("--arch", a.arch, "x86-64 (default) or arm64");
  ad->add_flag("--no-checksum", a.no_checksum, "Leave the PE checksum 0, as ukify does");
  ad->add_option("--output,-o", a.output, "Output addon (.addon.efi)")->required();
  ad->callback([&ctx] { ctx.action = [] { return addon_cmd(a); }; });
}

}  // namespace

BOOTSEAL_VERB(50, setup);

}  // namespace bootseal::cli
