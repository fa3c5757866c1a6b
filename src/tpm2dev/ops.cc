#include "tpm2dev/ops.h"

#include <algorithm>
#include <set>

#include "base/hex.h"
#include "crypto/ecdh.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "sys/file.h"
#include "sys/tree.h"
#include "tpm2/duplicate.h"
#include "tpm2/policy.h"
#include "tpm2/recovery_key.h"
#include "tpm2dev/luks.h"
#include "tpm2dev/tpm.h"

namespace bootseal::tpm2dev {

namespace {

inline constexpr size_t kSecretSize = 32;  // systemd seals 32 random bytes

// Active keyslots no systemd-tpm2 token claims: passphrases and recovery keys.
std::set<int> ways_back(const std::vector<int>& active, const std::vector<TokenInfo>& tokens) {
  std::set<int> tpm;
  for (auto& t : tokens)
    if (t.type == tpm2::kTokenTypeTpm2)
      for (int k : t.keyslots) tpm.insert(k);
  std::set<int> out;
  for (int k : active)
    if (!tpm.count(k)) out.insert(k);
  return out;
}

}  // namespace

Result<EnrollResult> enroll(const EnrollOptions& o) {
  Luks2 luks = BS_TRY(Luks2::open(o.device));
  std::vector<TokenInfo> tokens = BS_TRY(luks.tokens());
  Bytes vk = BS_TRY_CTX(luks.volume_key(o.unlock_key), "unlock key");

  for (unsigned p : o.pcrs)
    if (std::find(o.public_key_pcrs.begin(), o.public_key_pcrs.end(), p) != o.public_key_pcrs.end() && o.public_key_pem)
      return input_error("PCR {} is both literal (--pcrs) and signed (--public-key-pcrs)", p);

  std::optional<Tpm> tpm;
  std::optional<tpm2::EccStorageKey> offline_srk;
  if (o.srk_public)
    offline_srk = BS_TRY_CTX(tpm2::parse_ecc_storage_key(*o.srk_public), "--tpm2-srk-public-key");
  else
    tpm.emplace(BS_TRY(Tpm::open(o.tpm2_device)));
  tpm2::SealingPolicy pol;
  pol.bank = o.bank;
  pol.pcr_mask = tpm2::pcr_mask_of(o.pcrs);
  if (pol.pcr_mask) {
    bool all_given = true;
    for (unsigned p : tpm2::pcrs_of_mask(pol.pcr_mask)) all_given = all_given && o.pcr_values.count(p);
    if (all_given) {
      for (unsigned p : tpm2::pcrs_of_mask(pol.pcr_mask)) {
        if (o.pcr_values.at(p).size() != crypto::digest_size(o.bank))
          return input_error("--pcrs {}=: not a {} value", p, crypto::hash_name(o.bank));
        pol.pcr_values.push_back(o.pcr_values.at(p));
      }
    } else if (tpm) {
      pol.pcr_values = BS_TRY(tpm->read_pcrs(o.bank, pol.pcr_mask));
    } else {
      return input_error("offline enrollment binds literal PCRs only with their values (--pcrs 7=HEX)");
    }
    auto pcrs = tpm2::pcrs_of_mask(pol.pcr_mask);
    for (size_t i = 0; i < pcrs.size(); i++) {
      const Bytes& v = pol.pcr_values[i];
      // PCR 15 at its initial value is the point of binding it: nothing has opened a
      // volume yet (systemd's tpm2-measure-pcr=yes extends it after activation).
      if (pcrs[i] == 15) continue;
      if (std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; }) ||
          std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0xff; }))
        return check_error("PCR {} ({}) is not initialized: nothing was measured into it, binding it protects nothing",
                           pcrs[i], crypto::hash_name(o.bank));
    }
  }
  tpm2::Tpm2Token t;
  t.pcrs = tpm2::pcrs_of_mask(pol.pcr_mask);
  t.pcr_bank = o.bank;
  t.primary_alg = "ecc";
  t.pin = o.pin.has_value();
  if (o.public_key_pem) {
    Bytes spki = BS_TRY(crypto::public_key_der_from_pem(as_bytes(*o.public_key_pem), "--public-key"));
    tpm2::RsaPublic rsa = BS_TRY_CTX(tpm2::rsa_public_from_spki(spki), "--public-key");
    pol.pubkey_name = tpm2::rsa_key_name(rsa);
    t.pubkey_pcrs = tpm2::pcrs_of_mask(tpm2::pcr_mask_of(o.public_key_pcrs));
    if (t.pubkey_pcrs->empty()) return input_error("--public-key-pcrs: no PCR");
    t.pubkey_pem = *o.public_key_pem;
  }
  pol.pin = o.pin.has_value();
  Bytes digest = BS_TRY(tpm2::sealing_policy_digest(pol));
  Bytes secret = crypto::random_bytes(kSecretSize);
  std::optional<Bytes> auth;
  if (o.pin) {
    t.salt = crypto::random_bytes(32);
    auth = tpm2::pin_auth_value(*o.pin, *t.salt);
  }
  if (offline_srk) {
    auto eph = BS_TRY(crypto::ecdh_p256_ephemeral(offline_srk->x, offline_srk->y));
    tpm2::SealedBlob b = tpm2::seal_offline_blob(*offline_srk, digest, secret, auth, crypto::random_bytes(32),
                                                 eph.ephemeral_x, eph.ephemeral_y, eph.z);
    t.blobs = {tpm2::join_blob(b)};
    t.srk = tpm2::serialize_persistent(kSrkHandle, *offline_srk);
  } else {
    SealResult sealed = BS_TRY(tpm->seal(digest, secret, auth));
    t.blobs = {sealed.blob};
    t.srk = sealed.srk;
  }
  t.policy_hashes = {digest};

  EnrollResult res;
  res.policy_hash = to_hex(digest);
  // Test-unseal before anything is written (systemd tests after; we test first so a
  // refusal changes nothing). A signed policy can only be tested with a signature.
  if (tpm && (!o.public_key_pem || o.signature)) {
    UnsealInput in{&t, o.pin, o.signature ? &*o.signature : nullptr, o.signature_what};
    Bytes back = BS_TRY_CTX(tpm->unseal(in), "test unseal of the new key");
    if (back != secret) return internal_error("test unseal returned another secret");
    res.tested = true;
  }

  // The way back first: a recovery key unless a passphrase or recovery keyslot exists.
  bool need_recovery = o.recovery_key || o.recovery_key_file || ways_back(luks.active_keyslots(), tokens).empty();
  if (need_recovery) {
    std::string key = tpm2::format_recovery_key(crypto::random_bytes(tpm2::kRecoveryKeyRawSize));
    if (o.recovery_key_file)
      BS_TRY(sys::write_file_atomic(*o.recovery_key_file, as_bytes(key + "\n"), 0600));
    int slot = BS_TRY(luks.add_keyslot(vk, key));
    auto tok = luks.add_token(tpm2::recovery_token_json(slot));
    if (!tok.ok()) {
      (void)luks.destroy_keyslot(slot);
      return std::move(tok).error();
    }
    res.recovery_keyslot = slot;
    if (!o.recovery_key_file) res.recovery_key = key;
  }
  int slot = BS_TRY(luks.add_keyslot(vk, tpm2::passphrase_from_secret(secret)));
  t.keyslots = {slot};
  auto tok = luks.add_token(tpm2::to_json(t));
  if (!tok.ok()) {
    (void)luks.destroy_keyslot(slot);
    return std::move(tok).error();
  }
  res.keyslot = slot;
  res.token = *tok;
  return res;
}

