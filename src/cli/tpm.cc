// bootseal tpm enroll|unlock|status|wipe|srk-public-key: TPM2-sealed LUKS2 keys in
// systemd-cryptenroll's format (docs/tpm.md). Parse, call tpm2dev, render.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "base/hex.h"
#include "cli/command.h"
#include "crypto/pem.h"
#include "sys/file.h"
#include "tpm2/recovery_key.h"
#include "tpm2dev/ops.h"
#include "tpm2dev/tpm.h"

namespace bootseal::cli {
namespace {

// A secret from the environment (systemd's PASSWORD/PIN/NEWPIN) or one line of stdin.
Result<std::string> read_secret(const char* env, std::string_view what) {
  if (const char* v = std::getenv(env)) return std::string(v);
  std::string line;
  if (!std::getline(std::cin, line)) return input_error("no {} (set ${} or give it on stdin)", what, env);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// "7", "0+7", "7=HEX" (the expected value, for offline enrollment or a future state).
Result<std::vector<unsigned>> parse_pcr_list(const std::string& s, std::string_view opt,
                                             std::map<unsigned, Bytes>* values = nullptr) {
  std::vector<unsigned> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t e = s.find_first_of(",+", pos);
    if (e == std::string::npos) e = s.size();
    std::string item = s.substr(pos, e - pos);
    if (!item.empty()) {
      std::string value;
      if (size_t eq = item.find('='); eq != std::string::npos) {
        if (!values) return usage_error("{}: '{}': no values here", opt, item);
        value = item.substr(eq + 1);
        item = item.substr(0, eq);
      }
      char* end = nullptr;
      unsigned long v = std::strtoul(item.c_str(), &end, 10);
      if (item.empty() || *end || v >= 24) return usage_error("{}: '{}' is not a PCR index (0-23)", opt, item);
      out.push_back(static_cast<unsigned>(v));
      if (!value.empty()) (*values)[static_cast<unsigned>(v)] = BS_TRY_CTX(from_hex(value), "{} {}=", opt, v);
    }
    pos = e + 1;
  }
  return out;
}

Result<std::pair<std::string, std::optional<tpm2::PcrSigDocument>>> load_signature(const std::string& path) {
  if (!path.empty()) {
    std::string text = BS_TRY(sys::read_text_file(path));
    tpm2::PcrSigDocument doc = BS_TRY_CTX(tpm2::parse_pcrsig(text), "{}", path);
    return std::pair{path, std::optional(std::move(doc))};
  }
  auto found = BS_TRY(tpm2dev::find_pcr_signature());
  if (!found) return std::pair{std::string(), std::optional<tpm2::PcrSigDocument>()};
  return std::pair{found->first, std::optional(std::move(found->second))};
}

struct EnrollCli {
  std::string device, tpm2_device = "auto", pcrs = "7", public_key, public_key_pcrs = "11", signature, bank = "sha256";
  std::string unlock_key_file, recovery_key_file, srk_public_key;
  bool pin = false, unlock_recovery_key = false, recovery_key = false;
};

Status enroll_cmd(const EnrollCli& c, const Globals& g) {
  tpm2dev::EnrollOptions o;
  o.device = c.device;
  o.tpm2_device = c.tpm2_device;
  o.pcrs = BS_TRY(parse_pcr_list(c.pcrs, "--pcrs", &o.pcr_values));
  if (!c.srk_public_key.empty()) o.srk_public = BS_TRY(sys::read_file(c.srk_public_key));
  o.bank = BS_TRY_CTX(crypto::parse_hash_name(c.bank), "--tpm2-pcr-bank");
  if (!c.public_key.empty()) {
    o.public_key_pem = BS_TRY(sys::read_text_file(c.public_key));
    o.public_key_pcrs = BS_TRY(parse_pcr_list(c.public_key_pcrs, "--public-key-pcrs"));
    if (!c.signature.empty()) {
      auto [what, doc] = BS_TRY(load_signature(c.signature));
      o.signature = std::move(doc);
      o.signature_what = what;
    }
  } else if (!c.signature.empty()) {
    return usage_error("--signature needs --public-key");
  }
  if (!c.unlock_key_file.empty()) {
    o.unlock_key = BS_TRY(sys::read_text_file(c.unlock_key_file));
  } else if (c.unlock_recovery_key) {
    std::string k = BS_TRY(read_secret("PASSWORD", "recovery key"));
    o.unlock_key = BS_TRY_CTX(tpm2::normalize_recovery_key(k), "--unlock-recovery-key");
  } else {
    o.unlock_key = BS_TRY(read_secret("PASSWORD", "unlock passphrase"));
  }
  if (c.pin) {
    o.pin = BS_TRY(read_secret("NEWPIN", "PIN"));
    if (o.pin->empty()) return input_error("the PIN is empty");
  }
  if (!c.recovery_key_file.empty()) o.recovery_key_file = c.recovery_key_file;
  o.recovery_key = c.recovery_key;
  auto r = BS_TRY(tpm2dev::enroll(o));
  if (g.json) {
    nlohmann::json j = {{"keyslot", r.keyslot}, {"token", r.token}, {"tested", r.tested}, {"policy_hash", r.policy_hash}};
    if (r.recovery_keyslot) j["recovery_keyslot"] = *r.recovery_keyslot;
    if (r.recovery_key) j["recovery_key"] = *r.recovery_key;
    print_json(j);
    return {};
  }
  if (r.recovery_keyslot) {
    if (r.recovery_key) {
      std::printf("Recovery key (keyslot %d), shown once: write it down and keep it away from this disk:\n\n    %s\n\n",
                  *r.recovery_keyslot, r.recovery_key->c_str());
    } else if (!g.quiet) {
      std::fprintf(stderr, "recovery key (keyslot %d) written to %s\n", *r.recovery_keyslot,
                   c.recovery_key_file.c_str());
    }
  }
  if (!g.quiet)
    std::fprintf(stderr, "TPM2 key enrolled as keyslot %d (token %d)%s\n", r.keyslot, r.token,
                 r.tested ? "" : c.srk_public_key.empty() ? "; not test-unsealed (no --signature for the signed policy)"
                                                  : "; sealed offline, not test-unsealed");
  return {};
}

struct UnlockCli {
  std::string device, tpm2_device = "auto", signature;
  bool pin = false, test = false;
  int token = -1;
};

Status unlock_cmd(const UnlockCli& c, const Globals& g) {
  if (!c.test)
    return unsupported_error("activation (dm-crypt) is not implemented yet: use --test for a check-only unlock");
  tpm2dev::UnlockOptions o;
  o.device = c.device;
  o.tpm2_device = c.tpm2_device;
  o.token = c.token;
  auto [what, doc] = BS_TRY(load_signature(c.signature));
  o.signature = std::move(doc);
  o.signature_what = what;
  if (c.pin) o.pin = BS_TRY(read_secret("PIN", "PIN"));
  auto r = BS_TRY(tpm2dev::unlock_test(o));
  if (g.json)
    print_json({{"token", r.token}, {"keyslot", r.keyslot}});
  else if (!g.quiet)
    std::printf("token %d unsealed: its key opens keyslot %d (check only, nothing activated)\n", r.token, r.keyslot);
  return {};
}

struct StatusCli {
  std::string device, tpm2_device, signature;
};

std::string join(const std::vector<unsigned>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); i++) s += (i ? "+" : "") + std::to_string(v[i]);
  return s.empty() ? "-" : s;
}

