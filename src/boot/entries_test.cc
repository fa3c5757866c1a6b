#include "boot/entries.h"

#include <gtest/gtest.h>

#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/tree.h"

namespace bootseal::boot {
namespace {

const std::string kA(128, 'a'), kB(128, 'b');

Deployment dep(const std::string& digest, const std::string& version) {
  return {digest, "", "tiny", version, "tiny " + version};
}

TEST(Entries, DigestOfUkiPath) {
  EXPECT_EQ(digest_of_uki_path("/EFI/Linux/bootc/bootc_composefs-" + kA + ".efi"), kA);
  EXPECT_FALSE(digest_of_uki_path("/EFI/Linux/bootc/bootc_composefs-abc.efi"));
  EXPECT_FALSE(digest_of_uki_path("/EFI/Linux/other.efi"));
}

TEST(Entries, ReplaceAsASetAndReadInMenuOrder) {
  std::string esp = *sys::make_temp_dir("bootseal-entries-");
  ASSERT_TRUE(sys::mkdir_p(esp + "/EFI/Linux/bootc").ok());
  for (auto& d : {kA, kB}) ASSERT_TRUE(sys::write_file_atomic(esp + "/" + uki_path(d), as_bytes("x")).ok());
  ASSERT_TRUE(replace_entries(esp, {dep(kA, "1")}).ok());
  ASSERT_TRUE(replace_entries(esp, {dep(kB, "2"), dep(kA, "1")}).ok());
  auto e = read_entries(esp);
  ASSERT_TRUE(e.ok()) << e.error().message();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].digest, kB);
  EXPECT_EQ((*e)[0].file, "bootc_tiny-2-0.conf");
  EXPECT_EQ((*e)[1].digest, kA);
  EXPECT_EQ((*e)[1].sort_key, "bootc-tiny-1");
  EXPECT_FALSE(sys::path_exists(esp + "/" + std::string(kStagedEntriesDir)));
  // An entry for a UKI that is not on the ESP is refused, and the set stays.
  std::string c(128, 'c');
  EXPECT_FALSE(replace_entries(esp, {dep(c, "3")}).ok());
  EXPECT_EQ(read_entries(esp)->at(0).digest, kB);
  // A fallback swap interrupted after "live -> old": the staged set is current.
  ASSERT_TRUE(sys::rename_path(esp + "/loader/entries", esp + "/loader/entries.staged").ok());
  EXPECT_EQ(read_entries(esp)->at(0).digest, kB);
  ASSERT_TRUE(replace_entries(esp, {dep(kA, "1"), dep(kB, "2")}).ok());
  EXPECT_EQ(read_entries(esp)->at(0).digest, kA);
  (void)sys::remove_tree(esp);
}

}  // namespace
}  // namespace bootseal::boot
