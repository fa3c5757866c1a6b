#include "cpio/cpio.h"

#include <gtest/gtest.h>

namespace bootseal::cpio {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(Cpio, WriterIsSortedPaddedAndReadsBack) {
  Writer w(0);
  ASSERT_TRUE(w.add_file("/usr/bin/x", B("hello"), 0755).ok());
  ASSERT_TRUE(w.add_symlink("bin", "usr/bin").ok());
  ASSERT_TRUE(w.add_file("init", B("#!/bin/sh\n"), 0755).ok());
  ASSERT_TRUE(w.add_device("dev/console", false, 5, 1).ok());
  ASSERT_TRUE(w.add_dir("dev", 0700).ok());  // replaces the implicit parent
  Bytes a = *w.finish();
  EXPECT_EQ(a.size() % 4, 0u);
  EXPECT_EQ(as_string(ByteSpan(a).subspan(0, 6)), "070701");
  size_t end = 0;
  auto entries = *read_archive(a, &end);
  EXPECT_EQ(end, a.size());
  std::vector<std::string> paths;
  for (auto& e : entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"bin", "dev", "dev/console", "init", "usr", "usr/bin", "usr/bin/x"}));
  EXPECT_EQ(entries[0].mode, kTypeLnk | 0777);
  EXPECT_EQ(as_string(entries[0].data), "usr/bin");
  EXPECT_EQ(entries[1].mode, kTypeDir | 0700);
  EXPECT_EQ(entries[1].nlink, 2u);
  EXPECT_EQ(entries[2].rdev_major, 5u);
  EXPECT_EQ(entries[2].rdev_minor, 1u);
  EXPECT_EQ(entries[4].mode, kTypeDir | 0755);
  EXPECT_EQ(as_string(entries[6].data), "hello");
  for (size_t i = 0; i < entries.size(); i++) EXPECT_EQ(entries[i].ino, i + 1);
  // Deterministic: same input in another order, same bytes.
  Writer w2(0);
  ASSERT_TRUE(w2.add_dir("dev", 0700).ok());
  ASSERT_TRUE(w2.add_device("dev/console", false, 5, 1).ok());
  ASSERT_TRUE(w2.add_file("init", B("#!/bin/sh\n"), 0755).ok());
  ASSERT_TRUE(w2.add_symlink("bin", "usr/bin").ok());
  ASSERT_TRUE(w2.add_file("usr/bin/x", B("hello"), 0755).ok());
  EXPECT_EQ(*w2.finish(), a);
}

TEST(Cpio, EmptyArchiveIsJustTheTrailer) {
  Bytes a = *Writer().finish();
  EXPECT_EQ(a.size(), 124u);  // 110 + 11 name + pad to 124
  EXPECT_TRUE(read_archive(a)->empty());
}

TEST(Cpio, WriterRejectsBadPaths) {
  Writer w;
  EXPECT_FALSE(w.add_file("../x", {}).ok());
  EXPECT_FALSE(w.add_file("a/./b", {}).ok());
  EXPECT_FALSE(w.add_file("/", {}).ok());
  ASSERT_TRUE(w.add_file("a", B("1")).ok());
  EXPECT_FALSE(w.add_file("a", B("2")).ok());
  EXPECT_TRUE(w.add_file("a", B("1")).ok());
  EXPECT_FALSE(w.add_file("a/b", {}).ok());  // parent is a file
  ASSERT_TRUE(w.add_file("d/x", {}).ok());
  EXPECT_FALSE(w.add_file("d", {}).ok());  // already a directory
  EXPECT_FALSE(w.add_symlink("l", "").ok());
  EXPECT_EQ(*normalize_path("./a//b/"), "a/b");
}

TEST(Cpio, ReaderRejectsMalformed) {
  Writer w;
  ASSERT_TRUE(w.add_file("f", B("abcdef")).ok());
  Bytes good = *w.finish();
  // Every truncation is an error, never a crash.
  for (size_t n = 0; n < good.size(); n++) {
    Bytes t(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_FALSE(read_archive(t).ok()) << n;
  }
  Bytes bad = good;
  bad[0] = '1';
  EXPECT_NE(read_archive(bad).error().message().find("bad magic"), std::string::npos);
  bad = good;
  bad[6 + 8 * 6] = 'g';  // filesize not hex
  EXPECT_NE(read_archive(bad).error().message().find("c_filesize"), std::string::npos);
  bad = good;
  for (int i = 0; i < 8; i++) bad[6 + 8 * 6 + i] = 'F';  // huge size
  EXPECT_FALSE(read_archive(bad).ok());
  bad = good;
  for (int i = 0; i < 8; i++) bad[6 + 8 * 11 + i] = '0';  // namesize 0
  EXPECT_FALSE(read_archive(bad).ok());
  bad = good;
  bad[kHeaderSize + 1] = 'x';  // name "f" then no NUL
  EXPECT_NE(read_archive(bad).error().message().find("NUL"), std::string::npos);
  ReadOptions small;
  small.max_total = 3;
  EXPECT_FALSE(read_archive(good, nullptr, small).ok());
}

}  // namespace
}  // namespace bootseal::cpio
