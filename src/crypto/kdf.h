// HMAC and PBKDF2 (RFC 2104, RFC 8018) for TPM PIN derivation (systemd's
// tpm2_util_pbkdf2_hmac_sha256).
#pragma once

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::crypto {

Bytes hmac(HashAlg alg, ByteSpan key, ByteSpan data);
Bytes pbkdf2_hmac(HashAlg alg, ByteSpan password, ByteSpan salt, unsigned iterations, size_t out_len);

}  // namespace bootseal::crypto
