// Offline sealing to a TPM that is not present (what systemd-cryptenroll 256 calls
// --tpm2-device-key=): from the SRK's public area, build a KEYEDHASH object and its
// outer-wrapped duplicate for TPM2_Import (TPM 2.0 Part 1, 23.3.2 "Outer Duplication
// Wrapper"; seed by ECDH + KDFe, Part 1 11.4.10.3), so only that TPM can unseal it.
// The blob is TPM2B_PRIVATE(duplicate) || TPM2B_PUBLIC || TPM2B_ENCRYPTED_SECRET(seed).
#pragma once

#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "tpm2/token.h"

namespace bootseal::tpm2 {

// KDFa (Part 1, 11.4.10.2) and KDFe (11.4.10.3) with SHA-256; labels get their 0x00.
Bytes kdfa_sha256(ByteSpan key, std::string_view label, ByteSpan context_u, ByteSpan context_v, size_t bits);
Bytes kdfe_sha256(ByteSpan z, std::string_view label, ByteSpan party_u, ByteSpan party_v, size_t bits);

// An ECC P-256 storage key's public area (the SRK systemd and we create).
struct EccStorageKey {
  Bytes tpmt_public;  // marshalled TPMT_PUBLIC
  Bytes x, y;
  Bytes name() const;  // 000b || SHA256(TPMT_PUBLIC)
};
// Parses a marshalled TPM2B_PUBLIC; refuses anything but an ECC P-256, sha256,
// AES-128-CFB restricted decryption key.
Result<EccStorageKey> parse_ecc_storage_key(ByteSpan tpm2b_public);
// Esys_TR_Serialize()'s form for a persistent handle (systemd's tpm2_srk):
// handle || TPM2B_NAME || u32 1 (IESYSC_KEY_RSRC) || TPM2B_PUBLIC.
Bytes serialize_persistent(uint32_t handle, const EccStorageKey& key);
// The TPM2B_PUBLIC inside such a serialization.
Result<Bytes> public_of_serialized(ByteSpan serialized);

// The sealed object as the TPM would create it: KEYEDHASH, sha256, attributes `attrs`,
// authPolicy `policy`, unique = SHA256(obfuscation seed || secret); then its duplicate.
SealedBlob seal_offline_blob(const EccStorageKey& srk, ByteSpan policy, ByteSpan secret,
                             std::optional<Bytes> auth, ByteSpan obfuscation, ByteSpan ephemeral_x,
                             ByteSpan ephemeral_y, ByteSpan ecdh_z);

}  // namespace bootseal::tpm2
