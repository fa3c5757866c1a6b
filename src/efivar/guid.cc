#include "efivar/guid.h"

#include "base/hex.h"

namespace bootseal::efivar {

namespace {
constexpr Guid make(uint32_t d1, uint16_t d2, uint16_t d3, std::array<uint8_t, 8> d4) {
  Guid g;
  for (int i = 0; i < 4; i++) g.bytes[i] = static_cast<uint8_t>(d1 >> (8 * i));
  for (int i = 0; i < 2; i++) g.bytes[4 + i] = static_cast<uint8_t>(d2 >> (8 * i));
  for (int i = 0; i < 2; i++) g.bytes[6 + i] = static_cast<uint8_t>(d3 >> (8 * i));
  for (int i = 0; i < 8; i++) g.bytes[8 + i] = d4[i];
  return g;
}
}  // namespace

const Guid kEfiGlobalVariable = make(0x8be4df61, 0x93ca, 0x11d2, {0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c});
const Guid kEfiImageSecurityDatabase =
    make(0xd719b2cb, 0x3d3a, 0x4596, {0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f});
const Guid kEfiCertX509 = make(0xa5c059a1, 0x94e4, 0x4aa7, {0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72});
const Guid kEfiCertSha256 = make(0xc1c41626, 0x504c, 0x4092, {0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28});
const Guid kEfiCertTypePkcs7 = make(0x4aafd29d, 0x68df, 0x49ee, {0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7});

std::string Guid::to_string() const {
  const uint8_t* b = bytes.data();
  return fmt::format("{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", load_le<uint32_t>(b),
                     load_le<uint16_t>(b + 4), load_le<uint16_t>(b + 6), b[8], b[9], b[10], b[11], b[12], b[13],
                     b[14], b[15]);
}

Guid Guid::from_bytes(ByteSpan b16) {
  Guid g;
  for (size_t i = 0; i < kGuidSize && i < b16.size(); i++) g.bytes[i] = b16[i];
  return g;
}

bool Guid::is_zero() const {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

Result<Guid> Guid::parse(std::string_view text) {
  // 8-4-4-4-12 hex digits.
  static constexpr size_t kDashes[] = {8, 13, 18, 23};
  if (text.size() != 36) return input_error("invalid GUID '{}' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", text);
  std::string hexdigits;
  for (size_t i = 0; i < text.size(); i++) {
    bool dash = i == kDashes[0] || i == kDashes[1] || i == kDashes[2] || i == kDashes[3];
    if (dash != (text[i] == '-'))
      return input_error("invalid GUID '{}' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", text);
    if (!dash) hexdigits += text[i];
  }
  Bytes raw = BS_TRY_CTX(from_hex(hexdigits), "invalid GUID '{}'", text);
  // Text order is big-endian for the first three fields.
  Guid g;
  g.bytes = {raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6],
             raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]};
  return g;
}

}  // namespace bootseal::efivar
