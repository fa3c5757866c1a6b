// bootseal pcr predict|sign: offline PCR 11 prediction for UKIs and the signed
// PCR policy (.pcrsig), compatible with systemd-measure calculate|sign.
#include <cstdio>
#include <optional>

#include "base/hex.h"
#include "cli/command.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "keys/keyset.h"
#include "measure/measure.h"
#include "sys/file.h"

namespace bootseal::cli {
namespace {

struct PcrOptions {
  std::string uki;
  // Section files, as systemd-measure takes them (--linux= ... --pcrpkey=).
  std::map<std::string, std::string> section_files;
  std::vector<std::string> banks;
  std::vector<std::string> phases;
  std::string private_key, public_key, output, passphrase_file;
  std::string uki_profile;  // --uki-profile N|all (a multi-profile UKI)
};

// Splits "a,b c" lists as ukify's parse_banks/parse_phase_paths do.
std::vector<std::string> split_list(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (auto& s : in) {
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t e = s.find_first_of(", \t\n", pos);
      if (e == std::string::npos) e = s.size();
      if (e > pos) out.push_back(s.substr(pos, e - pos));
      pos = e + 1;
    }
  }
  return out;
}

Result<std::vector<crypto::HashAlg>> parse_banks(const std::vector<std::string>& in) {
  std::vector<crypto::HashAlg> out;
  for (auto& b : split_list(in)) {
    std::string lower;
    for (char c : b) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    out.push_back(BS_TRY_CTX(crypto::parse_hash_name(lower), "--bank"));
  }
  if (out.empty()) out = measure::default_banks();
  return out;
}

// Loaded inputs: either a UKI's sections or section files.
struct Inputs {
  Bytes uki;
  std::vector<Bytes> storage;
  measure::SectionMap sections;
};

// --uki-profile: nullopt (the stub's default: profile 0 if there are profiles),
// a number, or "all" (all_profiles).
Result<std::optional<unsigned>> parse_uki_profile(const std::string& v) {
  if (v.empty() || v == "all") return std::optional<unsigned>();
  unsigned n = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || n > 100000) return input_error("--uki-profile '{}': expected a profile number or 'all'", v);
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return std::optional<unsigned>(n);
}

Status load_inputs(const PcrOptions& o, Inputs& in, std::optional<unsigned> profile = std::nullopt) {
  if (!o.uki.empty() && !o.section_files.empty())
    return usage_error("give either a UKI file or section files (--linux= ...), not both");
  if (!o.uki.empty()) {
    if (in.uki.empty()) in.uki = BS_TRY(sys::read_file(o.uki));
    in.sections = BS_TRY_CTX(measure::sections_from_uki(in.uki, in.storage, profile), "{}", o.uki);
    if (!in.sections.count(".linux")) return input_error("{}: not a UKI (no .linux section)", o.uki);
    return {};
  }
  if (o.section_files.empty()) return usage_error("no input: give a UKI file or section files (--linux= ...)");
  if (!o.uki_profile.empty()) return usage_error("--uki-profile selects a profile of a UKI file, not of section files");
  in.storage.reserve(o.section_files.size());
  for (auto& [name, path] : o.section_files) {
    in.storage.push_back(BS_TRY(sys::read_file(path)));
    in.sections.emplace("." + name, ByteSpan(in.storage.back()));
  }
  return {};
}

