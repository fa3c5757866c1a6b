#include "uki/uki.h"

#include <gtest/gtest.h>

#include "pe/testing.h"

namespace bootseal::uki {
namespace {

TEST(Sbat, MergeLikeUkify) {
  std::string stub = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"
                     "systemd,1,The systemd Developers,systemd,254,https://systemd.io/\n";
  std::vector<std::string> warnings;
  std::string m = merge_sbat({stub}, {std::string(kUkiSbat), "not sbat\nx,1\n"}, &warnings);
  EXPECT_EQ(m, std::string(kSbatHeader) +
                   "\nsystemd,1,The systemd Developers,systemd,254,https://systemd.io/\n"
                   "uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n" +
                   std::string(1, '\0'));
  EXPECT_EQ(warnings.size(), 1u);
  // Nothing to merge: header, an empty join, newline, NUL.
  EXPECT_EQ(merge_sbat({}, {}), std::string(kSbatHeader) + "\n\n" + std::string(1, '\0'));
}

TEST(Uname, BzImageHeader) {
  Bytes k(0x1000, 0);
  std::memcpy(k.data() + 0x202, "HdrS", 4);
  store_le<uint16_t>(k.data() + 0x20E, 0x300);  // version at 0x500
  std::string v = "6.12.95+deb12-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC";
  std::memcpy(k.data() + 0x500, v.data(), v.size());
  auto u = kernel_uname(k);
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(*u, "6.12.95+deb12-amd64");
}

TEST(Uname, FallbackAndFailure) {
  std::string img = std::string(100, 'x') + "Linux version 6.1.0-13-amd64 (builder) #1";
  auto u = kernel_uname(as_bytes(img));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(*u, "6.1.0-13-amd64");
  EXPECT_FALSE(kernel_uname(Bytes(10, 0)).ok());
  Bytes k(0x600, 0);
  std::memcpy(k.data() + 0x202, "HdrS", 4);
  store_le<uint16_t>(k.data() + 0x20E, 0xffff);  // points past the end
  EXPECT_FALSE(kernel_uname(k).ok());
}

TEST(Initrd, JoinPadsEachToFourBytes) {
  Bytes a{1, 2, 3}, b{4, 5, 6, 7, 8};
  EXPECT_EQ(join_initrds({a}), a);  // one initrd: unchanged
  EXPECT_EQ(join_initrds({a, b}), (Bytes{1, 2, 3, 0, 4, 5, 6, 7, 8, 0, 0, 0}));
}

TEST(Assemble, SectionsAndInspect) {
  Bytes stub = pe::testing::tiny_pe();
  std::vector<NamedSection> secs = {
      {".linux", Content::own(Bytes(100, 0x90))},
      {".cmdline", Content::own(std::string_view("console=ttyS0 composefs=abcdef01"))},
      {".osrel", Content::own(std::string_view("ID=x\nNAME=\"X OS\"\n"))},
      {".uname", Content::own(std::string_view("6.1"))},
  };
  {
    std::vector<NamedSection> t = secs;
    t.push_back(NamedSection{".sbat", Content::own(std::string_view("sbat,1\n"))});
    t.insert(t.begin(), NamedSection{".extra", Content::own(std::string_view("x"))});
    sort_ukify_order(t);
    EXPECT_EQ(t[3].name, ".linux");
    EXPECT_EQ(t[4].name, ".extra");
    EXPECT_EQ(t[5].name, ".sbat");
  }
  sort_ukify_order(secs);
  EXPECT_EQ(secs[0].name, ".osrel");
  EXPECT_EQ(secs[3].name, ".linux");
  auto out = assemble(stub, secs);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto r = inspect(*out);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->is_uki);
  EXPECT_EQ(r->cmdline, "console=ttyS0 composefs=abcdef01");
  EXPECT_EQ(r->composefs_digest, "abcdef01");
  EXPECT_EQ(r->uname, "6.1");
  ASSERT_EQ(r->os_release.size(), 2u);
  EXPECT_EQ(r->os_release[1].second, "X OS");
  EXPECT_FALSE(r->signed_);
  EXPECT_TRUE(r->checksum_ok);
  ASSERT_EQ(r->sections.size(), 6u);
  EXPECT_EQ(r->sections[2].name, ".osrel");
  EXPECT_EQ(r->sections[5].name, ".linux");
  auto img = pe::parse(*out);
  // .linux is code; the tiny "kernel" is not a PE, so NX_COMPAT stays.
  EXPECT_EQ(img->sections[5].Characteristics, pe::kScnMemRead | pe::kScnCntCode);
  EXPECT_EQ(img->sections[2].Characteristics, pe::kScnMemRead | pe::kScnCntInitializedData);
  EXPECT_TRUE(img->DllCharacteristics & pe::kDllNxCompat);
}

TEST(Assemble, NxCompatFollowsTheKernel) {
  Bytes stub = pe::testing::tiny_pe();
  Bytes kernel = pe::testing::tiny_pe();
  store_le<uint16_t>(kernel.data() + 0x40 + 24 + 70, 0);  // kernel without NX_COMPAT
  auto out = assemble(stub, {{".linux", Content::view(kernel)}});
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(pe::parse(*out)->DllCharacteristics & pe::kDllNxCompat);
}

TEST(Assemble, ExistingSectionReplacedInPlaceOrRefused) {
  Bytes stub = pe::testing::tiny_pe();  // has .data with 0x200 raw bytes
  auto out = assemble(stub, {{".data", Content::own(std::string_view("small"))}});
  ASSERT_TRUE(out.ok());
  auto img = pe::parse(*out);
  EXPECT_EQ(img->sections.size(), 2u);
  EXPECT_EQ(img->sections[1].VirtualSize, 5u);
  auto big = assemble(stub, {{".data", Content::own(Bytes(0x201, 1))}});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("not enough space"), std::string::npos);
}

