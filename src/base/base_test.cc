#include <gtest/gtest.h>

#include "base/arch.h"
#include "base/bytes.h"
#include "base/error.h"
#include "base/hex.h"

namespace bootseal {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return input_error("value {} is not positive", v);
  return v;
}
Result<int> doubled(int v) {
  int x = BS_TRY_CTX(parse_positive(v), "reading {}", "file.txt");
  return 2 * x;
}

TEST(Error, ContextChainReadsOutermostFirst) {
  auto r = doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "reading file.txt: value -1 is not positive");
  EXPECT_EQ(r.error().kind(), ErrorKind::kInput);
  EXPECT_EQ(*doubled(4), 8);
}

TEST(Error, FromErrnoNamesTheCall) {
  Error e = sys_error("open /x", ENOENT);
  EXPECT_EQ(e.message(), "open /x: No such file or directory");
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(sys_error("ioctl", ENOTTY).kind(), ErrorKind::kUnsupported);
}

TEST(Hex, RoundTripAndErrors) {
  Bytes b = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(to_hex(b), "00abff10");
  EXPECT_EQ(*from_hex("00ABff10"), b);
  EXPECT_FALSE(from_hex("abc").ok());
  auto bad = from_hex("zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("position 0"), std::string::npos);
  EXPECT_TRUE(is_hex("a0"));
  EXPECT_FALSE(is_hex(""));
  EXPECT_FALSE(is_hex("a0g"));
}

TEST(ByteReader, ChecksEveryRead) {
  Bytes b = {1, 0, 2, 0, 0, 0};
  ByteReader r(b);
  EXPECT_EQ(*r.u16(), 1);
  EXPECT_EQ(*r.u32(), 2u);
  auto past = r.u8("tail");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message().find("tail"), std::string::npos);
  EXPECT_FALSE(r.at(4, 3).ok());
  EXPECT_FALSE(r.at(UINT64_MAX, 2).ok());
  EXPECT_TRUE(r.at(4, 2).ok());
}

TEST(ByteWriter, LittleEndianAndPadding) {
  ByteWriter w;
  w.u32(0xd078629a);
  w.u8(7);
  w.pad_to(8);
  EXPECT_EQ(to_hex(w.buffer()), "9a6278d007000000");
  w.put_le_at<uint16_t>(4, 0x0102);
  EXPECT_EQ(to_hex(w.buffer()), "9a6278d002010000");
}

TEST(Checked, Overflow) {
  EXPECT_FALSE(checked_add<uint32_t>(0xffffffff, 1).has_value());
  EXPECT_EQ(*checked_mul<uint64_t>(3, 4), 12u);
  EXPECT_TRUE(in_bounds(0, 0, 0));
  EXPECT_FALSE(in_bounds(1, 0, 0));
}

TEST(Arch, NamesAndNumbers) {
  EXPECT_EQ(*parse_arch("aarch64"), Arch::kArm64);
  EXPECT_EQ(*parse_arch("arm64"), Arch::kArm64);
  EXPECT_EQ(*parse_arch("x86_64"), Arch::kX86_64);
  EXPECT_EQ(*parse_arch("amd64"), Arch::kX86_64);
  EXPECT_FALSE(parse_arch("riscv64").ok());
  EXPECT_EQ(arch_from_pe_machine(0xaa64), Arch::kArm64);
  EXPECT_EQ(arch_from_pe_machine(0x8664), Arch::kX86_64);
  EXPECT_FALSE(arch_from_pe_machine(0x14c).has_value());
  EXPECT_EQ(arch_from_elf_machine(183), Arch::kArm64);
  EXPECT_EQ(arch_info(Arch::kArm64).console, "ttyAMA0");
  EXPECT_EQ(arch_info(Arch::kArm64).root_type_guid, "b921b045-1df0-41c3-af44-4c6f280d3fae");
  EXPECT_EQ(*arch_from_oci("arm64", "v8"), Arch::kArm64);
  EXPECT_EQ(*arch_from_oci("arm64", ""), Arch::kArm64);
  EXPECT_FALSE(arch_from_oci("arm", "v7").ok());
  EXPECT_EQ(arch_from_oci("s390x", "").error().message(),
            "image architecture 's390x' is not supported (sealed images are amd64 or arm64)");
}

}  // namespace
}  // namespace bootseal

#include "base/text.h"

namespace bootseal {
namespace {

TEST(Text, Utf8Validity) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain ascii"));
  EXPECT_TRUE(is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_utf8("\xe2\x82"));          // truncated
}

TEST(Text, Latin1Fallback) {
  EXPECT_EQ(utf8_or_latin1("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(utf8_or_latin1("a\xff" "b"), "a\xc3\xbf" "b");
  EXPECT_EQ(utf8_or_latin1("\xe2\x82"), "\xc3\xa2\xc2\x82");
  EXPECT_TRUE(is_utf8(utf8_or_latin1("\x80\x81\xfe\xff\xc0\xaf")));
}

TEST(Text, Base64RoundTrip) {
  EXPECT_EQ(to_base64(""), "");
  EXPECT_EQ(to_base64("f"), "Zg==");
  EXPECT_EQ(to_base64("fo"), "Zm8=");
  EXPECT_EQ(to_base64("foo"), "Zm9v");
  EXPECT_EQ(to_base64("foob"), "Zm9vYg==");
  std::string all;
  for (int i = 0; i < 256; i++) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*from_base64(to_base64(all)), all);
  EXPECT_EQ(*from_base64("Zm9vYg=="), "foob");
  EXPECT_FALSE(from_base64("Zm9").ok());
  EXPECT_FALSE(from_base64("Zm=v").ok());
  EXPECT_FALSE(from_base64("Z!9v").ok());
}

}  // namespace
}  // namespace bootseal
