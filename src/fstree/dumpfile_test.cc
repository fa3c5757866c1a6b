#include "fstree/dumpfile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bootseal::fstree {
namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const std::filesystem::path kVectors = std::filesystem::path(BOOTSEAL_VECTORS_DIR) / "composefs";

TEST(Escape, RoundTrip) {
  std::string all;
  for (int i = 0; i < 256; i++) all.push_back(static_cast<char>(i));
  for (auto m : {Escape::kStandard, Escape::kLoneDash, Escape::kEqual}) {
    std::string e = escape(all, m);
    EXPECT_EQ(e.find(' '), std::string::npos);
    EXPECT_EQ(*unescape(e), all);
  }
  EXPECT_EQ(escape("-", Escape::kLoneDash), "\\x2d");
  EXPECT_EQ(escape("-", Escape::kStandard), "-");
  EXPECT_EQ(escape("a=b c", Escape::kEqual), "a\\x3db\\x20c");
  EXPECT_EQ(escape("a\\b\n\t\r", Escape::kStandard), "a\\\\b\\n\\t\\r");
  EXPECT_FALSE(unescape("\\").ok());
  EXPECT_FALSE(unescape("\\x4").ok());
  EXPECT_FALSE(unescape("\\xzz").ok());
  EXPECT_FALSE(unescape("\\q").ok());
}

TEST(Dumpfile, ParsesFields) {
  auto t = parse_dumpfile(
      "/ 4096 40755 2 0 0 0 1700000000.5 - - - user.a=1\n"
      "/f 3 100644 1 10 20 0 -1.7 - abc - security.selinux=x\\x00\n"
      "/s 99 120777 1 0 0 0 0.0 target - -\n"
      "/e 5 100600 1 0 0 0 0.0 ab/cdef - " + std::string(64, 'a') + "\n"
      "/d 0 20644 1 0 0 259 0.0 - - -\n"
      "/h 0 @100644 0 0 0 0 0.0 /f - -\n");
  ASSERT_TRUE(t.ok()) << t.error().message();
  NodePtr f = lookup(*t, "/f");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->mtime_sec, -1);
  EXPECT_EQ(f->mtime_nsec, 7u);
  EXPECT_EQ(f->uid, 10u);
  EXPECT_EQ(as_string(f->content), "abc");
  ASSERT_EQ(f->xattrs.size(), 1u);
  EXPECT_EQ(f->xattrs[0].value, std::string("x\0", 2));
  EXPECT_EQ(lookup(*t, "/s")->size, 6u);
  EXPECT_EQ(lookup(*t, "/e")->digest.size(), 32u);
  EXPECT_EQ(*lookup(*t, "/e")->payload, "ab/cdef");
  EXPECT_EQ(lookup(*t, "/d")->rdev, 259u);
  EXPECT_EQ(lookup(*t, "/h"), f);
  EXPECT_TRUE(t->root->find_child("h")->hardlink);
  EXPECT_FALSE(t->root->find_child("f")->hardlink);
  EXPECT_EQ(t->root->children.front().name, "d");  // sorted
}

TEST(Dumpfile, ChainedAndForwardHardlinks) {
  auto t = parse_dumpfile(
      "/ 4096 40755 2 0 0 0 0.0 - - -\n"
      "/c 0 @100644 0 0 0 0 0.0 /b - -\n"
      "/b 0 @100644 0 0 0 0 0.0 /a - -\n"
      "/a 1 100644 3 0 0 0 0.0 - x -\n");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(lookup(*t, "/c"), lookup(*t, "/a"));
  EXPECT_EQ(lookup(*t, "/b"), lookup(*t, "/a"));
  EXPECT_EQ(lookup(*t, "/a")->nlink, 3u);
}

struct BadCase {
  const char* text;
  const char* expect;
};

