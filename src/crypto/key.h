// Private keys and the Signer interface.
//
// Everything that signs (PKCS#7 for Authenticode and authenticated variables,
// self-signed certificates) takes a `const Signer&`, never a key: a key held in
// a PEM file, an OpenSSL provider or a PKCS#11 token only has to implement
// sign_digest() and public_key_der(). PrivateKey is the in-memory (file) kind.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::crypto {

enum class KeyType { kRsa2048, kRsa4096, kEcP256 };
Result<KeyType> parse_key_type(std::string_view name);  // "rsa2048", "rsa4096", "ec-p256"
std::string_view key_type_name(KeyType type);

// What kind of signature a key makes: RSA PKCS#1 v1.5 or ECDSA (DER Ecdsa-Sig-Value).
enum class SignatureScheme { kRsaPkcs1v15, kEcdsa };

class Signer {
 public:
  virtual ~Signer() = default;
  // The key's SubjectPublicKeyInfo (DER), to match it against a certificate.
  virtual Bytes public_key_der() const = 0;
  virtual SignatureScheme scheme() const = 0;
  // Signs a message digest made with `alg` (RSA: PKCS#1 v1.5 over DigestInfo).
  virtual Result<Bytes> sign_digest(HashAlg alg, ByteSpan digest) const = 0;
  // For messages: "key file db.key".
  virtual std::string description() const = 0;

  // Hashes `message` with `alg` and signs the digest.
  Result<Bytes> sign(HashAlg alg, ByteSpan message) const { return sign_digest(alg, digest(alg, message)); }
};

// A private key held in memory (loaded from PEM or generated).
class PrivateKey final : public Signer {
 public:
  static Result<PrivateKey> generate(KeyType type);
  // Unencrypted PEM (PKCS#8 "PRIVATE KEY", or "RSA PRIVATE KEY"/"EC PRIVATE KEY").
  // `what` names the source in errors.
  static Result<PrivateKey> from_pem(ByteSpan pem, std::string_view what);
  // A PEM key that may be encrypted: `passphrase` is used when given; otherwise an
  // encrypted key asks for its passphrase on the terminal (/dev/tty) when there is
  // one, and is refused with a clear message when there is none.
  static Result<PrivateKey> from_pem(ByteSpan pem, std::string_view what, const std::optional<std::string>& passphrase,
                                     bool prompt);
  // A key in a PKCS#11 token, named by an RFC 7512 URI ("pkcs11:token=...;object=..."),
  // through OpenSSL 3's pkcs11 provider (Debian's pkcs11-provider). The module comes from
  // $PKCS11_PROVIDER_MODULE (default: p11-kit's proxy); the PIN from the URI's
  // pin-value=/pin-source= or the terminal. The key never leaves the token.
  static Result<PrivateKey> from_pkcs11_uri(const std::string& uri);

  // PKCS#8 PEM, unencrypted.
  std::string to_pem() const;
  // "RSA 2048" / "EC P-256".
  std::string algorithm() const;

  Bytes public_key_der() const override;
  SignatureScheme scheme() const override;
  Result<Bytes> sign_digest(HashAlg alg, ByteSpan digest) const override;
  std::string description() const override { return what_; }

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit PrivateKey(std::shared_ptr<Impl> impl, std::string what) : impl_(std::move(impl)), what_(std::move(what)) {}
  std::shared_ptr<Impl> impl_;
  std::string what_;
};

// Verifies `signature` over `message` with a public key (SubjectPublicKeyInfo DER).
Result<bool> verify_signature(ByteSpan public_key_der, HashAlg alg, ByteSpan message, ByteSpan signature);

// The OpenSSL error queue as one line (and cleared), for error messages.
std::string openssl_error();

// Cryptographically secure random bytes (OpenSSL's RAND_bytes).
Bytes random_bytes(size_t n);

}  // namespace bootseal::crypto
