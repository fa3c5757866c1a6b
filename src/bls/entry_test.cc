#include "bls/entry.h"

#include <gtest/gtest.h>

namespace bootseal::bls {

TEST(BlsEntry, ParsesKeysValuesAndComments) {
  auto e = parse_entry("# comment\ntitle  Debian GNU/Linux 12  \n\nversion 12\nsort-key bootc-debian-0\n"
                       "efi /EFI/Linux/bootc/x.efi\noptions a=1\noptions b\r\n");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->get("title"), "Debian GNU/Linux 12");
  EXPECT_EQ(e->get("efi"), "/EFI/Linux/bootc/x.efi");
  EXPECT_EQ(e->get("options"), "b");
  EXPECT_EQ(e->fields.size(), 6u);
  EXPECT_FALSE(e->get("linux"));
}

TEST(BlsEntry, KeyWithoutValue) {
  auto e = parse_entry("devicetree-overlay\n");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->get("devicetree-overlay"), "");
}

TEST(BlsEntry, RejectsNulAndHugeInput) {
  EXPECT_FALSE(parse_entry(std::string_view("title a\0b", 9)).ok());
  EXPECT_FALSE(parse_entry(std::string(kMaxEntrySize + 1, 'a')).ok());
}

}  // namespace bootseal::bls
