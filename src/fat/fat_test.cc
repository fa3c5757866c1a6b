// The FAT reader against filesystems made by the reference tools (mkfs.vfat
// from dosfstools, mcopy/mmd from mtools): FAT12, FAT16 and FAT32, long and
// short names, nested directories, multi-cluster files; then corrupted
// structures, which must be errors and never crashes.
#include "fat/fat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace bootseal::fat {
namespace {

namespace fs = std::filesystem;

Bytes read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

bool have_tools() { return std::system("command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null") == 0; }

Bytes pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

class FatImage : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!have_tools()) GTEST_SKIP() << "mkfs.vfat/mcopy not installed (tools/setup installs them)";
    dir_ = fs::temp_directory_path() / ("bootseal-fat-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "-" + std::to_string(GetParam()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    big_ = pattern(70000, 1);
    write_bytes(dir_ / "big.bin", big_);
    write_bytes(dir_ / "small.txt", Bytes{'h', 'i', '\n'});
    write_bytes(dir_ / "empty", Bytes{});
    int bits = GetParam();
    // Sizes giving the wanted FAT type at mkfs.vfat's default cluster sizes.
    std::string size_kib = bits == 12 ? "1024" : bits == 16 ? "16384" : "65536";
    std::string img = (dir_ / "fat.img").string();
    std::string sh = "cd '" + dir_.string() + "' && rm -f fat.img && mkfs.vfat -C -F " + std::to_string(bits) +
                     (bits == 32 ? " -s 1" : "") + " -n TESTVOL -i 12345678 fat.img " + size_kib +
                     " >/dev/null 2>&1 && export MTOOLS_SKIP_CHECK=1 && "
                     "mmd -i fat.img ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries && "
                     "mcopy -i fat.img big.bin ::/EFI/BOOT/BOOTX64.EFI && "
                     "mcopy -i fat.img small.txt ::/loader/entries/bootc_a-very-long-name-1.0.conf && "
                     "mcopy -i fat.img small.txt ::/loader/loader.conf && "
                     "mcopy -i fat.img empty ::/EMPTY && "
                     "mcopy -i fat.img small.txt ::/lower.txt";
    ASSERT_EQ(std::system(sh.c_str()), 0) << sh;
    image_ = read_bytes(img);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path dir_;
  Bytes image_, big_;
};

TEST_P(FatImage, ReadsWhatMtoolsWrote) {
  auto v = Volume::open(image_);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->fat_bits(), GetParam());
  EXPECT_EQ(v->label(), "TESTVOL");
  auto big = v->read_file("/EFI/BOOT/BOOTX64.EFI");
  ASSERT_TRUE(big) << big.error().message();
  EXPECT_EQ(*big, big_);
  auto big2 = v->read_file("efi/boot/bootx64.efi");  // case-insensitive, as firmware reads it
  ASSERT_TRUE(big2);
  EXPECT_EQ(*big2, big_);
  auto conf = v->read_file("/loader/entries/bootc_a-very-long-name-1.0.conf");
  ASSERT_TRUE(conf) << conf.error().message();
  EXPECT_EQ(*conf, (Bytes{'h', 'i', '\n'}));
  auto empty = v->read_file("/EMPTY");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto root = v->list("/");
  ASSERT_TRUE(root);
  std::vector<std::string> names;
  for (auto& e : *root) names.push_back(e.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "EFI"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "lower.txt"), names.end());
  auto entries = v->list("/loader/entries");
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "bootc_a-very-long-name-1.0.conf");
  auto missing = v->lookup("/loader/nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_FALSE(v->read_file("/loader/nope"));
  EXPECT_FALSE(v->read_file("/loader"));  // a directory
}

TEST_P(FatImage, TruncatedImageIsAnError) {
  ByteSpan half(image_.data(), image_.size() / 2);
  auto v = Volume::open(half);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("truncated"), std::string::npos) << v.error().message();
  EXPECT_FALSE(Volume::open(ByteSpan(image_.data(), 100)));
}

