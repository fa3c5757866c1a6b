#include "deploy/checkout.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fstree/dumpfile.h"
#include "sys/file.h"

namespace bootseal::deploy {
namespace {

TEST(Checkout, MaterialisesEtcWithMetadata) {
  char tmpl[] = "/tmp/bootseal-checkout-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  ASSERT_TRUE(sys::mkdir_p(dir + "/objects/ab").ok());
  std::string object(100, 'x');
  ASSERT_TRUE(sys::write_file_atomic(dir + "/objects/ab/cdef", as_bytes(object)).ok());
  auto tree = fstree::parse_dumpfile(
      "/ 4096 40755 3 0 0 0 1000.0 - - -\n"
      "/etc 4096 40750 2 0 0 0 1700000000.5 - - - user.a=1\n"
      "/etc/big 100 100640 2 0 0 0 1234.0 ab/cdef - -\n"
      "/etc/link 0 @100640 0 0 0 0 0.0 /etc/big - -\n"
      "/etc/small 3 100600 1 0 0 0 1.0 - abc -\n"
      "/etc/sym 5 120777 1 0 0 0 2.0 small - -\n"
      "/usr 4096 40755 2 0 0 0 0.0 - - -\n");
  ASSERT_TRUE(tree.ok()) << tree.error().message();
  auto st = checkout(*tree, "/etc", dir + "/objects", dir + "/out/etc");
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->files, 2u);
  EXPECT_EQ(*sys::read_text_file(dir + "/out/etc/big"), object);
  EXPECT_EQ(*sys::read_text_file(dir + "/out/etc/small"), "abc");
  struct stat a, b;
  ASSERT_EQ(stat((dir + "/out/etc/big").c_str(), &a), 0);
  ASSERT_EQ(stat((dir + "/out/etc/link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0640u);
  EXPECT_EQ(a.st_mtime, 1234);
  ASSERT_EQ(stat((dir + "/out/etc").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 0750u);
  EXPECT_EQ(a.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(a.st_mtim.tv_nsec, 5);
  char buf[8];
  EXPECT_EQ(lgetxattr((dir + "/out/etc").c_str(), "user.a", buf, sizeof(buf)), 1);
  char target[16] = {};
  EXPECT_EQ(readlink((dir + "/out/etc/sym").c_str(), target, sizeof(target)), 5);
  EXPECT_STREQ(target, "small");
  EXPECT_FALSE(checkout(*tree, "/nope", dir + "/objects", dir + "/out2").ok());
  EXPECT_FALSE(checkout(*tree, "/etc/small", dir + "/objects", dir + "/out3").ok());
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace bootseal::deploy
