#include "tpm2/token.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/pem.h"
#include "tpm2/pcr.h"
#include "tpm2/policy.h"

namespace bootseal::tpm2 {

using ojson = nlohmann::ordered_json;

namespace {

Result<ojson> parse_object(std::string_view text) {
  ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("token: not a JSON object");
  return j;
}

Result<std::vector<int>> parse_keyslots(const ojson& j) {
  auto it = j.find("keyslots");
  if (it == j.end() || !it->is_array()) return input_error("token: no keyslots array");
  std::vector<int> out;
  for (auto& k : *it) {
    if (!k.is_string()) return input_error("token: keyslot is not a string");
    const std::string& s = k.get_ref<const std::string&>();
    int v = -1;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v < 0 || v >= kLuks2MaxKeyslots)
      return input_error("token: bad keyslot '{}'", s);
    out.push_back(v);
  }
  return out;
}

Result<std::vector<unsigned>> parse_pcr_list(const ojson& v, std::string_view key) {
  if (!v.is_array()) return input_error("token: {} is not an array", key);
  std::vector<unsigned> out;
  for (auto& p : v) {
    if (!p.is_number_unsigned() || p.get<uint64_t>() >= kNumPcrs) return input_error("token: {}: bad PCR index", key);
    out.push_back(p.get<unsigned>());
  }
  return out;
}

// A base64/hex string or (257+) an array of them.
template <typename Decode>
Result<std::vector<Bytes>> parse_string_or_array(const ojson& v, std::string_view key, bool& was_array, Decode decode) {
  std::vector<Bytes> out;
  was_array = v.is_array();
  if (v.is_string()) {
    out.push_back(BS_TRY_CTX(decode(v.get<std::string>()), "token: {}", key));
  } else if (v.is_array() && !v.empty()) {
    for (auto& e : v) {
      if (!e.is_string()) return input_error("token: {}: array entry is not a string", key);
      out.push_back(BS_TRY_CTX(decode(e.get<std::string>()), "token: {}", key));
    }
  } else {
    return input_error("token: {} is not a string", key);
  }
  for (auto& b : out)
    if (b.empty()) return input_error("token: {} is empty", key);
  return out;
}

Result<Bytes> b64(const ojson& j, std::string_view key) {
  if (!j.is_string()) return input_error("token: {} is not a string", key);
  return BS_TRY_CTX(crypto::base64_decode(j.get<std::string>()), "token: {}", key);
}

ojson keyslots_json(const std::vector<int>& slots) {
  ojson a = ojson::array();
  for (int s : slots) a.push_back(std::to_string(s));
  return a;
}

}  // namespace

Result<Luks2TokenHeader> parse_token_header(std::string_view json) {
  ojson j = BS_TRY(parse_object(json));
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return input_error("token: no type");
  // (Not BS_TRY inside the braced initializer: an early return from there would leak the
  // already-built string; found by the fuzzer.)
  std::vector<int> keyslots = BS_TRY(parse_keyslots(j));
  return Luks2TokenHeader{t->get<std::string>(), std::move(keyslots)};
}

uint32_t Tpm2Token::pubkey_pcr_mask() const { return pubkey_pcrs ? pcr_mask_of(*pubkey_pcrs) : 0; }

Result<Tpm2Token> parse_tpm2_token(std::string_view json) {
  ojson j = BS_TRY(parse_object(json));
  auto type = j.find("type");
  if (type == j.end() || !type->is_string() || type->get<std::string>() != kTokenTypeTpm2)
    return input_error("token: not a {} token", kTokenTypeTpm2);
  Tpm2Token t;
  t.keyslots = BS_TRY(parse_keyslots(j));

  auto blob = j.find("tpm2-blob");
  if (blob == j.end()) return input_error("token: no tpm2-blob");
  t.blobs = BS_TRY(parse_string_or_array(*blob, "tpm2-blob", t.blob_array,
                                         [](const std::string& s) { return crypto::base64_decode(s); }));
  for (auto& b : t.blobs) BS_TRY_CTX(split_blob(b), "token: tpm2-blob");

  auto pcrs = j.find("tpm2-pcrs");
  if (pcrs == j.end()) return input_error("token: no tpm2-pcrs");
  t.pcrs = BS_TRY(parse_pcr_list(*pcrs, "tpm2-pcrs"));

  if (auto it = j.find("tpm2-pcr-bank"); it != j.end()) {
    if (!it->is_string()) return input_error("token: tpm2-pcr-bank is not a string");
    auto bank = crypto::parse_hash_name(it->get<std::string>());
    if (!bank.ok()) return input_error("token: unsupported tpm2-pcr-bank '{}'", it->get<std::string>());
    t.pcr_bank = *bank;
  }
  if (auto it = j.find("tpm2-primary-alg"); it != j.end()) {
    if (!it->is_string() || (it->get<std::string>() != "ecc" && it->get<std::string>() != "rsa"))
      return input_error("token: tpm2-primary-alg must be \"ecc\" or \"rsa\"");
    t.primary_alg = it->get<std::string>();
  }
  auto ph = j.find("tpm2-policy-hash");
  if (ph == j.end()) return input_error("token: no tpm2-policy-hash");
  t.policy_hashes = BS_TRY(parse_string_or_array(*ph, "tpm2-policy-hash", t.policy_hash_array,
                                                 [](const std::string& s) { return from_hex(s); }));
  if (t.policy_hashes.size() != t.blobs.size())
    return input_error("token: {} blobs but {} policy hashes", t.blobs.size(), t.policy_hashes.size());
  for (auto& h : t.policy_hashes)
    if (h.size() != 32) return input_error("token: tpm2-policy-hash is not a SHA-256 digest");

  for (auto [key, dst] : {std::pair{"tpm2-pin", &t.pin}, std::pair{"tpm2_pcrlock", &t.pcrlock}}) {
    if (auto it = j.find(key); it != j.end()) {
      if (!it->is_boolean()) return input_error("token: {} is not a boolean", key);
      *dst = it->get<bool>();
    }
  }
  if (auto it = j.find("tpm2_pubkey_pcrs"); it != j.end()) t.pubkey_pcrs = BS_TRY(parse_pcr_list(*it, "tpm2_pubkey_pcrs"));
  if (auto it = j.find("tpm2_pubkey"); it != j.end()) {
    Bytes pem = BS_TRY(b64(*it, "tpm2_pubkey"));
    t.pubkey_pem = std::string(pem.begin(), pem.end());
  }
  if (t.pubkey_pcr_mask() && !t.pubkey_pem) return input_error("token: tpm2_pubkey_pcrs without tpm2_pubkey");
  if (auto it = j.find("tpm2_salt"); it != j.end()) t.salt = BS_TRY(b64(*it, "tpm2_salt"));
  if (auto it = j.find("tpm2_srk"); it != j.end()) t.srk = BS_TRY(b64(*it, "tpm2_srk"));
  if (auto it = j.find("tpm2_pcrlock_nv"); it != j.end()) t.pcrlock_nv = BS_TRY(b64(*it, "tpm2_pcrlock_nv"));
  return t;
}

