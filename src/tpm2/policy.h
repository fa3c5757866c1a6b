// TPM 2.0 policy arithmetic for systemd's sealed LUKS2 keys (systemd tpm2-util.c's
// tpm2_calculate_*): PolicyAuthorize, PolicyAuthValue, the TPM name of an external RSA
// PCR-signing key, its "pkfp" fingerprint, and the PIN -> authValue derivation.
// Pure: no TPM, no I/O. Golden values: tpm2_test.cc (measured with systemd 254).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "tpm2/pcr.h"

namespace bootseal::tpm2 {

// TPM_CC values (TPM 2.0 Part 2, "TPM_CC").
inline constexpr uint32_t kCcPolicyAuthorize = 0x0000016A;
inline constexpr uint32_t kCcPolicyAuthValue = 0x0000016B;
// TPM_ALG_ID values used in TPMT_PUBLIC.
inline constexpr uint16_t kAlgRsa = 0x0001;
inline constexpr uint16_t kAlgKeyedHash = 0x0008;
inline constexpr uint16_t kAlgNull = 0x0010;
// TPMA_OBJECT bits (Part 2, "TPMA_OBJECT").
inline constexpr uint32_t kAttrFixedTpm = 0x00000002;
inline constexpr uint32_t kAttrFixedParent = 0x00000010;
inline constexpr uint32_t kAttrUserWithAuth = 0x00000040;
inline constexpr uint32_t kAttrDecrypt = 0x00020000;
inline constexpr uint32_t kAttrSign = 0x00040000;

// TPM2_PolicyAuthorize: the digest is reset, then
//   d = H(0 || TPM_CC_PolicyAuthorize || keySign name); d = H(d || policyRef).
Bytes policy_authorize(ByteSpan key_name, ByteSpan policy_ref = {});
// TPM2_PolicyAuthValue: H(d || TPM_CC_PolicyAuthValue).
Bytes policy_auth_value(ByteSpan policy_in);

// An RSA public key as TPM2_LoadExternal sees it (systemd's
// tpm2_tpm2b_public_from_openssl_pkey): TPMT_PUBLIC {type rsa, nameAlg sha256,
// attributes decrypt|sign|userWithAuth, empty authPolicy, symmetric NULL, scheme NULL,
// keyBits, exponent (as in the key: 65537, not 0), unique = modulus}.
struct RsaPublic {
  Bytes modulus;          // big-endian, no leading zero
  uint32_t exponent = 0;  // as marshalled
};
Result<RsaPublic> rsa_public_from_spki(ByteSpan spki_der);
// Marshalled TPMT_PUBLIC (no TPM2B size prefix).
Bytes marshal_tpmt_public(const RsaPublic& key);
// The object's name: nameAlg (000b) || SHA256(TPMT_PUBLIC).
Bytes rsa_key_name(const RsaPublic& key);
// systemd's "pkfp": SHA-256 of the key's i2d_PublicKey DER (PKCS#1 RSAPublicKey).
Result<Bytes> public_key_fingerprint(ByteSpan spki_der);

// What a sealed key's policy binds (tpm2_calculate_sealing_policy(), in its order):
// PolicyAuthorize(pubkey) -> PolicyPCR(literal pcrs) -> PolicyAuthValue (PIN).
struct SealingPolicy {
  crypto::HashAlg bank = crypto::HashAlg::kSha256;
  uint32_t pcr_mask = 0;            // literal PCRs
  std::vector<Bytes> pcr_values;    // their expected values, in PCR order
  std::optional<Bytes> pubkey_name; // signed policy key (RsaPublic name) if any
  bool pin = false;
};
Result<Bytes> sealing_policy_digest(const SealingPolicy& p);

// PIN -> TPM authValue, as systemd-cryptenroll 254 does with a salt (tpm2_util_pbkdf2_hmac_sha256
// then tpm2_get_pin_auth): s = base64(PBKDF2-HMAC-SHA256(pin, salt, 10000, 32));
// authValue = SHA256(s) with trailing zero bytes trimmed. With no salt, s = pin.
inline constexpr unsigned kPinPbkdf2Iterations = 10000;
Bytes pin_auth_value(std::string_view pin, ByteSpan salt);

// PCR index list <-> mask.
uint32_t pcr_mask_of(const std::vector<unsigned>& pcrs);
std::vector<unsigned> pcrs_of_mask(uint32_t mask);

// The LUKS2 passphrase systemd derives from the unsealed secret: base64 of it.
std::string passphrase_from_secret(ByteSpan secret);

}  // namespace bootseal::tpm2
