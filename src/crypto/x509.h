// X.509 certificates: load (PEM or DER), inspect, and make self-signed ones
// for Secure Boot key sets.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/key.h"

namespace bootseal::crypto {

class Certificate {
 public:
  // PEM ("-----BEGIN CERTIFICATE-----", the first one) or DER, detected.
  static Result<Certificate> load(ByteSpan data, std::string_view what);
  static Result<Certificate> from_der(ByteSpan der, std::string_view what);
  // Every certificate of a PEM bundle (or the one DER certificate).
  static Result<std::vector<Certificate>> load_all(ByteSpan data, std::string_view what);

  const Bytes& der() const { return der_; }
  std::string pem() const;
  // RFC 2253-style one-line names: "CN=bootseal db,O=Example".
  std::string subject() const;
  std::string issuer() const;
  std::string serial_hex() const;
  // Validity as Unix seconds.
  int64_t not_before() const;
  int64_t not_after() const;
  // SubjectPublicKeyInfo (DER).
  Bytes public_key_der() const;
  // True if the certificate carries extendedKeyUsage with id-kp-codeSigning.
  bool has_code_signing_usage() const;
  // True if it carries an extendedKeyUsage extension at all.
  bool has_extended_key_usage() const;
  bool operator==(const Certificate& o) const { return der_ == o.der_; }

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  Certificate() = default;
  Bytes der_;
  std::shared_ptr<Impl> impl_;
};

// What a self-signed certificate says about itself.
struct CertificateProfile {
  std::string subject;      // "CN=...,O=..." or "/CN=.../O=..."
  int64_t not_before = 0;   // Unix seconds
  int64_t not_after = 0;
  Bytes serial;             // big-endian, 1..20 bytes; the top bit is cleared
  bool ca = false;          // basicConstraints CA:TRUE + keyCertSign
  bool code_signing = false;  // extendedKeyUsage codeSigning (Secure Boot db keys)
};

// A self-signed X.509 v3 certificate (SHA-256 signature) for `key`, with
// subjectKeyIdentifier and authorityKeyIdentifier as `openssl req -x509` adds.
Result<Certificate> make_self_signed(const PrivateKey& key, const CertificateProfile& profile);

// Unix time -> "2026-11-25 13:40:00 UTC".
std::string format_time(int64_t t);

}  // namespace bootseal::crypto