TEST(Assemble, JoinedInitrdsLaidOutInPlace) {
  // Content::joined places each initrd at its offset: the same bytes as one
  // join_initrds() buffer, without the copy.
  Bytes stub = pe::testing::tiny_pe();
  Bytes a{1, 2, 3}, b(0x3ff, 0xbb), c{7};
  std::vector<ByteSpan> views = {a, b, c};
  std::vector<NamedSection> joined = {{".cmdline", Content::own(std::string_view("x"))},
                                      {".initrd", Content::joined(views)},
                                      {".sbat", Content::own(std::string_view("sbat,1\n"))}};
  std::vector<NamedSection> copied = {{".cmdline", Content::own(std::string_view("x"))},
                                      {".initrd", Content::own(join_initrds(views))},
                                      {".sbat", Content::own(std::string_view("sbat,1\n"))}};
  EXPECT_EQ(Content::joined(views).size(), join_initrds(views).size());
  auto l = assemble_layout(stub, joined);
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->materialize(), *assemble(stub, copied));
  // A stub section cannot be replaced by parts; no parts at all is empty.
  EXPECT_FALSE(assemble(stub, {{".data", Content::joined(views)}}).ok());
  EXPECT_FALSE(assemble(stub, {{".initrd", Content::joined({ByteSpan(), ByteSpan()})}}).ok());
}

TEST(Assemble, SignedStubRefused) {
  Bytes stub = pe::testing::tiny_pe();
  stub.resize(0x610, 0);
  store_le<uint32_t>(stub.data() + 0x40 + 24 + 112 + 32, 0x600);
  store_le<uint32_t>(stub.data() + 0x40 + 24 + 112 + 36, 0x10);
  auto out = assemble(stub, {{".cmdline", Content::own(std::string_view("x"))}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message().find("signed"), std::string::npos);
}

TEST(Inspect, NotAPe) {
  auto r = inspect(Bytes(100, 7));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not a PE image"), std::string::npos);
}

// tiny_pe(): e_lfanew 0x40, so Machine is at 0x44 and the optional header at 0x58
// (MajorImageVersion at +44).
Bytes pe_for(uint16_t machine, uint16_t major_image_version) {
  Bytes b = pe::testing::tiny_pe();
  store_le<uint16_t>(b.data() + 0x44, machine);
  store_le<uint16_t>(b.data() + 0x58 + 44, major_image_version);
  return b;
}

TEST(KernelCheck, StubArchitectureAndKernelMachine) {
  Bytes a64 = pe_for(0xaa64, 254), x64 = pe_for(0x8664, 254);
  EXPECT_EQ(*pe_arch(a64), Arch::kArm64);
  EXPECT_EQ(*pe_arch(x64), Arch::kX86_64);
  auto ok = check_kernel_for_stub(pe_for(0xaa64, 3), a64);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->arch, Arch::kArm64);
  EXPECT_TRUE(ok->warnings.empty());
  EXPECT_EQ(check_kernel_for_stub(pe_for(0x8664, 3), x64)->arch, Arch::kX86_64);

  auto wrong = check_kernel_for_stub(pe_for(0x8664, 3), a64);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message(),
            "the kernel is x86-64 (PE Machine 0x8664) but the stub is arm64 (PE Machine 0xaa64)");
  auto reverse = check_kernel_for_stub(pe_for(0xaa64, 3), x64);
  ASSERT_FALSE(reverse.ok());
  EXPECT_EQ(reverse.error().message(),
            "the kernel is arm64 (PE Machine 0xaa64) but the stub is x86-64 (PE Machine 0x8664)");
  auto old = check_kernel_for_stub(pe_for(0xaa64, 0), a64);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().message().find("MajorImageVersion is 0"), std::string::npos);
  // x86-64: the image version is not the stub's business.
  EXPECT_TRUE(check_kernel_for_stub(pe_for(0x8664, 0), x64).ok());
  auto odd = check_kernel_for_stub(pe_for(0x14c, 3), a64);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message().find("0x014c"), std::string::npos);
  EXPECT_FALSE(check_kernel_for_stub(x64, pe_for(0x5064, 1)).ok());  // riscv64 stub
}

TEST(KernelCheck, NonPeKernel) {
  Bytes a64 = pe_for(0xaa64, 254), x64 = pe_for(0x8664, 254);
  Bytes gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  EXPECT_TRUE(is_gzip(gz));
  auto r = check_kernel_for_stub(gz, a64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "the kernel is not a PE image (it is gzip-compressed); systemd-stub for arm64 boots "
                                 "only an EFI (PE) kernel Image");
  auto w = check_kernel_for_stub(gz, x64);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->warnings.size(), 1u);
}

}  // namespace
}  // namespace bootseal::uki
