#include "crypto/sha_multi.h"

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
Bytes reference(HashAlg alg, ByteSpan prefix, const uint8_t* data, size_t len) {
  Hasher h(alg);
  h.update(prefix);
  h.update(ByteSpan(data, len));
  return h.finish();
}

template <typename Multi>
void check_against_openssl(HashAlg alg) {
  uint32_t seed = 1;
  for (size_t prefix_len : {size_t{0}, Multi::kBlock, 2 * Multi::kBlock}) {
    Bytes prefix = random_bytes(prefix_len, seed++);
    Multi multi(prefix);
    // fs-verity block sizes, other multiples of the hash block, and strides
    // wider than the messages (gaps between lanes are skipped).
    for (size_t len : {size_t{128}, size_t{256}, size_t{1920}, size_t{1024}, size_t{4096}, size_t{8192}, size_t{65536}}) {
      for (size_t gap : {size_t{0}, size_t{128}, size_t{3968}}) {
        const size_t stride = len + gap;
        Bytes data = random_bytes(stride * Multi::kLanes, seed++);
        Bytes out(Multi::kLanes * Multi::kDigest);
        multi.hash(data.data(), stride, len, out.data());
        for (size_t i = 0; i < Multi::kLanes; i++)
          ASSERT_EQ(to_hex(ByteSpan(out.data() + i * Multi::kDigest, Multi::kDigest)),
                    to_hex(reference(alg, prefix, data.data() + i * stride, len)))
              << hash_name(alg) << " prefix " << prefix_len << " len " << len << " stride " << stride << " lane " << i;
      }
    }
  }
}

TEST(ShaMulti, KnownAnswers) {
  if (!multi_lane_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  // SHA-256 of 64 zero bytes, SHA-512 of 128 zero bytes (the FIPS 180-4
  // padding adds a second block).
  Bytes zeros(16 * 128, 0);
  Bytes out(16 * 64);
  Sha256Multi().hash(zeros.data(), 64, 64, out.data());
  for (size_t i = 0; i < Sha256Multi::kLanes; i++)
    EXPECT_EQ(to_hex(ByteSpan(out.data() + i * 32, 32)),
              "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b");
  Sha512Multi().hash(zeros.data(), 128, 128, out.data());
  for (size_t i = 0; i < Sha512Multi::kLanes; i++)
    EXPECT_EQ(to_hex(ByteSpan(out.data() + i * 64, 64)),
              "ab942f526272e456ed68a979f50202905ca903a141ed98443567b11ef0bf25a552d639051a01be58558122c58e3de07d749ee59ded36acf0c55cd91924d6ba11");
}

TEST(ShaMulti, Sha256MatchesOpenSslForEveryLane) {
  if (!multi_lane_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  check_against_openssl<Sha256Multi>(HashAlg::kSha256);
}

TEST(ShaMulti, Sha512MatchesOpenSslForEveryLane) {
  if (!multi_lane_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  check_against_openssl<Sha512Multi>(HashAlg::kSha512);
}

TEST(ShaMulti, LanesAreIndependent) {
  if (!multi_lane_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
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

TEST(ShaMulti, EnableSwitch) {
  set_multi_lane_enabled(false);
  EXPECT_FALSE(multi_lane_enabled(HashAlg::kSha256));
  EXPECT_FALSE(multi_lane_enabled(HashAlg::kSha512));
  set_multi_lane_enabled(true);
  EXPECT_EQ(multi_lane_enabled(HashAlg::kSha256), multi_lane_supported());
  EXPECT_EQ(multi_lane_enabled(HashAlg::kSha512), multi_lane_supported());
  EXPECT_FALSE(multi_lane_enabled(HashAlg::kSha1));
}

}  // namespace
}  // namespace bootseal::crypto