TEST(Dumpfile, Errors) {
  const std::string root = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
  const BadCase cases[] = {
      {"/ 0 100644 1 0 0 0 0.0 - - -\n", "root must be a directory"},
      {"/x/y 0 100644 1 0 0 0 0.0 - - -\n", "line 2: parent directory missing"},
      {"/a 0 100644 1 0 0 0 0.0 - - -\n/a 0 100644 1 0 0 0 0.0 - - -\n", "line 3: path /a already exists"},
      {"/a 0 170644 1 0 0 0 0.0 - - -\n", "invalid mode"},
      {"/a 0 10064x 1 0 0 0 0.0 - - -\n", "invalid MODE"},
      {"/a x 100644 1 0 0 0 0.0 - - -\n", "invalid SIZE"},
      {"/a 0 100644 1 0 0 0 5 - - -\n", "MTIME nanoseconds"},
      {"/a 3 100644 1 0 0 0 0.0 - ab -\n", "content size 2, must match size 3"},
      {"/a 0 100644 1 0 0 0 0.0 - - xyz\n", "invalid digest"},
      {"/a 0 100644 1 0 0 0 0.0 - - -  \n", "missing '='"},
      {"/a 0 100644 1 0 0 0 0.0 - - - user.a=\\q\n", "unsupported escape"},
      {"/a 0 @100644 1 0 0 0 0.0 /nowhere - -\n", "line 2: no target at /nowhere"},
      {"/a 0 @100644 1 0 0 0 0.0 /a - -\n", "self-referential"},
      {"/a 0 @100644 1 0 0 0 0.0 /b - -\n/b 0 @100644 1 0 0 0 0.0 /a - -\n", "cycl"},
      {"/d 0 40755 1 0 0 0 0.0 - - -\n/a 0 @100644 1 0 0 0 0.0 /d - -\n", "hardlink to directory"},
      {"/a/.. 0 100644 1 0 0 0 0.0 - - -\n", "invalid '..' component"},
      {"/a 0 120777 1 0 0 0 0.0 - - -\n", "has no target"},
      {"/a 0 120777 1 0 0 0 0.0 - - -\n", "line 2"},
      {"/\\x00 0 100644 1 0 0 0 0.0 - - -\n", "NUL"},
  };
  for (auto& c : cases) {
    auto t = parse_dumpfile(root + c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.error().message().find(c.expect), std::string::npos) << c.text << " -> " << t.error().message();
  }
  auto first = parse_dumpfile("/a 0 100644 1 0 0 0 0.0 - - -\n");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message(), "line 1: root directory must come first");
  // Symlink target of 4096 bytes.
  auto t = parse_dumpfile(root + "/l 1 120777 1 0 0 0 0.0 " + std::string(4096, 'x') + " - -\n");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("symlink target"), std::string::npos);
  EXPECT_TRUE(parse_dumpfile(root + "/l 1 120777 1 0 0 0 0.0 " + std::string(4095, 'x') + " - -\n").ok());
  // Inline content over 5000 bytes.
  t = parse_dumpfile(root + "/c 5001 100644 1 0 0 0 0.0 - " + std::string(5001, 'x') + " -\n");
  ASSERT_FALSE(t.ok());
  // Xattr budget.
  std::string big = root + "/x 0 100644 1 0 0 0 0.0 - - -";
  for (int i = 0; i < 4; i++) big += " user.k" + std::to_string(i) + "=" + std::string(9000, 'v');
  t = parse_dumpfile(big + "\n");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("per-inode limit"), std::string::npos);
}

