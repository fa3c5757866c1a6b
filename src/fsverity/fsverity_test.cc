// Known-answer tests: values pinned from `fsverity digest` (fsverity-utils 1.5,
// Debian 12). If a change to these is intended, it is wrong: fs-verity digests
// are a kernel ABI.
#include "fsverity/fsverity.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "base/hex.h"
#include "crypto/sha_multi.h"
#include "par/pool.h"

namespace bootseal::fsverity {
namespace {

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>((i * 31 + 7) % 251);
  return b;
}

Params sha512_1k_salted() {
  Params p;
  p.alg = HashAlg::kSha512;
  p.block_size = 1024;
  p.salt = *from_hex("deadbeef");
  return p;
}

struct Kat {
  size_t size;
  const char* sha256_4k;
  const char* sha512_1k_salt;
};

// Sizes at block and tree-level boundaries: 128 blocks fill one sha256 hash
// block at 4 KiB (524288 bytes), 129 need a second level.
const Kat kKats[] = {
    {1, "f30ad420d7e839002c5bfec7fe47367c7cd3759445359f0c9ac78bac40d9108f",
     "a35bab2e1d44b102dc26c3864fb2e0e5e6644e5228d0b25b4d7bae62eaa9269dd1dc50588b43818ff0739b0abc888823dd137320b6004e0edda624f0e224d245"},
    {4095, "377b08a7e377c0e5028a148d510f48b04a9a020d86627efd69b36b9521aef339",
     "f79fd95415553ea376e61f142d52dec7f6820190e5540f8324a39d314c73a53b3ed0ff849ad65205a06c73c315661fea9519f0136aa03f58e2805060a1ca8e3f"},
    {4096, "c08bc67f36b96127139d2f5746831996f90fb2cfb4e3a58d920cbd75ffeedaf6",
     "a4401697c131f7243f2bd55968396f4e3ea2ae3180aac526b0c04b56f73fb21104bc7f3418ba96174042d8eae6a25658e9a3a006d2840063b14d442635a9e6df"},
    {4097, "a5250fbdd10ee3c2aeee355361e2c43971460e7cbe4cba426653c5597cdedbbf",
     "f7dca9de94f34be683d247df22afea12b517bf38edefb188dc8d78f276fceae8fa9e9f6b26f6b1f63d8a71522117bc854ea520fddfae98cadf69fc78fe418f2f"},
    {524288, "8a38141db113c14d06e0dd99960cea7c173c9bda9b7d2e45cac520428580455c",
     "708b84b3f1594d955c16804fabb5c1ec5f942a10a6712936f296c1d95590359215a163ecef7326f0da09d62aed8b56fdb9c927149dd6a17f57b211736b8aef9a"},
    {528384, "cfcf8eafaf37e3b27a8a04af646bb4d5efef6aff63b1eb7194769421e9d0b731",
     "1d6b54e0c3ec8869b272b218a2080d379c14d143fafeccb21eaf78ff31a12894f8f0480ff57c7809a3c87f4a964328a9c644d9446009b2607ea6da04b40388bd"},
    {1048577, "3c4e143b71cf35e04bf1089fc7b0e3ec6a2ed1270485d1de7d1bc631e485ce2e",
     "ef292b66b00c794c5997114870b91bb5b0c6cd1659b1d9f47d0b97f0480f6c17144c6f73cc7ee93ddbef3ed276f19a053a02895bacb62bbc08274638f871e770"},
};

TEST(FsVerity, EmptyFile) {
  EXPECT_EQ(to_hex(digest_buffer({}, Params{})),
            "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95");
  Params p;
  p.alg = HashAlg::kSha512;
  EXPECT_EQ(to_hex(digest_buffer({}, p)),
            "ccf9e5aea1c2a64efa2f2354a6024b90dffde6bbc017825045dce374474e13d10adb9dadcc6ca8e17a3c075fbd31336e8f266ae6fa93a6c3bed66f9e784e5abf");
}

TEST(FsVerity, HelloWorld) {
  // Also composefs-rs's test vector (vectors/composefs-rs/fsverity_hello_world).
  EXPECT_EQ(to_hex(digest_buffer(as_bytes("hello world"), Params{})),
            "1e2eaa4202d750a41174ee454970b92c1bc2f925b1e35076d8c7d5f56362ba64");
  Params p;
  p.alg = HashAlg::kSha512;
  EXPECT_EQ(to_hex(digest_buffer(as_bytes("hello world"), p)),
            "18430270729d162d4e469daca123ae61893db4b0583d8f7081e3bf4f92b88ba514e7982f10733fb6aa895195c5ae8fd2eb2c47a8be05513ce5a0c51a6f570409");
  p = Params{};
  p.block_size = 1024;
  p.salt = *from_hex("00112233");
  EXPECT_EQ(to_hex(digest_buffer(as_bytes("hello world"), p)),
            "56221a9d547b05f07dca0dbda90e1d563a7192a07951d536d3c77a4efb14fe27");
}

TEST(FsVerity, BoundaryKnownAnswers) {
  for (const Kat& k : kKats) {
    Bytes data = pattern(k.size);
    EXPECT_EQ(to_hex(digest_buffer(data, Params{})), k.sha256_4k) << "size " << k.size;
    EXPECT_EQ(to_hex(digest_buffer(data, sha512_1k_salted())), k.sha512_1k_salt) << "size " << k.size;
  }
}

TEST(FsVerity, StreamingInOddPiecesEqualsOneShot) {
  Bytes data = pattern(528384 + 17);
  StreamDigester d(Params{});
  size_t off = 0, step = 1;
  while (off < data.size()) {
    size_t n = std::min(step, data.size() - off);
    d.update(ByteSpan(data.data() + off, n));
    off += n;
    step = step * 3 + 1;
    if (step > 100000) step = 7;
  }
  EXPECT_EQ(d.finish(), digest_buffer(data, Params{}));
}

TEST(FsVerity, TreeLevelsAndRoot) {
  Bytes data = pattern(528384);  // 129 blocks -> 2 leaf-level blocks + 1 root block
  MerkleTree t = build_tree(data, Params{});
  ASSERT_EQ(t.levels.size(), 2u);
  EXPECT_EQ(t.levels[0].size(), 2u * 4096);
  EXPECT_EQ(t.levels[1].size(), 4096u);
  EXPECT_EQ(to_hex(t.digest), kKats[5].sha256_4k);
  EXPECT_EQ(t.serialized().size(), 3u * 4096);
  Bytes ser = t.serialized();
  EXPECT_EQ(Bytes(ser.begin(), ser.begin() + 4096), t.levels[1]);
  // The root hash is the hash of the root block.
  EXPECT_EQ(t.root_hash, crypto::digest(HashAlg::kSha256, t.levels[1]));
  // A single block is its own root: no tree levels at all.
  Bytes small = pattern(10);
  MerkleTree one = build_tree(small, Params{});
  EXPECT_TRUE(one.levels.empty());
  small.resize(4096, 0);
  EXPECT_EQ(one.root_hash, crypto::digest(HashAlg::kSha256, small));
}

TEST(FsVerity, DescriptorLayout) {
  Params p = sha512_1k_salted();
  Bytes root(64, 0xab);
  Bytes d = descriptor(p, 0x0102030405060708ull, root);
  ASSERT_EQ(d.size(), kDescriptorSize);
  EXPECT_EQ(d[0], 1);        // version
  EXPECT_EQ(d[1], 2);        // sha512
  EXPECT_EQ(d[2], 10);       // log2(1024)
  EXPECT_EQ(d[3], 4);        // salt size
  EXPECT_EQ(load_le<uint64_t>(d.data() + 8), 0x0102030405060708ull);
  EXPECT_EQ(d[16], 0xab);
  EXPECT_EQ(d[80], 0xde);    // salt
}

TEST(FsVerity, ParallelFileEqualsSerial) {
  char path[] = "/tmp/bootseal-fsverity-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  Bytes data = pattern(9 * 1024 * 1024 + 123);  // above the parallel threshold
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  par::set_threads(3);
  auto par_digest = digest_file(path, Params{});
  auto par512 = digest_file(path, sha512_1k_salted());
  par::set_threads(1);
  auto ser_digest = digest_file(path, Params{});
  par::set_threads(0);
  unlink(path);
  ASSERT_TRUE(par_digest.ok());
  EXPECT_EQ(*par_digest, *ser_digest);
  EXPECT_EQ(*par_digest, digest_buffer(data, Params{}));
  EXPECT_EQ(*par512, digest_buffer(data, sha512_1k_salted()));
}

// Every block size and salt length, with blocks hashed side by side
// (crypto/sha_multi.h, where the CPU has AVX-512) and by OpenSSL alone; the
// OpenSSL path is pinned by the known answers above.
TEST(FsVerity, MultiLaneEqualsOpenSsl) {
  if (!crypto::multi_lane_supported()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const Bytes salts[] = {{}, {0x00}, *from_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")};
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha512})
    for (uint32_t bs = kMinBlockSize; bs <= kMaxBlockSize; bs *= 2) {
      // 40 whole blocks (runs of 16 or 8 lanes and single blocks) and a tail;
      // at 1 KiB also enough for a second tree level hashed side by side.
      Bytes data = pattern(bs == 1024 ? 600 * 1024 + 5 : 40 * bs + 17);
      for (const Bytes& salt : salts) {
        Params p;
        p.alg = alg;
        p.block_size = bs;
        p.salt = salt;
        crypto::set_multi_lane_enabled(false);
        Bytes want = digest_buffer(data, p);
        MerkleTree want_tree = build_tree(data, p);
        crypto::set_multi_lane_enabled(true);
        const std::string what = fmt::format("{} bs {} salt {}", crypto::hash_name(alg), bs, to_hex(salt));
        EXPECT_EQ(to_hex(digest_buffer(data, p)), to_hex(want)) << what;
        MerkleTree tree = build_tree(data, p);
        EXPECT_EQ(tree.levels, want_tree.levels) << what;
        EXPECT_EQ(tree.digest, want) << what;
      }
    }
}

TEST(FsVerity, ParallelFileAllBlockSizes) {
  char path[] = "/tmp/bootseal-fsverity-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  Bytes data = pattern(5 * 1024 * 1024 + 4097);  // above the parallel threshold, 2 tasks
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  par::set_threads(2);
  for (bool multi : {false, true}) {
    crypto::set_multi_lane_enabled(multi);
    for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha512})
      for (uint32_t bs = kMinBlockSize; bs <= kMaxBlockSize; bs *= 4) {
        Params p;
        p.alg = alg;
        p.block_size = bs;
        p.salt = *from_hex("abcdef");
        auto got = digest_file(path, p);
        ASSERT_TRUE(got.ok()) << got.error().message();
        EXPECT_EQ(to_hex(*got), to_hex(digest_buffer(data, p)))
            << crypto::hash_name(alg) << " bs " << bs << " multi " << multi;
      }
  }
  crypto::set_multi_lane_enabled(true);
  par::set_threads(0);
  unlink(path);
}

