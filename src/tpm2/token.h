// LUKS2 token JSON written by systemd-cryptenroll (systemd tpm2-util.c
// tpm2_make_luks2_json()/tpm2_parse_luks2_json(); docs/formats/tpm2-token.md):
//
//   {"type":"systemd-tpm2","keyslots":["1"],"tpm2-blob":"<b64 TPM2B_PRIVATE||TPM2B_PUBLIC>",
//    "tpm2-pcrs":[7],"tpm2-pcr-bank":"sha256","tpm2-primary-alg":"ecc",
//    "tpm2-policy-hash":"<hex>","tpm2-pin":false,
//    "tpm2_pubkey_pcrs":[11],"tpm2_pubkey":"<b64 PEM>","tpm2_salt":"<b64>","tpm2_srk":"<b64>"}
//
// and {"type":"systemd-recovery","keyslots":["4"]} for a recovery-key slot. The writer
// emits exactly the keys systemd-cryptenroll 254 writes, in its order, for the fields
// present; the reader also takes the arrays systemd 257 writes for tpm2-blob and
// tpm2-policy-hash (sharded seals) and ignores unknown keys as systemd does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::tpm2 {

inline constexpr std::string_view kTokenTypeTpm2 = "systemd-tpm2";
inline constexpr std::string_view kTokenTypeRecovery = "systemd-recovery";
// LUKS2 allows 32 keyslots.
inline constexpr int kLuks2MaxKeyslots = 32;

// Any LUKS2 token: its type and the keyslots it names.
struct Luks2TokenHeader {
  std::string type;
  std::vector<int> keyslots;
};
Result<Luks2TokenHeader> parse_token_header(std::string_view json);

struct Tpm2Token {
  std::vector<int> keyslots;
  std::vector<Bytes> blobs;  // one per shard (254 writes exactly one)
  bool blob_array = false;   // read as an array (257+)
  std::vector<unsigned> pcrs;  // literal-value PCRs
  std::optional<crypto::HashAlg> pcr_bank;
  std::optional<std::string> primary_alg;  // "ecc" / "rsa" (legacy transient primary)
  std::vector<Bytes> policy_hashes;
  bool policy_hash_array = false;
  std::optional<bool> pin;
  std::optional<bool> pcrlock;            // 255+
  std::optional<std::vector<unsigned>> pubkey_pcrs;
  std::optional<std::string> pubkey_pem;  // PEM text of the PCR-signing public key
  std::optional<Bytes> salt;
  std::optional<Bytes> srk;               // Esys_TR_Serialize() of the SRK
  std::optional<Bytes> pcrlock_nv;

  bool uses_pin() const { return pin.value_or(false); }
  uint32_t pubkey_pcr_mask() const;
  bool operator==(const Tpm2Token&) const = default;
};

Result<Tpm2Token> parse_tpm2_token(std::string_view json);
// Compact JSON, systemd-cryptenroll's field order.
std::string to_json(const Tpm2Token& t);

std::string recovery_token_json(int keyslot);

// The blob's two (or, for offline seals, three) parts: TPM2B_PRIVATE, TPM2B_PUBLIC and
// an optional TPM2B_ENCRYPTED_SECRET import seed. Each part is returned with its
// 2-byte size prefix, as the TPM marshals them.
struct SealedBlob {
  Bytes private_part;
  Bytes public_part;
  Bytes seed;  // empty unless an offline (TPM2_Import) seal
};
Result<SealedBlob> split_blob(ByteSpan blob);
Bytes join_blob(const SealedBlob& b);

}  // namespace bootseal::tpm2
