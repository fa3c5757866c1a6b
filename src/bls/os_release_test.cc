#include <gtest/gtest.h>

#include "bls/cmdline.h"
#include "bls/os_release.h"

namespace bootseal::bls {
namespace {

TEST(OsRelease, Parse) {
  auto r = parse_os_release(
      "# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='12'\nPRETTY_NAME=\"A \\\"q\\\" \\$x\"\n"
      "bad line\n=x\nHOME_URL=\"https://www.debian.org/\"   \nUNTERMINATED=\"abc\n ID=debian2 \n");
  EXPECT_EQ(r.get("NAME"), "Debian GNU/Linux");
  EXPECT_EQ(r.get("VERSION_ID"), "12");
  EXPECT_EQ(r.get("PRETTY_NAME"), "A \"q\" $x");
  EXPECT_EQ(r.get("HOME_URL"), "https://www.debian.org/");
  EXPECT_EQ(r.get("ID"), "debian2");
  EXPECT_FALSE(r.get("UNTERMINATED"));
  EXPECT_EQ(r.pretty_name(), "A \"q\" $x");
  EXPECT_EQ(parse_os_release("").pretty_name(), "Linux");
}

TEST(Cmdline, Split) {
  auto a = cmdline_args("  console=ttyS0  quiet \"x y\" key=\"a b\" composefs=abc\n");
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].key, "console");
  EXPECT_EQ(a[0].value, "ttyS0");
  EXPECT_EQ(a[1].key, "quiet");
  EXPECT_FALSE(a[1].value);
  EXPECT_EQ(a[2].key, "x y");
  EXPECT_EQ(a[3].value, "a b");
  EXPECT_EQ(cmdline_value("composefs=1 composefs=2", "composefs"), "2");
  EXPECT_FALSE(cmdline_value("composefs", "composefs"));
  EXPECT_EQ(normalize_cmdline(" a \n\t b  c\n"), "a b c");
}

}  // namespace
}  // namespace bootseal::bls
