#include "crypto/xts.h"

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/hash.h"

namespace bootseal::crypto {
namespace {

// Golden: Python's `cryptography` (AES, modes.XTS(sector.to_bytes(16, 'little'))),
// key bytes 0..63, data i*7 mod 256, sectors 5 and 6 of 512 bytes.
TEST(Xts, Plain64MatchesAnotherImplementation) {
  Bytes key(64), data(1024);
  for (size_t i = 0; i < key.size(); i++) key[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 7);
  Bytes plain = data;
  ASSERT_TRUE(aes_xts_plain64(true, key, 5, 512, data).ok());
  EXPECT_EQ(to_hex(ByteSpan(data).first(32)), "35af686901a5cb6df9c180d99226dfef39241e48cd3d86560a8094e79936ea78");
  EXPECT_EQ(to_hex(digest(HashAlg::kSha256, data)), "ceba090544f7debfd72de00a357bb227501f769ac2657257a4458fef906a2bad");
  ASSERT_TRUE(aes_xts_plain64(false, key, 5, 512, data).ok());
  EXPECT_EQ(data, plain);
}

TEST(Xts, BadInput) {
  Bytes key(64, 1), data(100);
  EXPECT_FALSE(aes_xts_plain64(true, key, 0, 512, data).ok());  // partial sector
  Bytes k48(48);
  Bytes d512(512);
  EXPECT_FALSE(aes_xts_plain64(true, k48, 0, 512, d512).ok());
}

}  // namespace
}  // namespace bootseal::crypto
