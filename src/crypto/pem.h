// PEM and base64 helpers for public keys (systemd's .pcrpkey is a PEM
// SubjectPublicKeyInfo; .pcrsig carries base64 signatures).
#pragma once

#include <string>

#include "base/bytes.h"

namespace bootseal::crypto {

// Standard base64 (RFC 4648, with padding, no line breaks).
std::string base64_encode(ByteSpan data);
Result<Bytes> base64_decode(std::string_view text);

// "-----BEGIN PUBLIC KEY-----" PEM of a SubjectPublicKeyInfo (64-column lines).
std::string public_key_pem(ByteSpan spki_der);
// Reads a PEM public key ("PUBLIC KEY") and returns its
// SubjectPublicKeyInfo DER. `what` names the source in errors.
Result<Bytes> public_key_der_from_pem(ByteSpan pem, std::string_view what);

}  // namespace bootseal::crypto

namespace bootseal::crypto {
// The key inside a SubjectPublicKeyInfo in its algorithm's own DER
// (i2d_PublicKey: PKCS#1 RSAPublicKey for RSA). systemd's PCR signature
// "pkfp" is the SHA-256 of this.
Result<Bytes> raw_public_key_der(ByteSpan spki_der);
}  // namespace bootseal::crypto