Result<UnlockResult> unlock_test(const UnlockOptions& o) {
  Luks2 luks = BS_TRY(Luks2::open(o.device));
  std::vector<TokenInfo> tokens = BS_TRY(luks.tokens());
  std::vector<const TokenInfo*> cands;
  for (auto& t : tokens)
    if (t.type == tpm2::kTokenTypeTpm2 && (o.token < 0 || t.id == o.token)) cands.push_back(&t);
  if (cands.empty())
    return o.token < 0 ? check_error("{}: no systemd-tpm2 token", o.device)
                       : check_error("{}: token {} is not a systemd-tpm2 token", o.device, o.token);
  Tpm tpm = BS_TRY(Tpm::open(o.tpm2_device));
  std::optional<Error> first;
  for (auto* info : cands) {
    auto attempt = [&]() -> Result<UnlockResult> {
      tpm2::Tpm2Token t = BS_TRY(tpm2::parse_tpm2_token(info->json));
      if (t.keyslots.size() != 1) return input_error("the token names {} keyslots", t.keyslots.size());
      UnsealInput in{&t, o.pin, o.signature ? &*o.signature : nullptr, o.signature_what};
      Bytes secret = BS_TRY(tpm.unseal(in));
      int slot = BS_TRY_CTX(luks.check_passphrase(tpm2::passphrase_from_secret(secret), t.keyslots[0]),
                            "the unsealed key does not open keyslot {}", t.keyslots[0]);
      return UnlockResult{info->id, slot};
    };
    auto r = attempt();
    if (r.ok()) return r;
    if (!first) first = std::move(r).error().context(fmt::format("{}: token {}", o.device, info->id));
  }
  return std::move(*first);
}

