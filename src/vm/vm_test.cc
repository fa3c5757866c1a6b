#include "vm/vm.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace bootseal::vm {
namespace {

TEST(Vm, StripsTerminalCodes) {
  EXPECT_EQ(strip_terminal_codes("\x1b[=3hBdsDxe\x1b[2J\x1b[01;01H ok\r"), "BdsDxe ok");
  EXPECT_EQ(strip_terminal_codes("a\x1b" "cb"), "ab");
  EXPECT_EQ(strip_terminal_codes("\x1b[0m\x1b[1;37mbold\x1b[0m"), "bold");
  EXPECT_EQ(strip_terminal_codes("trailing \x1b["), "trailing ");
}

TEST(Vm, MatcherFindsTextAcrossChunksAndEscapes) {
  ConsoleMatcher m({"TINY-BOOT-OK"}, {"Access denied"});
  EXPECT_FALSE(m.feed("booting...\nTINY-B"));
  EXPECT_FALSE(m.feed("\x1b[=3"));
  EXPECT_TRUE(m.feed("hOOT-OK"));  // sequences split across chunks are still removed
  // (the escape sits inside the marker here, so the cleaned line is "TINY-BOOT-OK")
  EXPECT_EQ(m.verdict(), Verdict::kExpected);
  EXPECT_EQ(m.text(), "TINY-BOOT-OK");
}

TEST(Vm, MatcherFailOnWinsAndUnterminatedLinesCount) {
  ConsoleMatcher m({"ok"}, {"Access denied"});
  EXPECT_TRUE(m.feed("Error loading \\EFI\\Linux\\tiny.efi: Access denied, ok"));
  EXPECT_EQ(m.verdict(), Verdict::kFailOn);
  EXPECT_EQ(m.line(), "Error loading \\EFI\\Linux\\tiny.efi: Access denied, ok");
  ConsoleMatcher n({"marker"}, {});
  EXPECT_FALSE(n.feed("mark\n"));
  EXPECT_FALSE(n.feed("er"));  // "mark" was on another line
  EXPECT_TRUE(n.feed("marker"));
  ConsoleMatcher none({}, {});
  EXPECT_FALSE(none.feed(std::string(200000, 'x')));  // long lines are bounded, not matched
}

TEST(Vm, QemuCommandLine) {
  VmConfig c;
  c.disk = "disk.img";
  c.secure_boot = true;
  c.extra_disks = {"root.img"};
  auto a = qemu_command(c, "/w", "/w/vars.fd", "/w/swtpm.sock", false);
  auto has = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
  EXPECT_TRUE(has("q35,smm=on"));
  EXPECT_TRUE(has("tcg"));
  EXPECT_TRUE(has("driver=cfi.pflash01,property=secure,value=on"));
  EXPECT_TRUE(has("if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd,readonly=on"));
  EXPECT_TRUE(has("if=pflash,format=raw,unit=1,file=/w/vars.fd"));
  EXPECT_TRUE(has("tpm-crb,tpmdev=tpm0"));
  EXPECT_TRUE(has("if=none,id=disk1,format=raw,file=root.img"));
  EXPECT_TRUE(has("virtio-blk-pci,drive=disk0,bootindex=1"));
  EXPECT_FALSE(has("-no-reboot"));
  c.secure_boot = false;
  c.allow_reboot = false;
  a = qemu_command(c, "/w", "/w/vars.fd", "", true);
  EXPECT_TRUE(has("q35"));
  EXPECT_TRUE(has("kvm"));
  EXPECT_TRUE(has("-no-reboot"));
  EXPECT_FALSE(has("tpm-crb,tpmdev=tpm0"));
  EXPECT_TRUE(has("if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.fd,readonly=on"));
}

TEST(Vm, Aarch64CommandLine) {
  VmConfig c;
  c.disk = "disk.img";
  c.secure_boot = true;
  c.smp = 1;
  c.allow_reboot = false;
  auto a = qemu_command(c, "/w", "/w/vars.fd", "/w/swtpm.sock", false, Arch::kArm64);
  auto has = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
  EXPECT_EQ(a[0], "qemu-system-aarch64");
  EXPECT_TRUE(has("virt"));
  EXPECT_TRUE(has("cortex-a57"));
  EXPECT_TRUE(has("if=pflash,format=raw,unit=0,file=/usr/share/AAVMF/AAVMF_CODE.fd,readonly=on"));
  EXPECT_TRUE(has("if=pflash,format=raw,unit=1,file=/w/vars.fd"));
  EXPECT_TRUE(has("tpm-tis-device,tpmdev=tpm0"));
  EXPECT_TRUE(has("virtio-blk-pci,drive=disk0,bootindex=1"));
  EXPECT_TRUE(has("-no-reboot"));
  // No SMM, no x86 chipset options.
  for (auto& x : a) {
    EXPECT_EQ(x.find("smm"), std::string::npos) << x;
    EXPECT_EQ(x.find("cfi.pflash01"), std::string::npos) << x;
    EXPECT_EQ(x.find("ICH9"), std::string::npos) << x;
  }
}

TEST(Vm, DetectDiskArch) {
  std::string fat(4096, '\0');
  EXPECT_FALSE(detect_disk_arch(as_bytes(std::string_view(fat))).has_value());
  std::string a = fat + "BOOTAA64EFI" + fat;
  EXPECT_EQ(detect_disk_arch(as_bytes(std::string_view(a))), Arch::kArm64);
  std::string x = fat + "BOOTX64 EFI" + fat;
  EXPECT_EQ(detect_disk_arch(as_bytes(std::string_view(x))), Arch::kX86_64);
  VmConfig c;
  c.arch = "mips";
  c.disk = "/nonexistent";
  ASSERT_FALSE(resolve_arch(c).ok());
  EXPECT_NE(resolve_arch(c).error().message().find("unknown architecture 'mips'"), std::string::npos);
  c.arch = "aarch64";
  EXPECT_EQ(*resolve_arch(c), Arch::kArm64);
}

}  // namespace
}  // namespace bootseal::vm
