// Regression: a file of at most one block has no Merkle tree; its root hash
// is the hash of that (zero-padded) block.
#include <gtest/gtest.h>

#include "base/hex.h"
#include "fsverity/fsverity.h"

namespace bootseal::fsverity {
namespace {

TEST(FsveritySingleBlock, HelloWorldVector) {
  Params p;
  EXPECT_EQ(to_hex(digest_buffer(as_bytes("hello world"), p)),
            "1e2eaa4202d750a41174ee454970b92c1bc2f925b1e35076d8c7d5f56362ba64");
  p.alg = HashAlg::kSha512;
  EXPECT_EQ(to_hex(digest_buffer(as_bytes("hello world"), p)),
            "18430270729d162d4e469daca123ae61893db4b0583d8f7081e3bf4f92b88ba514e7982f10733fb6aa895195c5ae8fd2eb2c47a8be05513ce5a0c51a6f570409");
  EXPECT_EQ(build_tree(as_bytes("hello world"), p).digest, digest_buffer(as_bytes("hello world"), p));
}

}  // namespace
}  // namespace bootseal::fsverity
