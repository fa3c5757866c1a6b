// Authenticode signatures of PE images ("Windows Authenticode Portable
// Executable Signature Format", Microsoft, 2008), as UEFI firmware checks them
// against db and as sbsign/pesign make them.
//
// The attribute certificate table (PE security directory; its VirtualAddress
// is a file offset) holds 8-byte aligned entries:
//   WIN_CERTIFICATE { UINT32 dwLength;          // header + bCertificate, unpadded
//                     UINT16 wRevision;         // 0x0200 (WIN_CERT_REVISION_2_0)
//                     UINT16 wCertificateType;  // 0x0002 (WIN_CERT_TYPE_PKCS_SIGNED_DATA)
//                     UINT8  bCertificate[]; }  // DER ContentInfo(SignedData)
// The SignedData's content is SpcIndirectDataContent:
//   SEQUENCE { data SEQUENCE { type OID spcPEImageData (1.3.6.1.4.1.311.2.1.15),
//                              value SpcPeImageData { flags BIT STRING,
//                                                     file [0] SpcLink } },
//              messageDigest DigestInfo { SEQUENCE { OID, NULL }, OCTET STRING } }
// whose digest is the image hash over pe::authenticode_ranges(). The signed
// messageDigest attribute covers SpcIndirectDataContent's content octets.
//
// Pure: bytes in, bytes out. Callers read and write files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crypto/pkcs7.h"
#include "pe/pe.h"
#include "pe/writer.h"

