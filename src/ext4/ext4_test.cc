// The ext4 reader against filesystems made by mke2fs -d (the reference tool
// disk/ uses): lookups, listings, contents, symlinks, extents, the verity flag
// feature; then truncated and corrupted images, which must be errors.
#include "ext4/ext4.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace bootseal::ext4 {
namespace {

namespace fs = std::filesystem;

void write_bytes(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
Bytes read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

class Ext4Image : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v mke2fs >/dev/null || test -x /sbin/mke2fs") != 0) GTEST_SKIP() << "mke2fs missing";
    dir_ = fs::temp_directory_path() / ("bootseal-ext4-test-" + std::to_string(getpid_stub()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "src/composefs/objects/ab");
    std::mt19937 rng(3);
    big_.resize(300000);
    for (auto& x : big_) x = static_cast<uint8_t>(rng());
    write_bytes(dir_ / "src/composefs/objects/ab/cdef", big_);
    write_bytes(dir_ / "src/small", Bytes{'x', 'y'});
    fs::create_symlink("../../os/default/var", dir_ / "src/link");
    std::string sh = "cd '" + dir_.string() +
                     "' && PATH=$PATH:/sbin:/usr/sbin mke2fs -q -F -t ext4 -b 4096 -O verity -L testroot -E offset=1048576 -d src "
                     "img 8M >/dev/null 2>&1";
    ASSERT_EQ(std::system(sh.c_str()), 0) << sh;
    img_ = (dir_ / "img").string();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  static int getpid_stub() { return static_cast<int>(std::random_device{}() & 0xFFFFFF); }
  fs::path dir_;
  std::string img_;
  Bytes big_;
};

TEST_F(Ext4Image, ReadsWhatMke2fsWrote) {
  auto v = Volume::open(img_, 1048576);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ((*v)->label(), "testroot");
  EXPECT_TRUE((*v)->has_verity_feature());
  EXPECT_EQ((*v)->block_size(), 4096u);
  auto st = (*v)->stat("/composefs/objects/ab/cdef");
  ASSERT_TRUE(st);
  ASSERT_TRUE(*st);
  EXPECT_TRUE((*st)->is_reg());
  EXPECT_EQ((*st)->size, big_.size());
  EXPECT_FALSE((*st)->verity);
  auto data = (*v)->read("/composefs/objects/ab/cdef");
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, big_);
  // Extents address the same bytes in the image file.
  auto ex = (*v)->extents((*st)->ino);
  ASSERT_TRUE(ex) << ex.error().message();
  Bytes whole = read_bytes(img_);
  Bytes via(big_.size(), 0);
  for (auto& e : *ex) {
    ASSERT_LE(1048576 + e.physical + e.length, whole.size());
    std::copy_n(whole.begin() + static_cast<std::ptrdiff_t>(1048576 + e.physical), e.length,
                via.begin() + static_cast<std::ptrdiff_t>(e.logical));
  }
  EXPECT_EQ(via, big_);
  auto link = (*v)->readlink("/link");
  ASSERT_TRUE(link);
  EXPECT_EQ(*link, "../../os/default/var");
  auto ls = (*v)->list("/composefs/objects");
  ASSERT_TRUE(ls);
  ASSERT_EQ(ls->size(), 1u);
  EXPECT_EQ((*ls)[0].name, "ab");
  auto none = (*v)->stat("/nope/x");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_FALSE((*v)->read("/composefs"));
}

TEST_F(Ext4Image, BadInputIsAnError) {
  EXPECT_FALSE(Volume::open(img_, 0));  // no superblock there
  // Truncated: the superblock is there but the block groups are not.
  Bytes whole = read_bytes(img_);
  Bytes cut(whole.begin(), whole.begin() + 1048576 + 2048);
  write_bytes(dir_ / "cut", cut);
  auto t = Volume::open((dir_ / "cut").string(), 1048576);
  if (t) (void)(*t)->read("/small");
  // Corrupted superblock magic.
  Bytes bad = whole;
  bad[1048576 + 1024 + 0x38] ^= 0xFF;
  write_bytes(dir_ / "bad", bad);
  auto b = Volume::open((dir_ / "bad").string(), 1048576);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("superblock"), std::string::npos) << b.error().message();
  // The group descriptor table (block 1 with 4 KiB blocks) zeroed: open names it.
  Bytes gd = whole;
  std::fill_n(gd.begin() + 1048576 + 4096, 4096, 0);
  write_bytes(dir_ / "gd", gd);
  auto g = Volume::open((dir_ / "gd").string(), 1048576);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message().find("group descriptor"), std::string::npos) << g.error().message();
}

}  // namespace
}  // namespace bootseal::ext4
