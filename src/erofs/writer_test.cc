// Snapshot tests of the EROFS writers (composefs-rs's mkfs snapshots): a small
// tree with every kind of inode and data layout is written, dumped region by
// region (erofs/dump.h), and compared with a checked-in dump. A difference
// names the field that moved. If a change of the layout is intended (it also
// changes the golden vectors' digests), regenerate with
//   BOOTSEAL_UPDATE_SNAPSHOTS=1 build/src/erofs/test_erofs
// and say why in the commit.
#include "erofs/writer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "composefs/image.h"
#include "erofs/dump.h"
#include "erofs/format.h"
#include "erofs/reader.h"
#include "fstree/dumpfile.h"

namespace bootseal::erofs {
namespace {

namespace fs = std::filesystem;
const fs::path kSnapshots = fs::path(BOOTSEAL_SOURCE_DIR) / "tests/data/erofs";

// Every inode type; inline, block + tail and external data; a hardlink; an
// xattr shared by two inodes and one of an inode's own; an mtime apart from
// the rest (an extended inode in V1); a directory with an inline tail.
constexpr std::string_view kTree = R"(/ 4096 40755 3 0 0 0 1700000000.0 - - - user.shared=1
/dev 4096 40755 2 0 0 0 1700000000.0 - - -
/dev/null 0 20666 1 0 0 259 1700000000.0 - - -
/dev/fifo 0 10600 1 0 0 0 1700000000.0 - - -
/etc 4096 40755 2 0 0 0 1700000000.0 - - - user.shared=1
/etc/hostname 9 100644 2 0 0 0 1700000000.0 - demo-box\x0a - security.selinux=etc_t\x00
/etc/hostname.link 9 @100644 2 0 0 0 1700000000.0 /etc/hostname - -
/etc/motd 5000 100644 1 1000 1000 0 1700000123.456 - )"
                                  "%MOTD%"
                                  R"( -
/usr 4096 40755 2 0 0 0 1700000000.0 - - -
/usr/lib 4096 40755 2 0 0 0 1700000000.0 - - -
/usr/lib/libbig.so 123456 100755 1 0 0 0 1700000000.0 ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789 - abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789
/usr/lib/os-release 12 120777 1 0 0 0 1700000000.0 ../os-release - -
)";

fstree::Tree small_tree() {
  std::string dump(kTree);
  std::string motd;
  for (int i = 0; i < 5000; i++) motd += static_cast<char>('a' + i % 26);
  dump.replace(dump.find("%MOTD%"), 6, motd);
  auto t = fstree::parse_dumpfile(dump);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  return std::move(t).value();
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_snapshot(ByteSpan image, const std::string& name) {
  auto dump = dump_image(image);
  ASSERT_TRUE(dump.ok()) << dump.error().message();
  fs::path p = kSnapshots / name;
  if (const char* u = std::getenv("BOOTSEAL_UPDATE_SNAPSHOTS"); u && *u == '1') {
    std::ofstream(p, std::ios::binary) << *dump;
    GTEST_SKIP() << "updated " << p;
  }
  std::string want = read_text(p);
  ASSERT_FALSE(want.empty()) << p << " is missing (BOOTSEAL_UPDATE_SNAPSHOTS=1 writes it)";
  EXPECT_EQ(want, *dump) << "the image's layout changed (see the file comment of " << __FILE__ << ")";
}

TEST(ErofsWriter, SnapshotV1Writer) {
  fstree::Tree t = small_tree();
  auto img = write_image(t, {});
  ASSERT_TRUE(img.ok()) << img.error().message();
  expect_snapshot(*img, "small.v1.dump.txt");
  // The reader reads back what was written.
  auto back = read_image(*img);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(fstree::lookup(*back, "/etc/motd")->content.size(), 5000u);
}

TEST(ErofsWriter, SnapshotComposefsV2) {
  // V2 keeps files inline only up to 512 bytes (composefs-rs): a shorter motd.
  fstree::Tree t = small_tree();
  fstree::NodePtr motd = fstree::lookup(t, "/etc/motd");
  motd->content.resize(300);
  motd->size = 300;
  auto img = composefs::build_image_v2(t);
  ASSERT_TRUE(img.ok()) << img.error().message();
  expect_snapshot(img->data, "small.v2.dump.txt");
}

TEST(ErofsFormat, InodeEncodingRoundTrips) {
  for (bool compact : {true, false}) {
    InodeHeader h;
    h.format = inode_format(kFlatInline, compact);
    h.xattr_icount = 7;
    h.mode = 0100644;
    h.nlink = 3;
    h.size = compact ? 0xfffffffe : 0x123456789a;
    h.i_u = 0xabcdef;
    h.ino = 42;
    h.uid = compact ? 1000 : 100000;
    h.gid = compact ? 2000 : 200000;
    if (!compact) {
      h.mtime = 1700000000;
      h.mtime_nsec = 999;
    }
    uint8_t buf[kInodeExtendedSize] = {};
    store_inode(buf, h);
    InodeHeader r = load_inode(buf);
    EXPECT_EQ(r.format, h.format);
    EXPECT_EQ(r.compact(), compact);
    EXPECT_EQ(r.layout(), kFlatInline);
    EXPECT_EQ(r.xattr_icount, h.xattr_icount);
    EXPECT_EQ(r.mode, h.mode);
    EXPECT_EQ(r.nlink, h.nlink);
    EXPECT_EQ(r.size, h.size);
    EXPECT_EQ(r.i_u, h.i_u);
    EXPECT_EQ(r.ino, h.ino);
    EXPECT_EQ(r.uid, h.uid);
    EXPECT_EQ(r.gid, h.gid);
    EXPECT_EQ(r.mtime, h.mtime);
    EXPECT_EQ(r.mtime_nsec, h.mtime_nsec);
  }
  EXPECT_EQ(xattr_ibody_size(xattr_icount_for(12 + 4 * 5)), 12u + 4 * 5);
  EXPECT_EQ(xattr_icount_for(0), 0);
  uint8_t e[32] = {};
  EXPECT_EQ(store_xattr_entry(e, kXattrIndexTrusted, "overlay.x", "v"), 16u);
  XattrEntryHeader eh = load_xattr_entry_header(e);
  EXPECT_EQ(eh.name_len, 9);
  EXPECT_EQ(eh.name_index, kXattrIndexTrusted);
  EXPECT_EQ(eh.value_size, 1);
  std::string_view suffix;
  EXPECT_EQ(xattr_prefix_index("lustre.x", &suffix, false), 0);
  EXPECT_EQ(xattr_prefix_index("lustre.x", &suffix, true), kXattrIndexLustre);
  EXPECT_EQ(suffix, "x");
}

}  // namespace
}  // namespace bootseal::erofs