std::string to_json(const Tpm2Token& t) {
  ojson j;
  j["type"] = kTokenTypeTpm2;
  j["keyslots"] = keyslots_json(t.keyslots);
  if (t.blob_array || t.blobs.size() != 1) {
    ojson a = ojson::array();
    for (auto& b : t.blobs) a.push_back(crypto::base64_encode(b));
    j["tpm2-blob"] = a;
  } else {
    j["tpm2-blob"] = crypto::base64_encode(t.blobs[0]);
  }
  j["tpm2-pcrs"] = t.pcrs;
  if (t.pcr_bank) j["tpm2-pcr-bank"] = crypto::hash_name(*t.pcr_bank);
  if (t.primary_alg) j["tpm2-primary-alg"] = *t.primary_alg;
  if (t.policy_hash_array || t.policy_hashes.size() != 1) {
    ojson a = ojson::array();
    for (auto& h : t.policy_hashes) a.push_back(to_hex(h));
    j["tpm2-policy-hash"] = a;
  } else {
    j["tpm2-policy-hash"] = to_hex(t.policy_hashes[0]);
  }
  if (t.pin) j["tpm2-pin"] = *t.pin;
  if (t.pcrlock) j["tpm2_pcrlock"] = *t.pcrlock;
  if (t.pubkey_pcrs) j["tpm2_pubkey_pcrs"] = *t.pubkey_pcrs;
  if (t.pubkey_pem) j["tpm2_pubkey"] = crypto::base64_encode(as_bytes(*t.pubkey_pem));
  if (t.salt) j["tpm2_salt"] = crypto::base64_encode(*t.salt);
  if (t.srk) j["tpm2_srk"] = crypto::base64_encode(*t.srk);
  if (t.pcrlock_nv) j["tpm2_pcrlock_nv"] = crypto::base64_encode(*t.pcrlock_nv);
  return j.dump();
}

std::string recovery_token_json(int keyslot) {
  ojson j;
  j["type"] = kTokenTypeRecovery;
  j["keyslots"] = keyslots_json({keyslot});
  return j.dump();
}

Result<SealedBlob> split_blob(ByteSpan blob) {
  SealedBlob out;
  size_t pos = 0;
  auto take = [&](Bytes& dst, const char* what) -> Result<bool> {
    if (!in_bounds(pos, 2, blob.size())) return input_error("sealed blob: truncated {}", what);
    size_t n = static_cast<size_t>(blob[pos]) << 8 | blob[pos + 1];
    if (!in_bounds(pos + 2, n, blob.size())) return input_error("sealed blob: {} of {} bytes runs past the end", what, n);
    if (n == 0) return input_error("sealed blob: empty {}", what);
    dst.assign(blob.begin() + static_cast<std::ptrdiff_t>(pos), blob.begin() + static_cast<std::ptrdiff_t>(pos + 2 + n));
    pos += 2 + n;
    return true;
  };
  BS_TRY(take(out.private_part, "TPM2B_PRIVATE"));
  BS_TRY(take(out.public_part, "TPM2B_PUBLIC"));
  if (pos < blob.size()) BS_TRY(take(out.seed, "TPM2B_ENCRYPTED_SECRET"));
  if (pos != blob.size()) return input_error("sealed blob: {} trailing bytes", blob.size() - pos);
  return out;
}

Bytes join_blob(const SealedBlob& b) {
  Bytes out = b.private_part;
  out.insert(out.end(), b.public_part.begin(), b.public_part.end());
  out.insert(out.end(), b.seed.begin(), b.seed.end());
  return out;
}

}  // namespace bootseal::tpm2
