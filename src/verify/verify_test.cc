#include "verify/verify.h"

#include <gtest/gtest.h>

namespace bootseal::verify {
namespace {

TEST(VerifyPolicy, RequireAndForbid) {
  auto rules = parse_policy("# a policy\nrequire console=ttyS0\nforbid init   # no init= override\nrequire lockdown\n\n");
  ASSERT_TRUE(rules) << rules.error().message();
  ASSERT_EQ(rules->size(), 3u);
  EXPECT_TRUE(check_policy(*rules, "composefs=ab console=ttyS0 lockdown=integrity").empty());
  auto broken = check_policy(*rules, "console=tty0 init=/bin/sh");
  ASSERT_EQ(broken.size(), 3u);
  EXPECT_EQ(broken[0], "'console=ttyS0' is required but missing");
  EXPECT_EQ(broken[1], "'init' is forbidden but present");
  EXPECT_EQ(broken[2], "'lockdown' is required but missing");
  EXPECT_FALSE(parse_policy("allow x\n"));
  EXPECT_FALSE(parse_policy("require\n"));
  EXPECT_FALSE(parse_policy("require a b\n"));
}

TEST(VerifyEntries, BootCountingFromTheName) {
  auto e = parse_entry_name("bootc_tiny-1-0+3-1.conf");
  EXPECT_EQ(e.tries_left, 3);
  EXPECT_EQ(e.tries_done, 1);
  e = parse_entry_name("bootc_tiny-1-0+0.conf");
  EXPECT_EQ(e.tries_left, 0);
  EXPECT_EQ(e.tries_done, 0);
  e = parse_entry_name("bootc_tiny-1-0.conf");
  EXPECT_EQ(e.tries_left, -1);
  e = parse_entry_name("a+b.conf");
  EXPECT_EQ(e.tries_left, -1);
}

TEST(VerifyEntries, SystemdBootOrder) {
  std::vector<EntryInfo> v;
  auto add = [&](std::string id, std::string key, std::string ver) {
    EntryInfo e = parse_entry_name(id);
    e.sort_key = key;
    e.version = ver;
    v.push_back(e);
  };
  add("nokey-2.conf", "", "2");
  add("bootc_tiny-1-1.conf", "bootc-tiny-1", "1");
  add("bootc_tiny-2-0+0.conf", "bootc-tiny-0", "2");  // out of tries: last
  add("bootc_tiny-1.10-0.conf", "bootc-tiny-0", "1.10");
  add("bootc_tiny-1.9-0.conf", "bootc-tiny-0", "1.9");
  sort_entries(v);
  std::vector<std::string> ids;
  for (auto& e : v) ids.push_back(e.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"bootc_tiny-1.10-0.conf", "bootc_tiny-1.9-0.conf", "bootc_tiny-1-1.conf",
                                           "nokey-2.conf", "bootc_tiny-2-0+0.conf"}));
}

TEST(VerifyEntries, VersionCompareAndGlob) {
  EXPECT_GT(version_compare("1.10", "1.9"), 0);
  EXPECT_LT(version_compare("1.0~rc1", "1.0"), 0);
  EXPECT_EQ(version_compare("6.12.0", "6.12.0"), 0);
  EXPECT_GT(version_compare("6.12.1", "6.12"), 0);
  EXPECT_TRUE(glob_match("bootc_*-0.conf", "bootc_tiny-1-0.conf"));
  EXPECT_FALSE(glob_match("bootc_*-0.conf", "bootc_tiny-1-1.conf"));
  EXPECT_TRUE(glob_match("a?c*", "abcdef"));
}

TEST(Verify, MissingTargetIsAFailLine) {
  Options o;
  o.targets = {"/nonexistent/disk.raw"};
  auto r = run(o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->ok());
  ASSERT_FALSE(r->links.empty());
  EXPECT_EQ(r->links[0].name, "target");
  EXPECT_EQ(r->links[0].verdict, Verdict::kFail);
  Options none;
  EXPECT_FALSE(run(none));
}

}  // namespace
}  // namespace bootseal::verify
