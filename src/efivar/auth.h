// Time-based authenticated variable updates (UEFI spec 2.10, section 8.2.2,
// "Using the EFI_VARIABLE_AUTHENTICATION_2 descriptor"): what SetVariable()
// takes for PK, KEK and db, and what systemd-boot enrolls from
// loader/keys/<name>/{PK,KEK,db}.auth.
//
//   EFI_VARIABLE_AUTHENTICATION_2 {
//     EFI_TIME TimeStamp;                    // 16 bytes, see EfiTime
//     WIN_CERTIFICATE_UEFI_GUID AuthInfo {
//       WIN_CERTIFICATE Hdr { UINT32 dwLength;        // 24 + sizeof(CertData)
//                             UINT16 wRevision;       // 0x0200
//                             UINT16 wCertificateType; }  // WIN_CERT_TYPE_EFI_GUID 0x0EF1
//       EFI_GUID CertType;                    // EFI_CERT_TYPE_PKCS7_GUID
//       UINT8 CertData[];                     // DER PKCS#7 SignedData, detached
//     }
//   }
//   followed by the variable data (an EFI_SIGNATURE_LIST sequence).
//
// The PKCS#7 signature covers, with no separators:
//   VariableName (UTF-16LE, no terminating NUL) || VendorGuid || Attributes (UINT32 LE)
//   || TimeStamp || Data
// and, as efitools' sign-efi-sig-list makes it, is a bare SignedData (no
// ContentInfo around it) with SHA-256, no authenticated attributes, the
// content detached. Readers accept a ContentInfo too (edk2 does).
#pragma once

#include <optional>
#include <string>

#include "crypto/pkcs7.h"
#include "efivar/guid.h"

namespace bootseal::efivar {

// Variable attributes (UEFI spec, GetVariable()).
inline constexpr uint32_t kVariableNonVolatile = 0x00000001;
inline constexpr uint32_t kVariableBootserviceAccess = 0x00000002;
inline constexpr uint32_t kVariableRuntimeAccess = 0x00000004;
inline constexpr uint32_t kVariableTimeBasedAuthenticatedWriteAccess = 0x00000020;
inline constexpr uint32_t kVariableAppendWrite = 0x00000040;
// NV|BS|RT|TIME_BASED_AUTHENTICATED_WRITE_ACCESS: sign-efi-sig-list's default.
inline constexpr uint32_t kSecureBootVariableAttributes = kVariableNonVolatile | kVariableBootserviceAccess |
                                                          kVariableRuntimeAccess |
                                                          kVariableTimeBasedAuthenticatedWriteAccess;

inline constexpr uint16_t kWinCertRevision = 0x0200;      // WIN_CERT_REVISION_2_0
inline constexpr uint16_t kWinCertTypeEfiGuid = 0x0EF1;   // WIN_CERT_TYPE_EFI_GUID
inline constexpr uint16_t kWinCertTypePkcsSignedData = 0x0002;  // WIN_CERT_TYPE_PKCS_SIGNED_DATA
inline constexpr size_t kWinCertificateHeaderSize = 8;
inline constexpr size_t kWinCertificateUefiGuidHeaderSize = 24;  // Hdr + CertType
inline constexpr size_t kEfiTimeSize = 16;

// EFI_TIME: Year u16, Month, Day, Hour, Minute, Second, Pad1 (u8 each),
// Nanosecond u32, TimeZone i16, Daylight u8, Pad2 u8. For authenticated
// variables Pad1, Nanosecond, TimeZone, Daylight and Pad2 must be 0.
struct EfiTime {
  uint16_t Year = 0;
  uint8_t Month = 0, Day = 0, Hour = 0, Minute = 0, Second = 0, Pad1 = 0;
  uint32_t Nanosecond = 0;
  int16_t TimeZone = 0;
  uint8_t Daylight = 0, Pad2 = 0;
  bool operator==(const EfiTime&) const = default;

  static EfiTime from_unix(int64_t seconds);  // UTC
  // "YYYY-MM-DD HH:MM:SS" (sign-efi-sig-list -t's format), as UTC.
  static Result<EfiTime> parse(std::string_view text);
  std::string to_string() const;
  Bytes encode() const;
  static Result<EfiTime> decode(ByteSpan b16);
};

// The vendor GUID the spec gives a Secure Boot variable: EFI_GLOBAL_VARIABLE
// for PK and KEK, EFI_IMAGE_SECURITY_DATABASE_GUID for db, dbx, dbt, dbr.
Result<Guid> secure_boot_vendor_guid(std::string_view name);

// The bytes the signature covers.
Bytes signed_payload(std::string_view name, const Guid& vendor, uint32_t attributes, const EfiTime& time,
                     ByteSpan data);

struct AuthenticatedVariable {
  EfiTime TimeStamp;
  uint32_t dwLength = 0;
  Guid CertType;
  Bytes CertData;  // DER PKCS#7
  Bytes Data;      // the new variable value
};

// Parses a .auth file (EFI_VARIABLE_AUTHENTICATION_2 followed by the data).
Result<AuthenticatedVariable> parse_auth2(ByteSpan file);
Bytes write_auth2(const EfiTime& time, ByteSpan pkcs7_der, ByteSpan data);

// Signs an update of variable `name` and returns the .auth bytes.
Result<Bytes> make_auth2(std::string_view name, const Guid& vendor, uint32_t attributes, const EfiTime& time,
                         ByteSpan data, const crypto::Signer& signer, const crypto::Certificate& cert);

// Verifies a parsed update of `name` against trusted certificates.
Status verify_auth2(std::string_view name, const Guid& vendor, uint32_t attributes, const AuthenticatedVariable& v,
                    const std::vector<crypto::Certificate>& trusted);

std::string dump_auth2(const AuthenticatedVariable& v);

}  // namespace bootseal::efivar
