#include "tpm2dev/boot_unlock.h"

#include <libcryptsetup.h>

#include <cstdlib>

#include "crypto/kdf.h"
#include "sys/file.h"
#include "sys/tree.h"
#include "tpm2/pcrsig.h"
#include "tpm2/policy.h"
#include "tpm2/recovery_key.h"
#include "tpm2/token.h"
#include "tpm2dev/luks.h"
#include "tpm2dev/tpm.h"

namespace bootseal::tpm2dev {

namespace {

// The first line of an error message (the console gets one line per refusal).
std::string one_line(const Error& e) {
  std::string m = e.message();
  if (auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
  return m;
}

// Extends `pcr` in every bank the TPM takes: all four, else sha1+sha256, else sha256
// (a TPM rejects a digest of an algorithm it does not implement).
Status extend_banks(Tpm& tpm, unsigned pcr, const std::function<Bytes(crypto::HashAlg)>& digest) {
  using crypto::HashAlg;
  const std::vector<std::vector<HashAlg>> tries = {
      {HashAlg::kSha1, HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512},
      {HashAlg::kSha1, HashAlg::kSha256},
      {HashAlg::kSha256}};
  Status last;
  for (auto& banks : tries) {
    std::vector<std::pair<HashAlg, Bytes>> d;
    for (HashAlg a : banks) d.emplace_back(a, digest(a));
    last = tpm.extend(pcr, d);
    if (last.ok()) return last;
  }
  return last;
}

}  // namespace

void luks_initrd_mode() {
  crypt_metadata_locking(nullptr, 0);
  ::setenv("DM_DISABLE_UDEV", "1", 1);
}

Bytes volume_key_measurement(crypto::HashAlg alg, ByteSpan vk, const std::string& name, const std::string& uuid) {
  std::string esc;
  for (unsigned char c : name) {
    if (c == ':' || c == '\\' || c < ' ' || c >= 127) esc += fmt::format("\\x{:02x}", c);
    else esc += static_cast<char>(c);
  }
  std::string s = "cryptsetup:" + esc + ":" + uuid;
  return crypto::hmac(alg, vk, as_bytes(s));
}

Result<BootUnlockResult> boot_unlock(const BootUnlockOptions& o) {
  auto now = [&] { return o.now_us ? o.now_us() : 0; };
  auto say = [&](const std::string& s) {
    if (o.say) o.say(s);
  };
  const uint64_t t0 = now();
  BootUnlockResult res;
  Luks2 luks = BS_TRY(Luks2::open(o.device));
  const std::string uuid = luks.uuid();
  std::optional<Bytes> vk;
  std::optional<Tpm> tpm;

  // 1. The TPM, through each systemd-tpm2 token.
  std::string refusal;
  auto tpm_r = Tpm::open(o.tcti);
  if (!tpm_r.ok()) {
    refusal = fmt::format("no TPM ({})", one_line(tpm_r.error()));
  } else {
    tpm.emplace(std::move(*tpm_r));
    if (o.enter_initrd && o.measure) {
      Status st = extend_banks(*tpm, 11, [](crypto::HashAlg a) { return crypto::digest(a, std::string_view("enter-initrd")); });
      if (!st.ok()) refusal = "extending PCR 11 with enter-initrd: " + one_line(st.error());
    }
    std::optional<tpm2::PcrSigDocument> sig;
    std::string sig_problem;
    if (sys::path_exists(o.signature_path)) {
      auto text = sys::read_text_file(o.signature_path);
      auto doc = text.ok() ? tpm2::parse_pcrsig(*text) : Result<tpm2::PcrSigDocument>(text.error());
      if (doc.ok()) sig = std::move(*doc);
      else sig_problem = fmt::format("{}: {}", o.signature_path, one_line(doc.error()));
    }
    std::vector<TokenInfo> tokens = BS_TRY(luks.tokens());
    const bool tpm_ready = refusal.empty();
    for (auto& info : tokens) {
      if (info.type != tpm2::kTokenTypeTpm2 || !tpm_ready) continue;
      auto attempt = [&]() -> Result<std::pair<Bytes, int>> {
        tpm2::Tpm2Token t = BS_TRY(tpm2::parse_tpm2_token(info.json));
        if (t.keyslots.size() != 1) return input_error("the token names {} keyslots", t.keyslots.size());
        if (t.pubkey_pcrs && !t.pubkey_pcrs->empty() && !sig)
          return check_error("{}", sig_problem.empty() ? fmt::format("no PCR signature: {} does not exist (the UKI has no .pcrsig)",
                                                                     o.signature_path)
                                                       : sig_problem);
        UnsealInput in{&t, std::nullopt, sig ? &*sig : nullptr, o.signature_path};
        Bytes secret = BS_TRY(tpm->unseal(in));
        std::string pass = tpm2::passphrase_from_secret(secret);
        Bytes key = BS_TRY_CTX(luks.volume_key(pass), "the unsealed key does not open keyslot {}", t.keyslots[0]);
        return std::pair{std::move(key), t.keyslots[0]};
      };
      auto r = attempt();
      if (r.ok()) {
        vk = std::move(r->first);
        res.keyslot = r->second;
        res.how = fmt::format("the TPM (token {})", info.id);
        break;
      }
      if (refusal.empty()) refusal = fmt::format("token {}: {}", info.id, one_line(r.error()));
    }
    if (!vk && refusal.empty()) refusal = "the volume has no systemd-tpm2 token";
    if (!vk) {
      if (auto da = tpm->da_state(); da.ok() && da->in_lockout)
        refusal = "the TPM is in dictionary-attack lockout; " + refusal;
    }
  }
  res.tpm_us = now() - t0;

  // 2. The way back: the recovery key or a passphrase, three tries.
  if (!vk) {
    res.tpm_refusal = refusal;
    say(fmt::format("bootseal-unlock: the TPM did not unlock {}: {}", o.device, refusal));
    for (int i = 1; i <= o.tries && !vk; i++) {
      std::optional<std::string> line;
      if (o.ask) line = o.ask(fmt::format("bootseal-unlock: enter the recovery key or passphrase for {} ({}/{}): ",
                                          o.device, i, o.tries));
      if (!line) return check_error("{}: the TPM did not unlock it ({}) and there is no console to ask for the "
                                    "recovery key", o.device, refusal);
      std::string text = *line;
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      if (auto rk = tpm2::normalize_recovery_key(text); rk.ok()) {
        if (auto k = luks.volume_key(*rk); k.ok()) {
          vk = std::move(*k);
          res.how = "the recovery key";
          break;
        }
      }
      if (auto k = luks.volume_key(text); k.ok()) {
        vk = std::move(*k);
        res.how = "a passphrase";
        break;
      }
      say(fmt::format("bootseal-unlock: that key opens no keyslot of {}", o.device));
    }
    if (!vk) return check_error("{}: no key opened it after {} tries", o.device, o.tries);
  }

  // 3. dm-crypt.
  uint64_t t1 = now();
  BS_TRY(luks.activate(o.name, *vk));
  res.activate_us = now() - t1;

  // 4. Measurements: PCR 15 (the volume key), then PCR 11 leave-initrd. Without them the
  //    booted system could unseal the key again: a failure is fatal when a TPM is there.
  uint64_t t2 = now();
  if (o.measure && tpm) {
    BS_TRY_CTX(extend_banks(*tpm, 15, [&](crypto::HashAlg a) { return volume_key_measurement(a, *vk, o.name, uuid); }),
               "measuring the volume key into PCR 15");
    BS_TRY_CTX(extend_banks(*tpm, 11, [](crypto::HashAlg a) { return crypto::digest(a, std::string_view("leave-initrd")); }),
               "extending PCR 11 with leave-initrd");
    res.measured = true;
  }
  res.measure_us = now() - t2;
  res.total_us = now() - t0;
  return res;
}

}  // namespace bootseal::tpm2dev
