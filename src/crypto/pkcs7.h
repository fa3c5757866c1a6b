// PKCS#7 (RFC 2315) SignedData: the signatures of Authenticode and of UEFI
// time-based authenticated variables. Built with OpenSSL's PKCS7 structures so
// the DER equals what sbsign and efitools' sign-efi-sig-list produce, but the
// signature value itself comes from a crypto::Signer (file key, HSM, ...).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/key.h"
#include "crypto/x509.h"

namespace bootseal::crypto {

inline constexpr std::string_view kOidPkcs7Data = "1.2.840.113549.1.7.1";
inline constexpr std::string_view kOidPkcs7SignedData = "1.2.840.113549.1.7.2";

struct Pkcs7SignOptions {
  HashAlg digest = HashAlg::kSha256;
  // Authenticated attributes: contentType, messageDigest, signingTime (if set)
  // and S/MIME capabilities (OpenSSL's PKCS7_sign default, which sbsign keeps).
  // Without them the signature covers the content digest directly
  // (sign-efi-sig-list's PKCS7_NOATTR).
  bool signed_attributes = true;
  bool smime_capabilities = true;
  std::optional<int64_t> signing_time;  // Unix seconds
  std::vector<Certificate> extra_certificates;  // intermediates to embed
};

// ContentInfo(SignedData) over `data`, which is not embedded (detached,
// content type id-data).
Result<Bytes> pkcs7_sign_detached(ByteSpan data, const Signer& signer, const Certificate& cert,
                                  const Pkcs7SignOptions& options);

// ContentInfo(SignedData) embedding `content_der` (one complete DER element)
// with content type `content_type_oid`. The messageDigest attribute covers the
// content octets of `content_der` without its tag and length, as Authenticode
// specifies for SpcIndirectDataContent. Needs signed_attributes.
Result<Bytes> pkcs7_sign_embedded(std::string_view content_type_oid, ByteSpan content_der, const Signer& signer,
                                  const Certificate& cert, const Pkcs7SignOptions& options);

// Offline signing (systemd-sbsign 258's --prepare-offline-signing and
// --signed-data/--signed-data-signature), for build farms that never hold the key.
// pkcs7_embedded_signed_attributes() is the data to be signed: the DER of the
// signed attributes (SET OF Attribute: contentType, S/MIME capabilities,
// signingTime, messageDigest) exactly as pkcs7_sign_embedded() would sign them;
// any signer (`openssl dgst -sha256 -sign`, an HSM) signs those bytes.
// pkcs7_assemble_embedded() builds the SignedData from those attributes and the
// signature: byte-identical to pkcs7_sign_embedded() with the same key and
// options. It checks that the attributes' contentType and messageDigest are for
// `content_der` and that the signature verifies with the certificate's key
// (kInput naming the problem otherwise).
Result<Bytes> pkcs7_embedded_signed_attributes(std::string_view content_type_oid, ByteSpan content_der,
                                               const Certificate& cert, const Pkcs7SignOptions& options);
Result<Bytes> pkcs7_assemble_embedded(std::string_view content_type_oid, ByteSpan content_der, const Certificate& cert,
                                      const Pkcs7SignOptions& options, ByteSpan signed_attributes_der,
                                      ByteSpan signature);

struct Pkcs7SignerInfo {
  std::string issuer;
  std::string serial_hex;
  std::string digest_algorithm;     // "sha256"
  std::optional<Certificate> certificate;  // the signer's certificate, if embedded
  std::optional<int64_t> signing_time;
};

struct Pkcs7Info {
  std::string content_type_oid;  // of the encapsulated content
  Bytes content_der;             // the encapsulated content element; empty if detached
  std::vector<Certificate> certificates;
  std::vector<Pkcs7SignerInfo> signers;
};

// Parses a DER ContentInfo(SignedData); a bare SignedData (as the UEFI spec
// allows in authenticated variables) is accepted too.
Result<Pkcs7Info> pkcs7_parse(ByteSpan der);

// Verifies each signer's signature over `signed_data` (the detached data, or
// for embedded content the bytes its messageDigest covers), then that each
// signer's certificate chains to one of `trusted` (which are trust anchors even
// if not self-signed; validity dates are not checked, as UEFI does not).
// Errors: kInput for malformed input, kCheckFailed naming what did not match.
Status pkcs7_verify(ByteSpan der, ByteSpan signed_data, const std::vector<Certificate>& trusted);

// The SignedData element inside a DER ContentInfo(SignedData): what UEFI
// authenticated variables carry in CertData (the spec and efitools' output).
Result<Bytes> pkcs7_strip_content_info(ByteSpan content_info);

// The bytes a messageDigest covers for embedded content: the content octets
// of the DER element (tag and length stripped).
Result<ByteSpan> der_content_octets(ByteSpan element);

}  // namespace bootseal::crypto
