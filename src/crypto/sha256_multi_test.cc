#include "crypto/sha256_multi.h"

#include <gtest/gtest.h>

#include <random>

#include "base/hex.h"
#include "crypto/hash.h"

namespace bootseal::crypto {
namespace {

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Reference: OpenSSL over prefix || lane data.
Bytes reference(ByteSpan prefix, const uint8_t* data, size_t len) {
  Hasher h(HashAlg::kSha256);
  h.update(prefix);
  h.update(ByteSpan(data, len));
  return h.finish();
}

TEST(Sha256Multi, KnownAnswer) {
  if (!Sha256Multi::supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  // SHA-256 of 64 zero bytes (FIPS 180-4 padding adds a second block).
  Bytes zeros(Sha256Multi::kLanes * 64, 0);
  Bytes out(Sha256Multi::kLanes * 32);
  Sha256Multi().hash(zeros.data(), 64, 64, out.data());
  for (size_t i = 0; i < Sha256Multi::kLanes; i++)
    EXPECT_EQ(to_hex(ByteSpan(out.data() + i * 32, 32)),
              "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b");
}

TEST(Sha256Multi, MatchesOpenSslForEveryLane) {
  if (!Sha256Multi::supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  uint32_t seed = 1;
  for (size_t prefix_len : {0, 64, 128}) {
    Bytes prefix = random_bytes(prefix_len, seed++);
    Sha256Multi multi(prefix);
    // fs-verity block sizes, odd multiples of 64 (length words with high bits),
    // and strides wider than the messages (gaps between lanes are skipped).
    for (size_t len : {64, 128, 960, 1024, 4096, 8192, 65536}) {
      for (size_t gap : {0, 64, 4032}) {
        const size_t stride = len + gap;
        Bytes data = random_bytes(stride * Sha256Multi::kLanes, seed++);
        Bytes out(Sha256Multi::kLanes * 32);
        multi.hash(data.data(), stride, len, out.data());
        for (size_t i = 0; i < Sha256Multi::kLanes; i++)
          ASSERT_EQ(to_hex(ByteSpan(out.data() + i * 32, 32)), to_hex(reference(prefix, data.data() + i * stride, len)))
              << "prefix " << prefix_len << " len " << len << " stride " << stride << " lane " << i;
      }
    }
  }
}

TEST(Sha256Multi, LanesAreIndependent) {
  if (!Sha256Multi::supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  // One bit flipped in one lane changes that lane's digest only.
  Bytes data = random_bytes(Sha256Multi::kLanes * 4096, 99);
  Bytes before(Sha256Multi::kLanes * 32), after(Sha256Multi::kLanes * 32);
  Sha256Multi multi;
  multi.hash(data.data(), 4096, 4096, before.data());
  data[7 * 4096 + 4095] ^= 1;
  multi.hash(data.data(), 4096, 4096, after.data());
  for (size_t i = 0; i < Sha256Multi::kLanes; i++)
    EXPECT_EQ(std::equal(before.begin() + i * 32, before.begin() + i * 32 + 32, after.begin() + i * 32), i != 7) << i;
}

TEST(Sha256Multi, EnableSwitch) {
  Sha256Multi::set_enabled(false);
  EXPECT_FALSE(Sha256Multi::enabled());
  Sha256Multi::set_enabled(true);
  EXPECT_EQ(Sha256Multi::enabled(), Sha256Multi::supported());
}

}  // namespace
}  // namespace bootseal::crypto