namespace bootseal::authenticode {

inline constexpr std::string_view kOidSpcIndirectDataContent = "1.3.6.1.4.1.311.2.1.4";
inline constexpr std::string_view kOidSpcPeImageData = "1.3.6.1.4.1.311.2.1.15";
inline constexpr uint16_t kWinCertRevision = 0x0200;
inline constexpr uint16_t kWinCertTypePkcsSignedData = 0x0002;
inline constexpr size_t kWinCertificateHeaderSize = 8;
inline constexpr size_t kWinCertificateAlignment = 8;
// Cap on entries read from an untrusted table.
inline constexpr size_t kMaxCertificates = 64;

struct WinCertificate {
  uint64_t offset = 0;  // file offset of the entry
  uint32_t dwLength = 0;
  uint16_t wRevision = 0;
  uint16_t wCertificateType = 0;
  Bytes bCertificate;
};

// The entries of the attribute certificate table (empty if the image has none).
Result<std::vector<WinCertificate>> certificate_table(ByteSpan file, const pe::Image& image);
// The entries of a table's bytes, which sit at `table_offset` in the file.
Result<std::vector<WinCertificate>> certificate_entries(ByteSpan table, uint64_t table_offset);

// The Authenticode image hash, of a file in one buffer or held as a layout.
Result<Bytes> image_hash(ByteSpan file, const pe::AuthenticodeRanges& ranges, crypto::HashAlg alg);
Result<Bytes> image_hash(const pe::Layout& layout, const pe::AuthenticodeRanges& ranges, crypto::HashAlg alg);

// SpcIndirectDataContent DER for an image hash, byte-identical to sbsign's
// (SpcPeImageData with empty flags and the file link "<<<Obsolete>>>").
Result<Bytes> spc_indirect_data_content(crypto::HashAlg alg, ByteSpan image_digest);

struct IndirectData {
  std::string data_type_oid;  // spcPEImageData for PE images
  std::string digest_oid;
  std::optional<crypto::HashAlg> digest_alg;  // if the OID is a known hash
  Bytes digest;
};
Result<IndirectData> parse_spc_indirect_data_content(ByteSpan der);

struct SignOptions {
  // Keep existing signatures and add this one (a second WIN_CERTIFICATE);
  // otherwise existing signatures are replaced.
  bool append = false;
  std::optional<int64_t> signing_time;  // Unix seconds for the signingTime attribute
  // Intermediate certificates to embed, so verifiers can chain the signer to
  // a root they trust (sbsign --addcert).
  std::vector<crypto::Certificate> extra_certificates;
};

// Signs a PE image: SHA-256 image hash, PKCS#7 appended as a WIN_CERTIFICATE
// at an 8-byte aligned offset, security directory and checksum updated.
Result<Bytes> sign(ByteSpan file, const crypto::Signer& signer, const crypto::Certificate& cert,
                   const SignOptions& options);
// The same reusing `file`'s buffer (no copy of a large image).
Result<Bytes> sign(Bytes file, const crypto::Signer& signer, const crypto::Certificate& cert,
                   const SignOptions& options);
// The same on an image held as a pe::Layout (headers plus views of section
// data, e.g. a UKI just assembled or a mapped file): the hash is computed from
// the pieces, the new table is appended as an owned piece and only the headers
// are patched; no byte of section data is copied.
Result<pe::Layout> sign_layout(pe::Layout layout, const crypto::Signer& signer, const crypto::Certificate& cert,
                               const SignOptions& options);

// sign_layout() in steps, for a caller that writes the image out while it is
// hashed. prepare_signing() drops an existing table (kept in old_table with
// append), clears the security directory and pads the file to 8 bytes; from
// then on the bytes of layout in [layout.headers.size(), layout.size) are
// final. finish_signing() takes image_hash(layout, ranges, kSha256), appends
// the WIN_CERTIFICATE after them and patches the headers (security directory,
// checksum).
struct PreparedImage {
  pe::Layout layout;
  pe::AuthenticodeRanges ranges;
  Bytes old_table;  // signatures kept (append), re-appended before the new one
};
// `body_word_sum`, if the caller has it (it summed the bytes as it wrote
// them), is pe::checksum_word_sum() over [headers.size(), layout.size) of the
// prepared layout; otherwise finish_signing() computes it.
Result<PreparedImage> prepare_signing(pe::Layout layout, bool append);
Result<pe::Layout> finish_signing(PreparedImage prepared, ByteSpan sha256_image_hash, const crypto::Signer& signer,
                                  const crypto::Certificate& cert, const SignOptions& options,
                                  std::optional<uint64_t> body_word_sum = std::nullopt);

// Offline signing (systemd-sbsign 258's --prepare-offline-signing): the data
// to be signed for a prepared image is the DER of the PKCS#7 signed attributes
// (crypto::pkcs7_embedded_signed_attributes over the image's
// SpcIndirectDataContent, signingTime from options); sign it with SHA-256 and
// the db key elsewhere (`openssl dgst -sha256 -sign db.key`), then
// finish_signing_offline() puts those attributes and that signature in: the
// result equals finish_signing() with the same key, time and options.
Result<Bytes> offline_signed_data(ByteSpan sha256_image_hash, const crypto::Certificate& cert,
                                  const SignOptions& options);
Result<pe::Layout> finish_signing_offline(PreparedImage prepared, ByteSpan sha256_image_hash,
                                          const crypto::Certificate& cert, const SignOptions& options,
                                          ByteSpan signed_data, ByteSpan signature,
                                          std::optional<uint64_t> body_word_sum = std::nullopt);

// Offline signing with a whole signature made elsewhere (sbattach --attach,
// `sign --signed-data P7` alone): `p7` is a DER PKCS#7 SignedData over an
// SpcIndirectDataContent, e.g. what a signing service returns or sbattach
// --detach cut out of a signed copy. It is checked before it is put in: the
// content type, the image hash it covers (in its own digest algorithm) equal to
// the prepared image's, and its signature with the signer certificate it
// embeds; with `trusted` non-empty, that certificate must chain to one of them.
// Errors (all kInput, as a bad --signed-data-signature): a blob that is no such
// PKCS#7, or one line naming the mismatch (another image, a bad signature, a
// signer that does not chain to `trusted`).
Result<pe::Layout> attach_pkcs7(PreparedImage prepared, ByteSpan p7, const std::vector<crypto::Certificate>& trusted,
                                std::optional<uint64_t> body_word_sum = std::nullopt);

// Removes all signatures (the table must sit at the end of the file).
Result<Bytes> unsign(ByteSpan file);

// What verification found for one WIN_CERTIFICATE.
struct SignatureCheck {
  size_t index = 0;
  std::string signer;           // subject of the signer certificate ("" if not embedded)
  std::string issuer;
  std::string digest_algorithm;
  std::optional<int64_t> signing_time;
  bool hash_ok = false;
  bool ok = false;              // hash, signature and chain all good
  std::string problem;          // why not, when !ok
};

struct VerifyReport {
  bool signed_image = false;
  std::vector<SignatureCheck> signatures;
  bool ok() const {
    for (auto& s : signatures)
      if (s.ok) return true;
    return false;
  }
  // One line saying why verification failed (empty if ok()).
  std::string failure() const;
};

// Verifies every signature of `file` against `trusted`. Malformed images or
// tables are errors (kInput); signatures that do not verify are reported.
Result<VerifyReport> verify(ByteSpan file, const std::vector<crypto::Certificate>& trusted);

// verify() as a Status: ok if some signature verifies, else kCheckFailed with
// the reason (no signature, hash mismatch, wrong signer, bad signature).
Status verify_image(ByteSpan file, const std::vector<crypto::Certificate>& trusted);

}  // namespace bootseal::authenticode