TEST_P(FatImage, CorruptedBpbFieldsAreErrors) {
  for (size_t off : {11u, 12u, 13u, 14u, 15u, 16u, 17u, 22u, 36u, 44u, 510u}) {
    Bytes b = image_;
    b[off] = 0;
    if (off == 12) b[11] = 0x03;  // 0x0300 bytes per sector: not a power of two
    auto v = Volume::open(b);
    if (v) {  // some zeroed fields leave a valid volume; reading it must still not crash
      (void)v->read_file("/EFI/BOOT/BOOTX64.EFI");
      (void)v->list("/loader/entries");
    }
  }
  Bytes b = image_;
  b[510] = 0;
  EXPECT_FALSE(Volume::open(b));
}

// Every FAT entry pointing to itself (loops), to 0 (free) or past the end: errors, no hang.
TEST_P(FatImage, CorruptedFatIsAnError) {
  auto v0 = Volume::open(image_);
  ASSERT_TRUE(v0);
  uint16_t reserved = load_le<uint16_t>(image_.data() + 14);
  uint16_t bps = load_le<uint16_t>(image_.data() + 11);
  size_t fat = size_t{reserved} * bps;
  for (int mode = 0; mode < 3; mode++) {
    Bytes b = image_;
    int bits = GetParam();
    for (uint32_t c = 2; c < 200; c++) {
      uint32_t val = mode == 0 ? c : mode == 1 ? 0 : 0x0FFFFFF0;
      if (bits == 32) {
        store_le<uint32_t>(b.data() + fat + 4 * c, val);
      } else if (bits == 16) {
        store_le<uint16_t>(b.data() + fat + 2 * c, static_cast<uint16_t>(val == 0x0FFFFFF0 ? 0xFFF0 : val));
      } else {
        size_t off = fat + c + c / 2;
        uint16_t cur = load_le<uint16_t>(b.data() + off);
        uint16_t v12 = static_cast<uint16_t>((val == 0x0FFFFFF0 ? 0xFF0 : val) & 0xFFF);
        cur = (c & 1) ? static_cast<uint16_t>((cur & 0x000F) | (v12 << 4)) : static_cast<uint16_t>((cur & 0xF000) | v12);
        store_le<uint16_t>(b.data() + off, cur);
      }
    }
    auto v = Volume::open(b);
    ASSERT_TRUE(v);
    auto r = v->read_file("/EFI/BOOT/BOOTX64.EFI");
    EXPECT_FALSE(r) << "mode " << mode;
  }
}

TEST_P(FatImage, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(7);
  // Structures are in the first 256 KiB; restore them after each round instead of copying the image.
  const size_t n = std::min<size_t>(image_.size(), 256 * 1024);
  Bytes b = image_;
  for (int i = 0; i < 200; i++) {
    std::copy_n(image_.begin(), n, b.begin());
    for (int k = 0; k < 16; k++) b[rng() % n] = static_cast<uint8_t>(rng());
    auto v = Volume::open(b);
    if (!v) continue;
    (void)v->read_file("/EFI/BOOT/BOOTX64.EFI");
    (void)v->list("/loader/entries");
    (void)v->list("/");
  }
}

INSTANTIATE_TEST_SUITE_P(Bits, FatImage, ::testing::Values(12, 16, 32));

TEST(FatDirectory, LongNameWithBadChecksumFallsBackToShortName) {
  Bytes raw(96, 0);
  // LFN entry "ab" (last, seq 1) with a wrong checksum, then the short entry "AB~1    TXT".
  raw[0] = 0x41;
  raw[1] = 'a';
  raw[3] = 'b';
  raw[5] = 0;
  for (int i : {7, 9, 14, 16, 18, 20, 22, 24, 28, 30}) raw[i] = raw[i + 1] = 0xFF;
  raw[11] = 0x0F;
  raw[13] = 0x00;  // wrong checksum
  std::string sn = "AB~1    TXT";
  std::copy(sn.begin(), sn.end(), raw.begin() + 32);
  auto d = parse_directory(raw);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].name, "AB~1.TXT");
}

}  // namespace
}  // namespace bootseal::fat