Status status_cmd(const StatusCli& c, const Globals& g) {
  std::optional<tpm2::PcrSigDocument> sig;
  if (!c.tpm2_device.empty()) sig = BS_TRY(load_signature(c.signature)).second;
  auto s = BS_TRY(tpm2dev::status(c.device, c.tpm2_device.empty() ? std::nullopt : std::optional(c.tpm2_device), sig));
  if (g.json) {
    nlohmann::json j = {{"uuid", s.uuid}, {"keyslots", s.keyslots}, {"passphrase_keyslots", s.passphrase_keyslots}};
    nlohmann::json toks = nlohmann::json::array();
    for (auto& t : s.tokens) {
      nlohmann::json tj = {{"id", t.id}, {"type", t.type}, {"keyslots", t.keyslots}};
      if (t.type == tpm2::kTokenTypeTpm2) {
        tj["pcrs"] = t.pcrs;
        tj["pubkey_pcrs"] = t.pubkey_pcrs;
        tj["bank"] = t.bank;
        tj["pkfp"] = t.pkfp.empty() ? nlohmann::json() : nlohmann::json(t.pkfp);
        tj["pin"] = t.pin;
        tj["srk"] = t.srk;
        tj["policy_hash"] = t.policy_hash;
        if (!t.would_unseal.empty()) {
          tj["would_unseal"] = t.would_unseal == "yes";
          if (t.would_unseal != "yes") tj["why_not"] = t.would_unseal.substr(4);
        }
      }
      toks.push_back(tj);
    }
    j["tokens"] = toks;
    if (s.da_counter) j["da_counter"] = *s.da_counter;
    if (s.da_lockout) j["da_lockout"] = *s.da_lockout;
    print_json(j);
    return {};
  }
  std::printf("%s: LUKS2 %s\n", c.device.c_str(), s.uuid.c_str());
  std::string slots;
  for (int k : s.keyslots) slots += (slots.empty() ? "" : " ") + std::to_string(k);
  std::printf("keyslots: %s\n", slots.c_str());
  for (int k : s.passphrase_keyslots) std::printf("  keyslot %d: passphrase (no token)\n", k);
  for (auto& t : s.tokens) {
    std::string ks;
    for (int k : t.keyslots) ks += (ks.empty() ? "" : " ") + std::to_string(k);
    if (t.type == tpm2::kTokenTypeTpm2) {
      std::printf("  token %d: %s keyslot %s, PCRs %s (%s), signed PCRs %s%s%s, PIN %s, SRK %s\n", t.id, t.type.c_str(),
                  ks.c_str(), join(t.pcrs).c_str(), t.bank.c_str(), join(t.pubkey_pcrs).c_str(),
                  t.pkfp.empty() ? "" : ", key ", t.pkfp.c_str(), t.pin ? "yes" : "no", t.srk ? "0x81000001" : "legacy");
      if (!t.would_unseal.empty()) std::printf("    current PCRs unseal: %s\n", t.would_unseal.c_str());
    } else {
      std::printf("  token %d: %s keyslot %s\n", t.id, t.type.c_str(), ks.c_str());
    }
  }
  if (s.da_counter)
    std::printf("TPM dictionary-attack counter: %u%s\n", *s.da_counter, s.da_lockout.value_or(false) ? " (LOCKOUT)" : "");
  return {};
}

