#include "boot/esp.h"

#include <gtest/gtest.h>

namespace bootseal::boot {
namespace {

const std::string kDigest(128, 'a');

EspSpec spec() {
  EspSpec s;
  s.sdboot_source = "/sd.efi";
  s.deployments.push_back({kDigest, "/uki.efi", "debian", "12", "Debian GNU/Linux 12 (sealed)"});
  s.pk_auth = "/k/PK.auth";
  s.kek_auth = "/k/KEK.auth";
  s.db_auth = "/k/db.auth";
  return s;
}

TEST(Esp, BlsEntryPointsAtTheUki) {
  EXPECT_EQ(bls_entry(spec().deployments[0], 0),
            "title Debian GNU/Linux 12 (sealed)\nversion 12\nsort-key bootc-debian-0\nefi /EFI/Linux/bootc/bootc_composefs-" +
                kDigest + ".efi\n");
  EXPECT_EQ(entry_name("debian", "12", 1), "bootc_debian-12-1.conf");
  EXPECT_EQ(entry_name("debian", "12", 0, 3), "bootc_debian-12-0+3.conf");
  EXPECT_EQ(entry_name("debian", "12", 0, 0, 3), "bootc_debian-12-0+0-3.conf");
  // parsed as systemd-boot's config_entry_parse_tries does
  auto c = parse_counted_name("bootc_debian-12-0+2-1.conf");
  EXPECT_EQ(c.base, "bootc_debian-12-0.conf");
  EXPECT_EQ(c.tries_left, 2);
  EXPECT_EQ(c.tries_done, 1);
  EXPECT_EQ(parse_counted_name("bootc_debian-12-0+3.conf").tries_left, 3);
  EXPECT_EQ(parse_counted_name("bootc_debian-12-0+3.conf").tries_done, 0);
  EXPECT_EQ(parse_counted_name("bootc_debian-12-0.conf").tries_left, -1);
  EXPECT_EQ(parse_counted_name("a+x.conf").tries_left, -1);       // not digits
  EXPECT_EQ(parse_counted_name("a+3-.conf").tries_left, -1);      // DONE missing
  EXPECT_EQ(parse_counted_name("a+3x.conf").tries_left, -1);      // counter in the middle
  EXPECT_EQ(parse_counted_name("a+1+2.conf").tries_left, 2);      // the last '+'
  EXPECT_EQ(parse_counted_name("a+1+2.conf").base, "a+1.conf");
}

TEST(Esp, PlanListsEveryFile) {
  auto plan = plan_esp(spec());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  std::vector<std::string> paths;
  for (auto& f : plan->files) paths.push_back(f.path);
  std::vector<std::string> want = {
      "EFI/BOOT/BOOTX64.EFI", "EFI/systemd/systemd-bootx64.efi",
      "EFI/Linux/bootc/bootc_composefs-" + kDigest + ".efi", "loader/entries/bootc_debian-12-0.conf",
      "loader/loader.conf", "loader/keys/auto/PK.auth", "loader/keys/auto/KEK.auth", "loader/keys/auto/db.auth"};
  EXPECT_EQ(paths, want);
  EXPECT_EQ(plan->files[4].text, "timeout 0\ndefault bootc_*\neditor no\nsecure-boot-enroll if-safe\n");
}

TEST(Esp, Arm64LoaderNames) {
  EspSpec s = spec();
  s.arch = Arch::kArm64;
  auto plan = plan_esp(s);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->files[0].path, "EFI/BOOT/BOOTAA64.EFI");
  EXPECT_EQ(plan->files[1].path, "EFI/systemd/systemd-bootaa64.efi");
}

TEST(Esp, RejectsBadSpecs) {
  EspSpec s = spec();
  s.deployments[0].digest = "xyz";
  EXPECT_FALSE(plan_esp(s).ok());
  s = spec();
  s.kek_auth.clear();
  EXPECT_FALSE(plan_esp(s).ok());
  s = spec();
  s.deployments[0].version = "1/2";
  EXPECT_FALSE(plan_esp(s).ok());
  s = spec();
  s.secure_boot_enroll = "always";
  EXPECT_FALSE(plan_esp(s).ok());
  s = spec();
  s.deployments.clear();
  EXPECT_FALSE(plan_esp(s).ok());
}

}  // namespace
}  // namespace bootseal::boot