Result<std::optional<std::pair<std::string, tpm2::PcrSigDocument>>> find_pcr_signature() {
  std::vector<std::string> dirs = {"/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"};
  if (sys::path_exists("/etc/initrd-release")) dirs.push_back("/.extra");
  for (auto& d : dirs) {
    std::string p = d + "/tpm2-pcr-signature.json";
    if (!sys::path_exists(p)) continue;
    std::string text = BS_TRY(sys::read_text_file(p));
    tpm2::PcrSigDocument doc = BS_TRY_CTX(tpm2::parse_pcrsig(text), "{}", p);
    return std::optional<std::pair<std::string, tpm2::PcrSigDocument>>(std::pair{p, std::move(doc)});
  }
  return std::optional<std::pair<std::string, tpm2::PcrSigDocument>>();
}

Result<DiskStatus> status(const std::string& device, std::optional<std::string> tpm2_device,
                          const std::optional<tpm2::PcrSigDocument>& signature) {
  Luks2 luks = BS_TRY(Luks2::open(device));
  DiskStatus s;
  s.uuid = luks.uuid();
  s.keyslots = luks.active_keyslots();
  std::vector<TokenInfo> tokens = BS_TRY(luks.tokens());
  std::set<int> claimed;
  for (auto& t : tokens)
    for (int k : t.keyslots) claimed.insert(k);
  for (int k : s.keyslots)
    if (!claimed.count(k)) s.passphrase_keyslots.push_back(k);
  std::optional<Tpm> tpm;
  std::string tpm_error;
  if (tpm2_device) {
    auto t = Tpm::open(*tpm2_device);
    if (t.ok()) {
      tpm.emplace(std::move(*t));
      auto da = tpm->da_state();
      if (da.ok()) {
        s.da_counter = da->lockout_counter;
        s.da_lockout = da->in_lockout;
      }
    } else {
      tpm_error = t.error().message();
    }
  }
  for (auto& info : tokens) {
    TokenStatus ts;
    ts.id = info.id;
    ts.type = info.type;
    ts.keyslots = info.keyslots;
    if (info.type == tpm2::kTokenTypeTpm2) {
      auto t = tpm2::parse_tpm2_token(info.json);
      if (!t.ok()) {
        ts.would_unseal = "no: " + t.error().message();
      } else {
        ts.pcrs = t->pcrs;
        if (t->pubkey_pcrs) ts.pubkey_pcrs = *t->pubkey_pcrs;
        ts.bank = crypto::hash_name(t->pcr_bank.value_or(crypto::HashAlg::kSha256));
        if (t->pubkey_pem) {
          auto spki = crypto::public_key_der_from_pem(as_bytes(*t->pubkey_pem), "token");
          if (spki.ok())
            if (auto fp = tpm2::public_key_fingerprint(*spki); fp.ok()) ts.pkfp = to_hex(*fp);
        }
        ts.pin = t->uses_pin();
        ts.srk = t->srk.has_value();
        ts.policy_hash = to_hex(t->policy_hashes[0]);
        if (tpm) {
          UnsealInput in{&*t, std::nullopt, signature ? &*signature : nullptr, "", true};
          auto r = tpm->unseal(in);
          ts.would_unseal = r.ok() ? "yes" : "no: " + r.error().message();
        } else if (tpm2_device) {
          ts.would_unseal = "no: " + tpm_error;
        }
      }
    }
    s.tokens.push_back(std::move(ts));
  }
  return s;
}

Result<std::vector<int>> wipe(const WipeOptions& o) {
  Luks2 luks = BS_TRY(Luks2::open(o.device));
  std::vector<TokenInfo> tokens = BS_TRY(luks.tokens());
  std::vector<int> active = luks.active_keyslots();
  std::set<int> remove;
  if (o.slot) {
    if (std::find(active.begin(), active.end(), *o.slot) == active.end())
      return input_error("{}: keyslot {} is not in use", o.device, *o.slot);
    remove.insert(*o.slot);
  }
  if (o.all_tpm)
    for (auto& t : tokens)
      if (t.type == tpm2::kTokenTypeTpm2)
        for (int k : t.keyslots) remove.insert(k);
  if (remove.empty()) return check_error("{}: no TPM2 keyslot to remove", o.device);
  std::vector<int> left;
  for (int k : active)
    if (!remove.count(k)) left.push_back(k);
  if (left.empty()) return check_error("{}: refusing to remove the last keyslot (the disk could never be opened again)", o.device);
  if (ways_back(left, tokens).empty())
    return check_error("{}: refusing to remove the last passphrase or recovery keyslot (only TPM-sealed keys would be "
                       "left: a firmware or PCR key change would lock the disk for good)",
                       o.device);
  // Tokens first (a token naming a missing keyslot confuses systemd), then the keyslots.
  for (auto& t : tokens) {
    bool all_removed = !t.keyslots.empty() &&
                       std::all_of(t.keyslots.begin(), t.keyslots.end(), [&](int k) { return remove.count(k) > 0; });
    if (all_removed) BS_TRY(luks.remove_token(t.id));
  }
  for (int k : remove) BS_TRY(luks.destroy_keyslot(k));
  return std::vector<int>(remove.begin(), remove.end());
}

}  // namespace bootseal::tpm2dev