void add_section_options(CLI::App* c, PcrOptions& o) {
  // systemd-measure 257's section options (258 adds --efifw).
  for (auto name : {"linux", "osrel", "cmdline", "initrd", "ucode", "splash", "dtb", "uname", "sbat", "pcrpkey", "profile",
                    "dtbauto", "hwids", "efifw"}) {
    std::string n = name;
    c->add_option_function<std::string>(
        "--" + n, [&o, n](const std::string& path) { o.section_files[n] = path; },
        "File with the ." + n + " section's contents (instead of a UKI)");
  }
  // ukify's spellings (uki build) of the same sections, accepted here too.
  for (auto [alias, n] : {std::pair{"os-release", "osrel"}, std::pair{"devicetree", "dtb"}})
    c->add_option_function<std::string>(
         std::string("--") + alias, [&o, n = std::string(n)](const std::string& path) { o.section_files[n] = path; })
        ->group("");
  // One value per occurrence (repeat the option, or give a comma list), so a
  // trailing positional UKI is not swallowed.
  c->add_option("--bank", o.banks, "PCR bank(s): sha1, sha256, sha384, sha512 (default: all)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->check(CLI::IsMember({"sha1", "sha256", "sha384", "sha512"}));
  c->add_option("--uki-profile", o.uki_profile,
                "Multi-profile UKI: the profile N (base sections plus profile N's; default 0, as systemd-stub), or 'all'");
  hidden_alias(c, "--pcr-banks", o.banks)->allow_extra_args(false)->delimiter(',')->check(CLI::IsMember({"sha1", "sha256", "sha384", "sha512"}));
}

Status predict_cmd(const PcrOptions& o, const Globals& g) {
  auto banks = BS_TRY(parse_banks(o.banks));
  auto phases = o.phases.empty() ? measure::all_phase_paths() : split_list(o.phases);
  if (phases.empty()) phases.push_back("");  // --phase= with nothing: sections only
  auto selected = BS_TRY(parse_uki_profile(o.uki_profile));
  Inputs in;
  // --uki-profile all: every profile of the UKI (one, the base, when it has none).
  std::vector<measure::ProfileInfo> profiles;
  bool all = o.uki_profile == "all";
  if (all && !o.uki.empty()) {
    in.uki = BS_TRY(sys::read_file(o.uki));
    profiles = BS_TRY_CTX(measure::profiles_of_uki(in.uki), "{}", o.uki);
  }
  std::vector<std::optional<unsigned>> runs;
  if (all && !profiles.empty())
    for (auto& p : profiles) runs.push_back(p.index);
  else
    runs.push_back(selected);
  nlohmann::json jprofiles = nlohmann::json::array();
  for (auto& run : runs) {
    BS_TRY(load_inputs(o, in, run));
    auto preds = BS_TRY(measure::predict_all(in.sections, banks, phases));
    nlohmann::json j = nlohmann::json::object();
    for (auto& p : preds)
      j[std::string(crypto::hash_name(p.bank))].push_back(
          {{"phase", p.phase}, {"pcr", measure::kPcrKernelBoot}, {"hash", to_hex(p.value)}});
    if (all) {
      if (g.json) {
        j["profile"] = run ? nlohmann::json(*run) : nlohmann::json(nullptr);
        if (run) j["profile_text"] = profiles[*run].text;
        jprofiles.push_back(j);
        continue;
      }
      if (run) {
        std::string title = profiles[*run].text;
        for (char& c : title)
          if (c == '\n') c = ' ';
        std::printf("# Profile %u: %s\n", *run, title.c_str());
      } else {
        std::printf("# Profile (none: a single-profile UKI)\n");
      }
    } else if (g.json) {
      print_json(j);
      return {};
    }
    std::string last;
    for (size_t i = 0; i < preds.size(); i++) {
      if (i == 0 || preds[i].phase != last) std::printf("# PCR[11] Phase <%s>\n", preds[i].phase.c_str());
      last = preds[i].phase;
      std::printf("11:%s=%s\n", std::string(crypto::hash_name(preds[i].bank)).c_str(), to_hex(preds[i].value).c_str());
    }
  }
  if (all && g.json) print_json(nlohmann::json{{"profiles", jprofiles}});
  return {};
}

Status sign_cmd(const PcrOptions& o) {
  if (o.private_key.empty()) return usage_error("--private-key is required");
  if (o.uki_profile == "all")
    return usage_error("--uki-profile all: pcr sign signs one profile's sections (give its number; ukify signs each profile apart)");
  Inputs in;
  BS_TRY(load_inputs(o, in, BS_TRY(parse_uki_profile(o.uki_profile))));
  auto banks = BS_TRY(parse_banks(o.banks));
  auto phases = o.phases.empty() ? measure::default_phase_paths() : split_list(o.phases);
  // A PEM file (encrypted: --key-passphrase-file or the terminal) or a PKCS#11 URI.
  auto key = BS_TRY(keys::load_signer(o.private_key, o.passphrase_file));
  Bytes pub;
  if (!o.public_key.empty()) {
    Bytes ppem = BS_TRY(sys::read_file(o.public_key));
    pub = BS_TRY(crypto::public_key_der_from_pem(ppem, o.public_key));
  }
  auto doc = BS_TRY(measure::sign(in.sections, banks, phases, *key, pub));
  std::string json = tpm2::to_json(doc, tpm2::JsonStyle::kShort) + "\n";
  if (o.output.empty()) {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return {};
  }
  return sys::write_file_atomic(o.output, as_bytes(json));
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* p = group(root, "pcr", "PCR 11 prediction and signed PCR policies for UKIs (offline TPM math)");

  static PcrOptions pr;
  CLI::App* d = p->add_subcommand("predict", "Print the PCR 11 values systemd-stub and systemd-pcrphase produce "
                                             "for a UKI (as systemd-measure calculate)");
  json_output(d);
  d->add_option("UKI", pr.uki, "The UKI (.efi)");
  add_section_options(d, pr);
  d->add_option("--phase", pr.phases,
                "Boot phase path(s), e.g. enter-initrd:leave-initrd (default: all six cumulative paths)")
      ->allow_extra_args(false);
  hidden_alias(d, "--phases", pr.phases)->allow_extra_args(false);
  d->callback([&ctx] { ctx.action = [&ctx] { return predict_cmd(pr, ctx.globals); }; });

  static PcrOptions sg;
  CLI::App* s = p->add_subcommand("sign", "Sign the PCR 11 policy for a UKI's sections (JSON as systemd-measure sign)");
  json_output(s);
  s->add_option("UKI", sg.uki, "The UKI (.efi)");
  add_section_options(s, sg);
  s->add_option("--phase", sg.phases,
                "Boot phase path(s) to sign (default: systemd-measure's four, enter-initrd ... :ready)")
      ->allow_extra_args(false);
  hidden_alias(s, "--phases", sg.phases)->allow_extra_args(false);
  s->add_option("--private-key", sg.private_key,
                "RSA private key: PEM file, or a PKCS#11 URI ('pkcs11:token=...;object=...') for a key in a token")
      ->required();
  s->add_option("--key-passphrase-file", sg.passphrase_file, "Passphrase of an encrypted PEM --private-key (first line)");
  s->add_option("--public-key", sg.public_key, "Public key (PEM); must match the private key");
  s->add_option("--output,-o", sg.output, "Write the JSON here instead of stdout");
  s->callback([&ctx] { ctx.action = [] { return sign_cmd(sg); }; });
}

}  // namespace

BOOTSEAL_VERB(60, setup);

}  // namespace bootseal::cli
