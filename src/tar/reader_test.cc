#include "tar/reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <sys/sysmacros.h>

#include <cstring>

namespace bootseal::tar {
namespace {

// Builds a pax tar in memory with libarchive's writer.
struct TarBuilder {
  archive* a;
  std::vector<uint8_t> out;
  TarBuilder(bool gzip = false) {
    a = archive_write_new();
    archive_write_set_format_pax(a);
    if (gzip) archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, this, nullptr, &TarBuilder::write_cb, nullptr);
  }
  static la_ssize_t write_cb(archive*, void* c, const void* buf, size_t n) {
    auto* self = static_cast<TarBuilder*>(c);
    auto* p = static_cast<const uint8_t*>(buf);
    self->out.insert(self->out.end(), p, p + n);
    return static_cast<la_ssize_t>(n);
  }
  void add(const std::string& path, mode_t type, std::string data = "", const std::string& link = "",
           long nsec = 0, std::vector<std::pair<std::string, std::string>> xattrs = {}) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0640);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 100);
    archive_entry_set_mtime(e, 1700000000, nsec);
    if (type == AE_IFLNK) archive_entry_set_symlink(e, link.c_str());
    if (type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    if (type == AE_IFREG && !link.empty()) archive_entry_set_hardlink(e, link.c_str());
    for (auto& [n, v] : xattrs) archive_entry_xattr_add_entry(e, n.c_str(), v.data(), v.size());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a, e);
    if (!data.empty()) archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  std::vector<uint8_t> finish() {
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }
};

TEST(TarReader, ReadsPaxEntries) {
  TarBuilder b;
  std::string longname = "dir/" + std::string(300, 'x');
  b.add("dir", AE_IFDIR);
  b.add(longname, AE_IFREG, "hello", "", 123456789, {{"user.a", std::string("v\0w", 3)}, {"security.capability", "cap"}});
  b.add("dir/link", AE_IFLNK, "", "target");
  b.add("dir/hard", AE_IFREG, "", longname);
  b.add("dev/null", AE_IFCHR);
  b.add("caf\xc3\xa9", AE_IFREG, "x");
  auto data = b.finish();
  auto r = Reader::open(memory_source(data), "test");
  ASSERT_TRUE(r.ok()) << r.error().message();
  Entry e;
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.path, "dir/");  // libarchive writes directories with a slash
  EXPECT_EQ(e.type, EntryType::kDirectory);
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.path, longname);
  EXPECT_EQ(e.type, EntryType::kRegular);
  EXPECT_EQ(e.mode, 0640u);
  EXPECT_EQ(e.uid, 1000u);
  EXPECT_EQ(e.gid, 100u);
  EXPECT_EQ(e.mtime_sec, 1700000000);
  EXPECT_EQ(e.mtime_nsec, 123456789u);
  EXPECT_EQ(e.size, 5u);
  ASSERT_EQ(e.xattrs.size(), 2u);
  EXPECT_EQ(e.xattrs[0].first, "user.a");
  EXPECT_EQ(e.xattrs[0].second, std::string("v\0w", 3));
  auto content = (*r)->read_all(100);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(std::string(content->begin(), content->end()), "hello");
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.type, EntryType::kSymlink);
  EXPECT_EQ(e.link_target, "target");
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.type, EntryType::kHardlink);
  EXPECT_EQ(e.link_target, longname);
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.type, EntryType::kCharDev);
  EXPECT_EQ(e.dev_major, 1u);
  EXPECT_EQ(e.dev_minor, 3u);
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.path, "caf\xc3\xa9");
  EXPECT_FALSE(*(*r)->next(e));
}

// An old-GNU sparse entry (typeflag 'S', GNU tar --format=gnu --sparse),
// written by hand: `map` lists (offset, length) data blocks, whose bytes
// follow the header; `realsize` is the logical size.
std::vector<uint8_t> gnu_sparse_tar(const std::string& name, uint64_t realsize,
                                    const std::vector<std::pair<uint64_t, uint64_t>>& map) {
  std::vector<uint8_t> h(512, 0);
  auto put = [&](size_t off, size_t len, const std::string& v) { std::memcpy(&h[off], v.data(), std::min(len, v.size())); };
  auto octal = [&](size_t off, size_t len, uint64_t v) {
    if (v >> (3 * (len - 1))) {  // GNU base-256: 0x80, then big-endian
      h[off] = 0x80;
      for (size_t i = len; i-- > 1; v >>= 8) h[off + i] = static_cast<uint8_t>(v & 0xff);
      return;
    }
    std::string s(len - 1, '0');
    for (size_t i = len - 1; i-- > 0; v >>= 3) s[i] = static_cast<char>('0' + (v & 7));
    put(off, len, s);
  };
  uint64_t stored = 0;
  for (auto [o, l] : map) stored += l;
  put(0, 100, name);
  octal(100, 8, 0644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, stored);
  octal(136, 12, 1700000000);
  h[156] = 'S';
  put(257, 8, std::string("ustar  \0", 8));
  for (size_t i = 0; i < map.size() && i < 4; i++) {
    octal(386 + i * 24, 12, map[i].first);
    octal(386 + i * 24 + 12, 12, map[i].second);
  }
  octal(483, 12, realsize);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (uint8_t c : h) sum += c;
  octal(148, 7, sum);
  std::vector<uint8_t> out = h;
  for (auto [o, l] : map)
    for (uint64_t i = 0; i < l; i++) out.push_back(static_cast<uint8_t>('a' + i % 26));
  out.resize((out.size() + 511) / 512 * 512 + 1024, 0);
  return out;
}

