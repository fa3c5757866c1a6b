#include "efivar/auth.h"

#include <ctime>

namespace bootseal::efivar {

EfiTime EfiTime::from_unix(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  EfiTime e;
  e.Year = static_cast<uint16_t>(tm.tm_year + 1900);
  e.Month = static_cast<uint8_t>(tm.tm_mon + 1);
  e.Day = static_cast<uint8_t>(tm.tm_mday);
  e.Hour = static_cast<uint8_t>(tm.tm_hour);
  e.Minute = static_cast<uint8_t>(tm.tm_min);
  e.Second = static_cast<uint8_t>(tm.tm_sec);
  return e;
}

Result<EfiTime> EfiTime::parse(std::string_view text) {
  unsigned y, mo, d, h, mi, s;
  char tail;
  std::string str(text);
  if (std::sscanf(str.c_str(), "%u-%u-%u %u:%u:%u%c", &y, &mo, &d, &h, &mi, &s, &tail) != 6 || y < 1900 ||
      y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
    return input_error("invalid timestamp '{}' (expected YYYY-MM-DD HH:MM:SS)", text);
  EfiTime e;
  e.Year = static_cast<uint16_t>(y);
  e.Month = static_cast<uint8_t>(mo);
  e.Day = static_cast<uint8_t>(d);
  e.Hour = static_cast<uint8_t>(h);
  e.Minute = static_cast<uint8_t>(mi);
  e.Second = static_cast<uint8_t>(s);
  return e;
}

std::string EfiTime::to_string() const {
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", Year, Month, Day, Hour, Minute, Second);
}

Bytes EfiTime::encode() const {
  ByteWriter w;
  w.u16(Year);
  w.u8(Month);
  w.u8(Day);
  w.u8(Hour);
  w.u8(Minute);
  w.u8(Second);
  w.u8(Pad1);
  w.u32(Nanosecond);
  w.u16(static_cast<uint16_t>(TimeZone));
  w.u8(Daylight);
  w.u8(Pad2);
  return w.take();
}

Result<EfiTime> EfiTime::decode(ByteSpan b) {
  ByteReader r(b);
  EfiTime e;
  e.Year = BS_TRY(r.u16("EFI_TIME.Year"));
  e.Month = BS_TRY(r.u8("EFI_TIME.Month"));
  e.Day = BS_TRY(r.u8("EFI_TIME.Day"));
  e.Hour = BS_TRY(r.u8("EFI_TIME.Hour"));
  e.Minute = BS_TRY(r.u8("EFI_TIME.Minute"));
  e.Second = BS_TRY(r.u8("EFI_TIME.Second"));
  e.Pad1 = BS_TRY(r.u8("EFI_TIME.Pad1"));
  e.Nanosecond = BS_TRY(r.u32("EFI_TIME.Nanosecond"));
  e.TimeZone = static_cast<int16_t>(BS_TRY(r.u16("EFI_TIME.TimeZone")));
  e.Daylight = BS_TRY(r.u8("EFI_TIME.Daylight"));
  e.Pad2 = BS_TRY(r.u8("EFI_TIME.Pad2"));
  return e;
}

Result<Guid> secure_boot_vendor_guid(std::string_view name) {
  if (name == "PK" || name == "KEK") return kEfiGlobalVariable;
  if (name == "db" || name == "dbx" || name == "dbt" || name == "dbr") return kEfiImageSecurityDatabase;
  return input_error("'{}' is not a Secure Boot variable (PK, KEK, db, dbx, dbt, dbr)", name);
}

Bytes signed_payload(std::string_view name, const Guid& vendor, uint32_t attributes, const EfiTime& time,
                     ByteSpan data) {
  ByteWriter w;
  for (char c : name) w.u16(static_cast<uint8_t>(c));  // names are ASCII
  w.bytes(vendor.bytes);
  w.u32(attributes);
  w.bytes(time.encode());
  w.bytes(data);
  return w.take();
}

Result<AuthenticatedVariable> parse_auth2(ByteSpan file) {
  ByteReader r(file);
  AuthenticatedVariable v;
  v.TimeStamp = BS_TRY(EfiTime::decode(BS_TRY(r.bytes(kEfiTimeSize, "EFI_VARIABLE_AUTHENTICATION_2.TimeStamp"))));
  const EfiTime& t = v.TimeStamp;
  if (t.Pad1 || t.Nanosecond || t.TimeZone || t.Daylight || t.Pad2)
    return input_error("TimeStamp: Pad1, Nanosecond, TimeZone, Daylight and Pad2 must be zero");
  v.dwLength = BS_TRY(r.u32("WIN_CERTIFICATE.dwLength"));
  uint16_t revision = BS_TRY(r.u16("WIN_CERTIFICATE.wRevision"));
  uint16_t type = BS_TRY(r.u16("WIN_CERTIFICATE.wCertificateType"));
  if (revision != kWinCertRevision) return input_error("WIN_CERTIFICATE.wRevision is 0x{:04x}, expected 0x0200", revision);
  if (type != kWinCertTypeEfiGuid)
    return input_error("WIN_CERTIFICATE.wCertificateType is 0x{:04x}, expected WIN_CERT_TYPE_EFI_GUID (0x0ef1)", type);
  if (v.dwLength < kWinCertificateUefiGuidHeaderSize || v.dwLength > file.size() - kEfiTimeSize)
    return input_error("WIN_CERTIFICATE.dwLength {} is outside the file ({} bytes after the timestamp)", v.dwLength,
                       file.size() - kEfiTimeSize);
  v.CertType = Guid::from_bytes(BS_TRY(r.bytes(kGuidSize, "WIN_CERTIFICATE_UEFI_GUID.CertType")));
  if (v.CertType != kEfiCertTypePkcs7)
    return input_error("CertType is {}, expected EFI_CERT_TYPE_PKCS7_GUID", v.CertType.to_string());
  ByteSpan cert = BS_TRY(r.bytes(v.dwLength - kWinCertificateUefiGuidHeaderSize, "CertData"));
  v.CertData.assign(cert.begin(), cert.end());
  ByteSpan rest = BS_TRY(r.bytes(r.remaining(), "data"));
  v.Data.assign(rest.begin(), rest.end());
  return v;
}

Bytes write_auth2(const EfiTime& time, ByteSpan pkcs7_der, ByteSpan data) {
  ByteWriter w;
  w.bytes(time.encode());
  w.u32(static_cast<uint32_t>(kWinCertificateUefiGuidHeaderSize + pkcs7_der.size()));
  w.u16(kWinCertRevision);
  w.u16(kWinCertTypeEfiGuid);
  w.bytes(kEfiCertTypePkcs7.bytes);
  w.bytes(pkcs7_der);
  w.bytes(data);
  return w.take();
}

Result<Bytes> make_auth2(std::string_view name, const Guid& vendor, uint32_t attributes, const EfiTime& time,
                         ByteSpan data, const crypto::Signer& signer, const crypto::Certificate& cert) {
  Bytes payload = signed_payload(name, vendor, attributes, time, data);
  crypto::Pkcs7SignOptions o;
  o.signed_attributes = false;  // PKCS7_NOATTR, as sign-efi-sig-list
  Bytes p7 = BS_TRY_CTX(crypto::pkcs7_sign_detached(payload, signer, cert, o), "signing {}", name);
  // CertData is the bare SignedData (UEFI spec 8.2.2; efitools writes it so).
  Bytes signed_data = BS_TRY(crypto::pkcs7_strip_content_info(p7));
  return write_auth2(time, signed_data, data);
}

Status verify_auth2(std::string_view name, const Guid& vendor, uint32_t attributes, const AuthenticatedVariable& v,
                    const std::vector<crypto::Certificate>& trusted) {
  Bytes payload = signed_payload(name, vendor, attributes, v.TimeStamp, v.Data);
  return crypto::pkcs7_verify(v.CertData, payload, trusted);
}

std::string dump_auth2(const AuthenticatedVariable& v) {
  std::string out;
  out += fmt::format("0 TimeStamp = {}\n", v.TimeStamp.to_string());
  out += fmt::format("16 AuthInfo.Hdr.dwLength = {}\n", v.dwLength);
  out += fmt::format("20 AuthInfo.Hdr.wRevision = 0x{:04x}\n", kWinCertRevision);
  out += fmt::format("22 AuthInfo.Hdr.wCertificateType = 0x{:04x}\n", kWinCertTypeEfiGuid);
  out += fmt::format("24 AuthInfo.CertType = {}\n", v.CertType.to_string());
  out += fmt::format("40 AuthInfo.CertData = {} bytes\n", v.CertData.size());
  out += fmt::format("{} Data = {} bytes\n", kEfiTimeSize + v.dwLength, v.Data.size());
  return out;
}

}  // namespace bootseal::efivar