// What mkcomposefs v1.0.8 (tools/mkcomposefs.c, without CFS_PARSE_STRICT) accepts,
// bootseal accepts with the same meaning.
TEST(Dumpfile, LenientAsMkcomposefs) {
  const std::string root = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
  // A size on a type that has none is kept (composefs's honggfuzz-chardev-nonzero-size).
  auto t = parse_dumpfile(root + "/c 1 20777 1 0 0 0 0.0 - - -\n/d 7 40755 2 0 0 0 0.0 - - -\n");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->root->children[0].node->size, 1u);
  EXPECT_EQ(t->root->children[1].node->size, 7u);
  // Mode: only the file type is checked; bits above it are kept, a value over 32 bits
  // is cut to the 32-bit mode_t.
  t = parse_dumpfile(root + "/l 0 20720777 1 0 0 0 0.0 target - -\n/m 0 40000100644 1 0 0 0 0.0 - - -\n");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->root->children[0].node->mode, 020720777u);
  EXPECT_TRUE(t->root->children[0].node->is_symlink());
  EXPECT_EQ(t->root->children[1].node->mode, static_cast<uint32_t>(040000100644ull));
  // Nanoseconds beyond 32 bits wrap as in the EROFS field.
  t = parse_dumpfile(root + "/a 0 100644 1 0 0 0 1.4294967297 - - -\n");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->root->children[0].node->mtime_nsec, 1u);
  // v1.0.8 checks GID and RDEV with `uid == 0 && err`: with a non-zero UID a malformed
  // GID or RDEV is strtoull()'s reading of its leading digits.
  t = parse_dumpfile(root + "/a 0 100644 1 5 12x 9y 0.0 - - -\n");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->root->children[0].node->gid, 12u);
  EXPECT_FALSE(parse_dumpfile(root + "/a 0 100644 1 0 12x 0 0.0 - - -\n").ok());
  // Missing trailing PAYLOAD/CONTENT/DIGEST... fields read as empty: an empty content
  // is fine for a size-0 file, and a mismatch for any other size.
  t = parse_dumpfile(root + "/a 0 100644 1 0 0 0 0.0 - - -\n/b 0 100644 1 0 0 0 0.0 - -\n");
  ASSERT_TRUE(t.ok()) << t.error().message();
  t = parse_dumpfile(root + "/b 3 100644 1 0 0 0 0.0\n");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("content size 0, must match size 3"), std::string::npos) << t.error().message();
}

TEST(Dumpfile, DuplicateXattrReplaces) {
  auto t = parse_dumpfile("/ 4096 40755 2 0 0 0 0.0 - - - user.a=1 user.b=2 user.c=3 user.a=4\n");
  ASSERT_TRUE(t.ok());
  // libcomposefs order: the last entry moves into the removed slot.
  ASSERT_EQ(t->root->xattrs.size(), 3u);
  EXPECT_EQ(t->root->xattrs[0].name, "user.c");
  EXPECT_EQ(t->root->xattrs[2].value, "4");
}

TEST(Dumpfile, NoTrailingNewline) {
  auto t = parse_dumpfile("/ 4096 40755 2 0 0 0 0.0 - - -\n/a 0 100644 1 0 0 0 0.0 - - -");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(lookup(*t, "/a"));
}

// Every info-dump vector is canonical text: print(parse(text)) == text, and
// parse(print(tree)) == tree for every dump vector.
TEST(Dumpfile, VectorRoundTrips) {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(kVectors)) {
    auto p = e.path();
    if (p.extension() == ".info-dump") {
      std::string text = read(p);
      auto t = parse_dumpfile(text);
      ASSERT_TRUE(t.ok()) << p << ": " << t.error().message();
      EXPECT_EQ(print_dumpfile(*t), text) << p;
      n++;
    }
    if (p.extension() == ".dump") {
      auto t = parse_dumpfile(read(p));
      ASSERT_TRUE(t.ok()) << p << ": " << t.error().message();
      auto t2 = parse_dumpfile(print_dumpfile(*t));
      ASSERT_TRUE(t2.ok()) << p << ": " << t2.error().message();
      std::string why;
      EXPECT_TRUE(equal(*t, *t2, &why)) << p << ": " << why;
      Tree c = clone(*t);
      EXPECT_TRUE(equal(*t, c, &why)) << why;
      n++;
    }
  }
  EXPECT_GT(n, 10);
}

}  // namespace
}  // namespace bootseal::fstree
