#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/hash.h"
#include "tpm2/luks2.h"
#include "tpm2/token.h"

namespace bootseal::tpm2 {
namespace {

Bytes sample() {
  std::ifstream f(std::filesystem::path(BOOTSEAL_VECTORS_DIR) / "tpm2" / "luks2-header-tpm2.bin", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return Bytes(s.begin(), s.end());
}

TEST(Luks2Header, CryptsetupSample) {
  Bytes d = sample();
  ASSERT_EQ(d.size(), 32768u);
  ASSERT_TRUE(has_luks_magic(d));
  auto h = parse_luks2_header(d);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->uuid, "6c2a3f41-5d0e-4f7b-9a51-0e3c8b1d2f60");
  EXPECT_EQ(h->label, "bootseal-test");
  EXPECT_EQ(h->checksum_alg, "sha256");
  EXPECT_EQ(h->hdr_size, 16384u);
  EXPECT_TRUE(h->primary);
  EXPECT_EQ(h->damaged, "");
  ASSERT_EQ(h->keyslots.size(), 2u);
  EXPECT_EQ(h->keyslots.at(0).kdf, "pbkdf2");
  EXPECT_EQ(h->keyslots.at(1).type, "luks2");
  ASSERT_EQ(h->tokens.size(), 1u);
  auto t = parse_tpm2_token(h->tokens.at(0));
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->keyslots, std::vector<int>{1});
  EXPECT_EQ(t->pcrs, std::vector<unsigned>{7});
}

TEST(Luks2Header, DamagedPrimaryFallsBackToSecondary) {
  Bytes d = sample();
  d[4096 + 10] ^= 1;  // the primary's JSON area
  auto h = parse_luks2_header(d);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_FALSE(h->primary);
  EXPECT_NE(h->damaged.find("primary header: sha256 checksum mismatch"), std::string::npos) << h->damaged;
  EXPECT_EQ(h->tokens.size(), 1u);
}

TEST(Luks2Header, BothDamagedNamesBoth) {
  Bytes d = sample();
  d[4096 + 10] ^= 1;
  d[16384 + 4096 + 10] ^= 1;
  auto h = parse_luks2_header(d);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("primary header: sha256 checksum mismatch"), std::string::npos);
  EXPECT_NE(h.error().message().find("secondary header: sha256 checksum mismatch"), std::string::npos);
}

TEST(Luks2Header, TruncatedAndNotLuks) {
  Bytes d = sample();
  for (size_t n : {0u, 5u, 100u, 4096u, 10000u}) {
    auto h = parse_luks2_header(ByteSpan(d).subspan(0, n));
    EXPECT_FALSE(h.ok()) << n;
  }
  // Only the primary copy: still readable, the secondary reported missing.
  auto one = parse_luks2_header(ByteSpan(d).subspan(0, 16384));
  ASSERT_TRUE(one.ok()) << one.error().message();
  EXPECT_NE(one->damaged.find("secondary"), std::string::npos);
  Bytes z(32768, 0);
  EXPECT_FALSE(parse_luks2_header(z).ok());
  Bytes v1 = d;
  v1[7] = 1;  // version 1 in the primary
  auto h1 = parse_luks2_header(v1);
  ASSERT_TRUE(h1.ok());  // the secondary is still good
  EXPECT_FALSE(h1->primary);
}

// A header built here: JSON with a bad keyslot id is refused with the structure named.
TEST(Luks2Header, BadJsonNamed) {
  Bytes d(16384, 0);
  const uint8_t magic[6] = {'L', 'U', 'K', 'S', 0xBA, 0xBE};
  std::memcpy(d.data(), magic, 6);
  d[7] = 2;
  d[8 + 6] = 0x40;  // hdr_size 16384, big-endian
  std::memcpy(d.data() + 72, "sha256", 6);
  std::string json = R"({"keyslots":{"x":{}},"tokens":{}})";
  std::memcpy(d.data() + 4096, json.data(), json.size());
  Bytes sum = crypto::digest(crypto::HashAlg::kSha256, d);
  std::memcpy(d.data() + 448, sum.data(), sum.size());
  auto h = parse_luks2_header(d);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("bad keyslot id 'x'"), std::string::npos) << h.error().message();
}

}  // namespace
}  // namespace bootseal::tpm2
