#include "tpm2/policy.h"

#include "crypto/der.h"
#include "crypto/kdf.h"
#include "crypto/pem.h"
#include "tpm2/marshal.h"

namespace bootseal::tpm2 {

using crypto::HashAlg;

namespace {
void append(Bytes& b, ByteSpan s) { b.insert(b.end(), s.begin(), s.end()); }
// Big-endian DER INTEGER content without its sign byte.
Bytes strip_leading_zeros(ByteSpan v) {
  size_t i = 0;
  while (i + 1 < v.size() && v[i] == 0) i++;
  return Bytes(v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
}
}  // namespace

Bytes policy_authorize(ByteSpan key_name, ByteSpan policy_ref) {
  Bytes msg(32, 0);
  put_be32(msg, kCcPolicyAuthorize);
  append(msg, key_name);
  Bytes d = crypto::digest(HashAlg::kSha256, msg);
  append(d, policy_ref);
  return crypto::digest(HashAlg::kSha256, d);
}

Bytes policy_auth_value(ByteSpan policy_in) {
  Bytes msg(policy_in.begin(), policy_in.end());
  put_be32(msg, kCcPolicyAuthValue);
  return crypto::digest(HashAlg::kSha256, msg);
}

Result<RsaPublic> rsa_public_from_spki(ByteSpan spki_der) {
  Bytes raw = BS_TRY(crypto::raw_public_key_der(spki_der));
  crypto::der::Reader outer(raw);
  auto seq = BS_TRY(outer.expect(crypto::der::kSequence, "RSAPublicKey"));
  crypto::der::Reader inner(seq.value);
  auto n = inner.expect(crypto::der::kInteger, "RSA modulus");
  if (!n.ok()) return input_error("PCR public key: not an RSA key (only RSA keys sign PCR policies here)");
  auto e = BS_TRY(inner.expect(crypto::der::kInteger, "RSA exponent"));
  RsaPublic key;
  key.modulus = strip_leading_zeros(n->value);
  Bytes ev = strip_leading_zeros(e.value);
  if (ev.size() > 4) return input_error("PCR public key: RSA exponent too large for a TPM");
  uint32_t exp = 0;
  for (uint8_t b : ev) exp = (exp << 8) | b;
  key.exponent = exp;  // systemd and tpm2-tools marshal 65537 as is, not as the TPM's 0 default
  size_t bits = key.modulus.size() * 8;
  if (bits != 1024 && bits != 2048 && bits != 3072 && bits != 4096)
    return input_error("PCR public key: RSA key of {} bits (a TPM takes 1024/2048/3072/4096)", bits);
  return key;
}

Bytes marshal_tpmt_public(const RsaPublic& key) {
  Bytes b;
  put_be16(b, kAlgRsa);
  put_be16(b, kAlgSha256);
  put_be32(b, kAttrDecrypt | kAttrSign | kAttrUserWithAuth);
  put_be16(b, 0);         // authPolicy: empty TPM2B_DIGEST
  put_be16(b, kAlgNull);  // symmetric: TPMT_SYM_DEF_OBJECT (NULL, no further fields)
  put_be16(b, kAlgNull);  // scheme: TPMT_RSA_SCHEME (NULL)
  put_be16(b, static_cast<uint16_t>(key.modulus.size() * 8));
  put_be32(b, key.exponent);
  put_be16(b, static_cast<uint16_t>(key.modulus.size()));
  append(b, key.modulus);
  return b;
}

Bytes rsa_key_name(const RsaPublic& key) {
  Bytes name;
  put_be16(name, kAlgSha256);
  append(name, crypto::digest(HashAlg::kSha256, marshal_tpmt_public(key)));
  return name;
}

Result<Bytes> public_key_fingerprint(ByteSpan spki_der) {
  Bytes raw = BS_TRY(crypto::raw_public_key_der(spki_der));
  return crypto::digest(HashAlg::kSha256, raw);
}

Result<Bytes> sealing_policy_digest(const SealingPolicy& p) {
  Bytes d(32, 0);
  if (p.pubkey_name) d = policy_authorize(*p.pubkey_name);
  if (p.pcr_mask) {
    if (pcrs_of_mask(p.pcr_mask).size() != p.pcr_values.size())
      return internal_error("sealing policy: {} PCR values for mask {:#x}", p.pcr_values.size(), p.pcr_mask);
    for (auto& v : p.pcr_values)
      if (v.size() != crypto::digest_size(p.bank)) return input_error("sealing policy: PCR value of the wrong size");
    d = policy_pcr(HashAlg::kSha256, d, {p.bank, p.pcr_mask}, p.pcr_values);
  }
  if (p.pin) d = policy_auth_value(d);
  return d;
}

Bytes pin_auth_value(std::string_view pin, ByteSpan salt) {
  std::string s(pin);
  if (!salt.empty())
    s = crypto::base64_encode(crypto::pbkdf2_hmac(HashAlg::kSha256, as_bytes(pin), salt, kPinPbkdf2Iterations, 32));
  Bytes auth = crypto::digest(HashAlg::kSha256, s);
  while (!auth.empty() && auth.back() == 0) auth.pop_back();
  return auth;
}

uint32_t pcr_mask_of(const std::vector<unsigned>& pcrs) {
  uint32_t m = 0;
  for (unsigned p : pcrs)
    if (p < kNumPcrs) m |= 1u << p;
  return m;
}

std::vector<unsigned> pcrs_of_mask(uint32_t mask) {
  std::vector<unsigned> out;
  for (unsigned i = 0; i < kNumPcrs; i++)
    if (mask & (1u << i)) out.push_back(i);
  return out;
}

std::string passphrase_from_secret(ByteSpan secret) { return crypto::base64_encode(secret); }

}  // namespace bootseal::tpm2
