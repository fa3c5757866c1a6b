// SHA-256 and SHA-512 of many equal-length messages at once, one message per
// SIMD lane (AVX-512: 16 lanes of 32-bit words for SHA-256, 8 lanes of 64-bit
// words for SHA-512), for hashing fs-verity Merkle tree blocks: millions of
// independent blocks. OpenSSL hashes one message at a time, and the rounds of
// one message are a serial chain; side by side, a core does about twice the
// work (SHA-256 against SHA-NI) or more (SHA-512, which has no SHA-NI here).
//
// Every message is prefix || data: the prefix (a whole number of hash blocks,
// possibly empty: fs-verity's padded salt) is hashed once up front and its
// state shared by all lanes.
//
// The rounds follow FIPS 180-4 sections 6.2 and 6.4; the known-answer and
// OpenSSL comparison tests are in sha_multi_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::crypto {

// The CPU (and OS) support the multi-lane code: AVX-512F and BW.
bool multi_lane_supported();
// Whether callers should hash `alg` (sha256 or sha512) side by side:
// supported, measured once per algorithm (about 0.1 ms) to be faster than
// OpenSSL here, and not turned off by BOOTSEAL_SHA_MULTI=0 in the environment
// (for comparisons).
bool multi_lane_enabled(HashAlg alg);
// Tests and benchmarks: force off, or back on where supported (no calibration).
void set_multi_lane_enabled(bool on);

class Sha256Multi {
 public:
  static constexpr size_t kLanes = 16;
  static constexpr size_t kBlock = 64;  // SHA-256 message block
  static constexpr size_t kDigest = 32;

  // `prefix.size()` must be a multiple of kBlock. Only when multi_lane_supported().
  explicit Sha256Multi(ByteSpan prefix = {});
  // Hashes kLanes messages: message i is prefix || data[i * stride, i * stride + len).
  // `len` is a multiple of kBlock; stride * (kLanes - 1) < 2^31. Writes kLanes
  // digests to out, one after the other.
  void hash(const uint8_t* data, size_t stride, size_t len, uint8_t* out) const;

 private:
  uint32_t state_[8];
  uint64_t prefix_len_ = 0;
};

class Sha512Multi {
 public:
  static constexpr size_t kLanes = 8;
  static constexpr size_t kBlock = 128;  // SHA-512 message block
  static constexpr size_t kDigest = 64;

  explicit Sha512Multi(ByteSpan prefix = {});
  // As Sha256Multi::hash, with 8 lanes and 64-byte digests.
  void hash(const uint8_t* data, size_t stride, size_t len, uint8_t* out) const;

 private:
  uint64_t state_[8];
  uint64_t prefix_len_ = 0;
};

}  // namespace bootseal::crypto
