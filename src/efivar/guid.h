// EFI_GUID (UEFI spec, appendix A): 16 bytes stored as Data1 (u32 LE),
// Data2 (u16 LE), Data3 (u16 LE), Data4[8] (bytes in order); written as text
// "8be4df61-93ca-11d2-aa0d-00e098032b8c".
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace bootseal::efivar {

struct Guid {
  std::array<uint8_t, 16> bytes{};  // on-disk (mixed-endian) order
  bool operator==(const Guid&) const = default;
  std::string to_string() const;
  static Result<Guid> parse(std::string_view text);
  static Guid from_bytes(ByteSpan b16);
  bool is_zero() const;
};
inline constexpr size_t kGuidSize = 16;

// Well-known GUIDs.
// EFI_GLOBAL_VARIABLE: vendor GUID of PK and KEK.
extern const Guid kEfiGlobalVariable;
// EFI_IMAGE_SECURITY_DATABASE_GUID: vendor GUID of db and dbx.
extern const Guid kEfiImageSecurityDatabase;
// EFI_CERT_X509_GUID: signature type of a DER X.509 certificate entry.
extern const Guid kEfiCertX509;
// EFI_CERT_SHA256_GUID: signature type of a SHA-256 hash entry.
extern const Guid kEfiCertSha256;
// EFI_CERT_TYPE_PKCS7_GUID: CertType of WIN_CERTIFICATE_UEFI_GUID in authenticated variables.
extern const Guid kEfiCertTypePkcs7;

}  // namespace bootseal::efivar
