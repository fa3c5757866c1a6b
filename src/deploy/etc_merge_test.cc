#include "deploy/etc_merge.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "fstree/dumpfile.h"
#include "sys/file.h"
#include "sys/tree.h"

namespace bootseal::deploy {
namespace {

fstree::Tree tree(const char* text) {
  auto t = fstree::parse_dumpfile(text);
  EXPECT_TRUE(t.ok()) << t.error().message();
  return std::move(*t);
}

std::string read(const std::string& p) {
  auto r = sys::read_text_file(p);
  return r.ok() ? *r : "<missing>";
}
std::string link_of(const std::string& p) {
  char buf[256];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(EtcMerge, LocalChangesWinImageChangesApplyDeletionsCarry) {
  std::string dir = *sys::make_temp_dir("bootseal-etcmerge-");
  // The old image's /etc, and the new image's.
  fstree::Tree old_img = tree(
      "/ 4096 40755 3 0 0 0 0.0 - - -\n"
      "/etc 4096 40755 3 0 0 0 0.0 - - -\n"
      "/etc/a 2 100644 1 0 0 0 0.0 - a1 -\n"
      "/etc/b 2 100644 1 0 0 0 0.0 - b1 -\n"
      "/etc/gone 2 100644 1 0 0 0 0.0 - g1 -\n"
      "/etc/l 1 120777 1 0 0 0 0.0 a - -\n"
      "/etc/mode 2 100644 1 0 0 0 0.0 - m1 -\n"
      "/etc/d 4096 40755 2 0 0 0 0.0 - - -\n"
      "/etc/d/x 2 100644 1 0 0 0 0.0 - x1 -\n");
  fstree::Tree new_img = tree(
      "/ 4096 40755 3 0 0 0 0.0 - - -\n"
      "/etc 4096 40755 3 0 0 0 0.0 - - -\n"
      "/etc/a 2 100644 1 0 0 0 0.0 - a2 -\n"
      "/etc/b 2 100644 1 0 0 0 0.0 - b2 -\n"
      "/etc/gone 2 100644 1 0 0 0 0.0 - g2 -\n"
      "/etc/l 1 120777 1 0 0 0 0.0 a - -\n"
      "/etc/mode 2 100644 1 0 0 0 0.0 - m1 -\n"
      "/etc/new 2 100644 1 0 0 0 0.0 - n2 -\n"
      "/etc/d 4096 40755 2 0 0 0 0.0 - - -\n"
      "/etc/d/x 2 100644 1 0 0 0 0.0 - x2 -\n");
  // The running /etc: a untouched, b modified, gone deleted, l retargeted,
  // mode chmod'ed, local added, d/x untouched, d/y added.
  std::string cur = dir + "/cur";
  ASSERT_TRUE(sys::mkdir_p(cur + "/d").ok());
  auto put = [&](const std::string& rel, const std::string& text) {
    ASSERT_TRUE(sys::write_file_atomic(cur + "/" + rel, as_bytes(text), 0644).ok());
  };
  put("a", "a1");
  put("b", "mine");
  put("mode", "m1");
  ASSERT_EQ(::chmod((cur + "/mode").c_str(), 0600), 0);
  put("local", "L");
  put("d/x", "x1");
  put("d/y", "Y");
  ASSERT_EQ(::symlink("b", (cur + "/l").c_str()), 0);
  auto r = merge_etc(old_img, cur, new_img, dir + "/objects", dir + "/out");
  ASSERT_TRUE(r.ok()) << r.error().message();
  std::string out = dir + "/out";
  EXPECT_EQ(read(out + "/a"), "a2");     // untouched: the image's update
  EXPECT_EQ(read(out + "/b"), "mine");   // modified: local wins
  EXPECT_FALSE(sys::path_exists(out + "/gone"));
  EXPECT_EQ(link_of(out + "/l"), "b");
  struct stat st;
  ASSERT_EQ(::stat((out + "/mode").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(read(out + "/local"), "L");
  EXPECT_EQ(read(out + "/new"), "n2");
  EXPECT_EQ(read(out + "/d/x"), "x2");
  EXPECT_EQ(read(out + "/d/y"), "Y");
  EXPECT_TRUE(has(r->kept, "/etc/b") && has(r->kept, "/etc/l") && has(r->kept, "/etc/mode") &&
              has(r->kept, "/etc/local") && has(r->kept, "/etc/d/y"));
  EXPECT_FALSE(has(r->kept, "/etc/a"));
  EXPECT_EQ(r->removed, std::vector<std::string>{"/etc/gone"});
  // The destination must not exist.
  EXPECT_FALSE(merge_etc(old_img, cur, new_img, dir + "/objects", out).ok());
  (void)sys::remove_tree(dir);
}

}  // namespace
}  // namespace bootseal::deploy
