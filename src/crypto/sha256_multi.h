// SHA-256 of many equal-length messages at once, one message per SIMD lane
// (AVX-512: 16 lanes of 32-bit words), for hashing fs-verity Merkle tree
// blocks: millions of independent 4 KiB messages. On CPUs with AVX-512 this
// is about twice as fast per core as OpenSSL's single-message SHA-NI code,
// which cannot overlap the dependent rounds of one message.
//
// Every message is prefix || data: the prefix (a whole number of 64-byte
// SHA-256 blocks, possibly empty: fs-verity's padded salt) is hashed once up
// front and its state shared by all lanes.
//
// The rounds follow FIPS 180-4 section 6.2; the known-answer and OpenSSL
// comparison tests are in sha256_multi_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"

namespace bootseal::crypto {

class Sha256Multi {
 public:
  static constexpr size_t kLanes = 16;
  static constexpr size_t kBlock = 64;  // SHA-256 message block

  // The CPU (and OS) support the AVX-512 code: F and BW.
  static bool supported();
  // Whether callers should use it: supported, and measured once (about 0.1 ms)
  // to be faster than OpenSSL here. BOOTSEAL_SHA256_MULTI=0 in the
  // environment turns it off (for comparisons).
  static bool enabled();
  // Tests and benchmarks: force off, or back on where supported.
  static void set_enabled(bool on);

  // `prefix.size()` must be a multiple of kBlock. Only when supported().
  explicit Sha256Multi(ByteSpan prefix = {});

  // Hashes kLanes messages: message i is prefix || data[i * stride, i * stride + len).
  // `len` is a multiple of kBlock; stride * (kLanes - 1) < 2^31. Writes kLanes
  // 32-byte digests to out, one after the other.
  void hash(const uint8_t* data, size_t stride, size_t len, uint8_t* out) const;

 private:
  uint32_t state_[8];
  uint64_t prefix_len_ = 0;
};

}  // namespace bootseal::crypto
