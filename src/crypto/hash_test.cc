#include "crypto/hash.h"

#include <gtest/gtest.h>

#include "base/hex.h"

namespace bootseal::crypto {
namespace {

TEST(Hash, KnownAnswers) {
  EXPECT_EQ(to_hex(digest(HashAlg::kSha256, "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(digest(HashAlg::kSha1, "abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(to_hex(digest(HashAlg::kSha512, "")).substr(0, 16), "cf83e1357eefb8bd");
}

TEST(Hash, IncrementalEqualsOneShotAndResets) {
  Hasher h(HashAlg::kSha384);
  h.update("ab");
  h.update("c");
  Bytes a = h.finish();
  EXPECT_EQ(a, digest(HashAlg::kSha384, "abc"));
  h.update("abc");
  EXPECT_EQ(h.finish(), a);
  Hasher prefix(HashAlg::kSha384);
  prefix.update("ab");
  Hasher g(HashAlg::kSha384);
  g.copy_state_from(prefix);
  g.update("c");
  EXPECT_EQ(g.finish(), a);
}

TEST(Hash, Names) {
  EXPECT_EQ(*parse_hash_name("sha512"), HashAlg::kSha512);
  EXPECT_FALSE(parse_hash_name("md5").ok());
  EXPECT_EQ(block_size(HashAlg::kSha512), 128u);
}

}  // namespace
}  // namespace bootseal::crypto