struct WipeCli {
  std::string device;
  int slot = -1;
  bool all_tpm = false;
};

Status wipe_cmd(const WipeCli& c, const Globals& g) {
  if ((c.slot >= 0) == c.all_tpm) return usage_error("give exactly one of --slot N or --all-tpm");
  tpm2dev::WipeOptions o;
  o.device = c.device;
  if (c.slot >= 0) o.slot = c.slot;
  o.all_tpm = c.all_tpm;
  auto removed = BS_TRY(tpm2dev::wipe(o));
  if (g.json)
    print_json({{"removed_keyslots", removed}});
  else if (!g.quiet)
    for (int k : removed) std::printf("keyslot %d removed\n", k);
  return {};
}

struct SrkCli {
  std::string tpm2_device = "auto", output;
};

Status srk_cmd(const SrkCli& c) {
  auto tpm = BS_TRY(tpm2dev::Tpm::open(c.tpm2_device));
  Bytes pub = BS_TRY(tpm.srk_public());
  if (c.output.empty()) {
    std::printf("%s\n", to_hex(pub).c_str());
    return {};
  }
  return sys::write_file_atomic(c.output, pub);
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* t = group(root, "tpm", "TPM2-sealed LUKS2 keys, compatible with systemd-cryptenroll/systemd-cryptsetup");
  auto tpm_dev = [](CLI::App* a, std::string& s) {
    a->add_option("--tpm2-device", s, "auto | device:/dev/tpmrm0 | swtpm:host=H,port=P | mssim:host=H,port=P");
  };

  static EnrollCli e;
  CLI::App* en = t->add_subcommand("enroll", "Add a keyslot sealed to the TPM with a systemd-tpm2 token");
  json_output(en);
  en->add_option("DEVICE", e.device, "LUKS2 device or image file")->required();
  tpm_dev(en, e.tpm2_device);
  en->add_option("--pcrs", e.pcrs, "Literal-value PCRs, e.g. 7, 0+7 or 7=HEX (expected value; default 7; '' for none)");
  en->add_option("--tpm2-srk-public-key", e.srk_public_key,
                 "Seal offline for the TPM whose SRK this is (TPM2B_PUBLIC from 'tpm srk-public-key -o'); no TPM used");
  en->add_option("--tpm2-pcr-bank", e.bank, "PCR bank (default sha256)");
  en->add_option("--public-key", e.public_key, "PCR-signing public key (PEM): signed PCR policy (PolicyAuthorize)");
  en->add_option("--public-key-pcrs", e.public_key_pcrs, "PCRs the signed policy covers (default 11)");
  en->add_option("--signature", e.signature, "tpm2-pcr-signature.json for the test unseal of a signed policy");
  en->add_flag("--pin", e.pin, "Also require a PIN ($NEWPIN or a line of stdin)");
  en->add_option("--unlock-key-file", e.unlock_key_file, "File with an existing passphrase (default: $PASSWORD or stdin)");
  en->add_flag("--unlock-recovery-key", e.unlock_recovery_key, "Unlock with a recovery key ($PASSWORD or stdin)");
  en->add_option("--recovery-key-file", e.recovery_key_file, "Write the new recovery key here (mode 0600)");
  en->add_flag("--recovery-key", e.recovery_key, "Create a recovery key even if a passphrase keyslot exists");
  en->callback([&ctx] { ctx.action = [&ctx] { return enroll_cmd(e, ctx.globals); }; });

  static UnlockCli u;
  CLI::App* un = t->add_subcommand("unlock", "Unseal a systemd-tpm2 token's key (--test: check it opens its keyslot)");
  json_output(un);
  un->add_option("DEVICE", u.device, "LUKS2 device or image file")->required();
  tpm_dev(un, u.tpm2_device);
  un->add_option("--signature", u.signature,
                 "tpm2-pcr-signature.json (default: where systemd looks: /etc/systemd, /run/systemd, ...)");
  un->add_flag("--pin", u.pin, "The token needs a PIN ($PIN or a line of stdin)");
  un->add_option("--token", u.token, "Only this token id");
  un->add_flag("--test", u.test, "Check only: verify the key against its keyslot, activate nothing");
  un->callback([&ctx] { ctx.action = [&ctx] { return unlock_cmd(u, ctx.globals); }; });

  static StatusCli s;
  CLI::App* st = t->add_subcommand("status", "Keyslots, tokens, bound PCRs, and whether the current PCRs would unseal");
  json_output(st);
  st->add_option("DEVICE", s.device, "LUKS2 device or image file")->required();
  st->add_option("--tpm2-device", s.tpm2_device, "Check each token's policy against this TPM's current PCRs");
  st->add_option("--signature", s.signature, "tpm2-pcr-signature.json for signed policies");
  st->callback([&ctx] { ctx.action = [&ctx] { return status_cmd(s, ctx.globals); }; });

  static WipeCli w;
  CLI::App* wp = t->add_subcommand("wipe", "Remove a keyslot or every TPM2 keyslot (never the last way in)");
  json_output(wp);
  wp->add_option("DEVICE", w.device, "LUKS2 device or image file")->required();
  wp->add_option("--slot", w.slot, "Keyslot to remove");
  wp->add_flag("--all-tpm", w.all_tpm, "Remove every keyslot a systemd-tpm2 token names");
  wp->callback([&ctx] { ctx.action = [&ctx] { return wipe_cmd(w, ctx.globals); }; });

  static SrkCli k;
  CLI::App* sk = t->add_subcommand("srk-public-key", "The TPM's SRK (0x81000001) public area, TPM2B_PUBLIC");
  tpm_dev(sk, k.tpm2_device);
  sk->add_option("--output,-o", k.output, "Write the marshalled TPM2B_PUBLIC here (default: hex on stdout)");
  sk->callback([&ctx] { ctx.action = [] { return srk_cmd(k); }; });
}

}  // namespace

BOOTSEAL_VERB(62, setup);

}  // namespace bootseal::cli
