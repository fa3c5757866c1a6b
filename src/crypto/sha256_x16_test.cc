#include "crypto/sha256_x16.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"

namespace bootseal::crypto {
namespace {

TEST(Sha256X16, MatchesSingleStream) {
  if (!sha256_x16_available()) GTEST_SKIP() << "no AVX-512 on this CPU";
  // Contiguous blocks and a wider stride; varied content including all-zero
  // and all-0xff blocks.
  for (size_t stride : {kSha256X16BlockSize, kSha256X16BlockSize + 64, 3 * kSha256X16BlockSize}) {
    Bytes buf(stride * kSha256X16Lanes);
    uint32_t x = 2463534242u;
    for (auto& b : buf) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      b = static_cast<uint8_t>(x);
    }
    std::fill(buf.begin(), buf.begin() + kSha256X16BlockSize, 0);
    std::fill(buf.begin() + static_cast<ptrdiff_t>(stride), buf.begin() + static_cast<ptrdiff_t>(stride + kSha256X16BlockSize), 0xff);
    uint8_t out[32 * kSha256X16Lanes];
    sha256_x16_4k(buf.data(), stride, out);
    for (size_t i = 0; i < kSha256X16Lanes; i++) {
      Bytes want = digest(HashAlg::kSha256, ByteSpan(buf.data() + i * stride, kSha256X16BlockSize));
      EXPECT_EQ(Bytes(out + 32 * i, out + 32 * i + 32), want) << "stride " << stride << " lane " << i;
    }
  }
}

}  // namespace
}  // namespace bootseal::crypto