// digest_files batches small files (their blocks hashed side by side across
// files), hashes medium ones alone and big ones in parallel: every size class,
// with a missing file in the middle that must not disturb the others.
TEST(FsVerity, DigestFilesMixedSizes) {
  char dir[] = "/tmp/bootseal-fsverity-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const size_t sizes[] = {0, 1, 1023, 1024, 4095, 4096, 4097, 65536, 65537, 262144, 262145, 600000, 5 * 1024 * 1024 + 1};
  std::vector<std::string> paths;
  std::vector<Bytes> contents;
  for (size_t k = 0; k < 200; k++) {
    size_t n = sizes[k % std::size(sizes)];
    if (n > 300000 && k >= std::size(sizes)) n = k;  // the big ones once
    Bytes data = pattern(n + k);
    data.resize(n);
    if (!data.empty()) data[0] = static_cast<uint8_t>(k);
    std::string path = std::string(dir) + "/f" + std::to_string(k);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(n));
    paths.push_back(path);
    contents.push_back(std::move(data));
    if (k == 77) {
      paths.push_back(std::string(dir) + "/missing");
      contents.emplace_back();
    }
  }
  par::set_threads(2);
  for (bool multi : {true, false}) {
    crypto::set_multi_lane_enabled(multi);
    for (Params p : {Params{}, sha512_1k_salted()}) {
      if (multi) p.salt = *from_hex("0011");
      p.block_size = multi ? 4096 : 1024;
      auto got = digest_files(paths, p);
      ASSERT_EQ(got.size(), paths.size());
      for (size_t i = 0; i < paths.size(); i++) {
        if (paths[i].ends_with("/missing")) {
          EXPECT_FALSE(got[i].ok());
          continue;
        }
        ASSERT_TRUE(got[i].ok()) << paths[i] << ": " << got[i].error().message();
        EXPECT_EQ(to_hex(*got[i]), to_hex(digest_buffer(contents[i], p))) << paths[i] << " multi " << multi;
      }
    }
  }
  crypto::set_multi_lane_enabled(true);
  par::set_threads(0);
  for (auto& path : paths) unlink(path.c_str());
  rmdir(dir);
}

TEST(FsVerity, RejectsBadParams) {
  Params p;
  p.block_size = 3000;
  EXPECT_FALSE(validate(p).ok());
  p.block_size = 512;
  EXPECT_FALSE(validate(p).ok());
  p.block_size = 131072;
  EXPECT_FALSE(validate(p).ok());
  p = Params{};
  p.salt = Bytes(33, 1);
  EXPECT_FALSE(validate(p).ok());
  p = Params{};
  p.alg = HashAlg::kSha1;
  EXPECT_FALSE(validate(p).ok());
  EXPECT_FALSE(digest_file("/nonexistent/file", Params{}).ok());
  auto dir = digest_file("/tmp", Params{});
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message().find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace bootseal::fsverity
