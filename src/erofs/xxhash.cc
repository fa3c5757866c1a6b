#include "erofs/xxhash.h"

#include "base/bytes.h"

namespace bootseal::erofs {

namespace {
constexpr uint32_t kPrime1 = 0x9E3779B1u;
constexpr uint32_t kPrime2 = 0x85EBCA77u;
constexpr uint32_t kPrime3 = 0xC2B2AE3Du;
constexpr uint32_t kPrime4 = 0x27D4EB2Fu;
constexpr uint32_t kPrime5 = 0x165667B1u;

constexpr uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
constexpr uint32_t round(uint32_t acc, uint32_t lane) { return rotl(acc + lane * kPrime2, 13) * kPrime1; }
}  // namespace

uint32_t xxh32(const void* data, size_t len, uint32_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  const uint8_t* end = p + len;
  uint32_t acc;
  if (len >= 16) {
    // Four accumulators over 16-byte stripes.
    uint32_t a1 = seed + kPrime1 + kPrime2, a2 = seed + kPrime2, a3 = seed, a4 = seed - kPrime1;
    while (end - p >= 16) {
      a1 = round(a1, load_le<uint32_t>(p));
      a2 = round(a2, load_le<uint32_t>(p + 4));
      a3 = round(a3, load_le<uint32_t>(p + 8));
      a4 = round(a4, load_le<uint32_t>(p + 12));
      p += 16;
    }
    acc = rotl(a1, 1) + rotl(a2, 7) + rotl(a3, 12) + rotl(a4, 18);
  } else {
    acc = seed + kPrime5;
  }
  acc += static_cast<uint32_t>(len);
  for (; end - p >= 4; p += 4) acc = rotl(acc + load_le<uint32_t>(p) * kPrime3, 17) * kPrime4;
  for (; p < end; p++) acc = rotl(acc + *p * kPrime5, 11) * kPrime1;
  // Avalanche.
  acc ^= acc >> 15;
  acc *= kPrime2;
  acc ^= acc >> 13;
  acc *= kPrime3;
  acc ^= acc >> 16;
  return acc;
}

}  // namespace bootseal::erofs
