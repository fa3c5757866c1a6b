// The two primitives TPM2_Import's outer wrapper needs that hash.h/kdf.h lack:
// ephemeral ECDH on NIST P-256 against a peer point, and AES-CFB (TPM 2.0 Part 1, 11.4.9
// and 23.3.2). Used for offline sealing to a TPM's SRK (tpm2/duplicate.h).
#pragma once

#include "base/bytes.h"

namespace bootseal::crypto {

struct EcdhP256 {
  Bytes ephemeral_x, ephemeral_y;  // 32 bytes each
  Bytes z;                         // the shared point's x coordinate
};
// A fresh ephemeral key pair and its shared secret with the peer (x, y big-endian).
Result<EcdhP256> ecdh_p256_ephemeral(ByteSpan peer_x, ByteSpan peer_y);
// AES-128/192/256 (by key size) in CFB-128 mode.
Result<Bytes> aes_cfb_encrypt(ByteSpan key, ByteSpan iv, ByteSpan data);
Result<Bytes> aes_cfb_decrypt(ByteSpan key, ByteSpan iv, ByteSpan data);

}  // namespace bootseal::crypto
