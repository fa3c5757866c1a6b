#include "initramfs/modules.h"

#include <gtest/gtest.h>

namespace bootseal::initramfs {
namespace {

TEST(Modules, ResolvesDepsAndSoftdepsInOrder) {
  auto ix = *ModuleIndex::parse(
      "kernel/fs/erofs/erofs.ko.xz: kernel/lib/libcrc32c.ko.xz\n"
      "kernel/lib/libcrc32c.ko.xz:\n"
      "kernel/crypto/crc32c_generic.ko.xz:\n"
      "kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz\n"
      "kernel/lib/crc16.ko.xz:\nkernel/fs/mbcache.ko.xz:\nkernel/fs/jbd2/jbd2.ko.xz:\n",
      "softdep libcrc32c pre: crc32c\nsoftdep ext4 pre: crypto-crc32c\n",
      "alias crc32c crc32c_generic\nalias crypto-crc32c crc32c_generic\nalias fs-erofs erofs\n",
      "kernel/drivers/virtio/virtio_pci.ko\n");
  auto r = *ix.resolve({"erofs", "virtio-pci", "ext4"});
  EXPECT_EQ(r, (std::vector<std::string>{"kernel/crypto/crc32c_generic.ko.xz", "kernel/lib/libcrc32c.ko.xz",
                                         "kernel/fs/erofs/erofs.ko.xz", "kernel/fs/jbd2/jbd2.ko.xz",
                                         "kernel/fs/mbcache.ko.xz", "kernel/lib/crc16.ko.xz",
                                         "kernel/fs/ext4/ext4.ko.xz"}));
  auto bad = ix.resolve({"nosuchmod"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'nosuchmod'"), std::string::npos);
  EXPECT_EQ(module_name("kernel/fs/x/foo-bar.ko.zst"), "foo_bar");
}

TEST(Modules, CyclesAndEmptyInput) {
  auto ix = *ModuleIndex::parse("a.ko: b.ko\nb.ko: a.ko\n", "", "", "");
  auto r = *ix.resolve({"a"});
  EXPECT_EQ(r.size(), 2u);
  EXPECT_FALSE(ModuleIndex::parse("", "", "", "").ok());
  EXPECT_FALSE(ModuleIndex::parse("no colon here\n", "", "", "").ok());
}

}  // namespace
}  // namespace bootseal::initramfs

#include "initramfs/initrd.h"
#include "sys/file.h"

namespace bootseal::initramfs {
namespace {
TEST(Initrd, StaticElfCheck) {
  auto bb = sys::read_file("/bin/busybox");
  ASSERT_TRUE(bb.ok());
  EXPECT_TRUE(*is_static_elf(*bb));
  auto sh = sys::read_file("/bin/bash");
  ASSERT_TRUE(sh.ok());
  EXPECT_FALSE(*is_static_elf(*sh));
  Bytes junk = {0x7f, 'E', 'L', 'F'};
  EXPECT_FALSE(is_static_elf(junk).ok());
  Bytes bad(64, 0);
  bad[0] = 0x7f, bad[1] = 'E', bad[2] = 'L', bad[3] = 'F', bad[4] = 2, bad[5] = 1;
  store_le<uint64_t>(bad.data() + 32, ~uint64_t{0} - 8);
  store_le<uint16_t>(bad.data() + 54, 56);
  store_le<uint16_t>(bad.data() + 56, 4);
  EXPECT_FALSE(is_static_elf(bad).ok());
}
}  // namespace
}  // namespace bootseal::initramfs