std::string sparse_content(uint64_t size, const std::vector<std::pair<uint64_t, uint64_t>>& map) {
  std::string want(size, '\0');
  for (auto [off, len] : map)
    for (uint64_t i = 0; i < len; i++) want[off + i] = static_cast<char>('a' + i % 26);
  return want;
}

// Holes read back as zeros up to the logical size, also a hole at the end
// and a file that is all hole, whose map is one empty block at its end (GNU
// tar writes that; libarchive's archive_read_data returns nothing for it).
// tests/interop/oci_sparse.test.sh checks GNU tar's own sparse formats.
TEST(TarReader, SparseHoles) {
  struct Case {
    uint64_t size;
    std::vector<std::pair<uint64_t, uint64_t>> map;
  };
  for (auto& c : std::vector<Case>{{200000, {{200000, 0}}},
                                   {200000, {{4096, 512}, {200000, 0}}},
                                   {200000, {{0, 1024}, {70144, 512}}},
                                   {100000, {{4096, 512}, {99840, 160}}}}) {
    auto data = gnu_sparse_tar("s", c.size, c.map);
    auto r = Reader::open(memory_source(data), "sparse");
    ASSERT_TRUE(r.ok()) << r.error().message();
    Entry e;
    auto more = (*r)->next(e);
    ASSERT_TRUE(more.ok()) << more.error().message();
    ASSERT_TRUE(*more);
    EXPECT_TRUE(e.sparse);
    EXPECT_EQ(e.size, c.size);
    auto got = (*r)->read_all(1 << 20);
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(std::string(got->begin(), got->end()), sparse_content(c.size, c.map)) << c.map.size() << " blocks";
    EXPECT_FALSE(*(*r)->next(e));
  }
}

TEST(TarReader, AbsurdSparseSizeIsAnError) {
  auto data = gnu_sparse_tar("huge", kMaxSparseSize + 1, {{0, 512}});
  auto r = Reader::open(memory_source(data), "sparse");
  ASSERT_TRUE(r.ok());
  Entry e;
  auto n = (*r)->next(e);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message().find("entry huge: sparse file of"), std::string::npos) << n.error().message();
}

TEST(TarReader, Gzip) {
  TarBuilder b(true);
  b.add("a", AE_IFREG, std::string(100000, 'q'));
  auto data = b.finish();
  auto r = Reader::open(memory_source(data), "gz");
  ASSERT_TRUE(r.ok());
  Entry e;
  ASSERT_TRUE(*(*r)->next(e));
  auto c = (*r)->read_all(1 << 20);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size(), 100000u);
  EXPECT_FALSE(*(*r)->next(e));
}

TEST(TarReader, TruncatedIsAnError) {
  TarBuilder b;
  b.add("a", AE_IFREG, std::string(10000, 'q'));
  auto data = b.finish();
  data.resize(2048);
  auto r = Reader::open(memory_source(data), "trunc");
  ASSERT_TRUE(r.ok());
  Entry e;
  ASSERT_TRUE(*(*r)->next(e));
  auto c = (*r)->read_all(1 << 20);
  EXPECT_FALSE(c.ok());
}

TEST(TarReader, GarbageIsAnError) {
  std::vector<uint8_t> junk(1024, 0x41);
  auto r = Reader::open(memory_source(junk), "junk");
  if (r.ok()) {
    Entry e;
    auto n = (*r)->next(e);
    EXPECT_FALSE(n.ok());
  }
}

TEST(TarReader, SourceErrorPropagates) {
  auto r = Reader::open([](uint8_t*, size_t) -> Result<size_t> { return input_error("boom"); }, "src");
  if (r.ok()) {
    Entry e;
    auto n = (*r)->next(e);
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.error().message().find("boom"), std::string::npos);
  } else {
    EXPECT_NE(r.error().message().find("boom"), std::string::npos);
  }
}

}  // namespace
}  // namespace bootseal::tar
