#include "tar/writer.h"

#include <gtest/gtest.h>

#include "tar/reader.h"

namespace bootseal::tar {
namespace {

Bytes write_sample(int64_t mtime) {
  Bytes out;
  auto w = Writer::open([&](ByteSpan b) -> Status { out.insert(out.end(), b.begin(), b.end()); return {}; }, "test");
  EXPECT_TRUE(w.ok());
  Entry d;
  d.path = "usr/";
  d.type = EntryType::kDirectory;
  d.mode = 0755;
  d.mtime_sec = mtime;
  EXPECT_TRUE((*w)->header(d).ok());
  Entry f;
  f.path = "usr/file";
  f.type = EntryType::kRegular;
  f.mode = 04755;
  f.uid = 1000;
  f.gid = 100;
  f.mtime_sec = mtime;
  f.mtime_nsec = 123456789;
  f.size = 5;
  f.xattrs = {{"security.capability", std::string("\x01\x00\x00\x02", 4)}, {"user.a", "b"}};
  EXPECT_TRUE((*w)->header(f).ok());
  EXPECT_TRUE((*w)->data(ByteSpan(reinterpret_cast<const uint8_t*>("hello"), 5)).ok());
  Entry l;
  l.path = "usr/link";
  l.type = EntryType::kHardlink;
  l.link_target = "usr/file";
  l.mtime_sec = mtime;
  EXPECT_TRUE((*w)->header(l).ok());
  Entry s;
  s.path = "usr/sym";
  s.type = EntryType::kSymlink;
  s.mode = 0777;
  s.link_target = "file";
  s.mtime_sec = mtime;
  EXPECT_TRUE((*w)->header(s).ok());
  EXPECT_TRUE((*w)->close().ok());
  return out;
}

TEST(TarWriter, RoundTripsEveryField) {
  Bytes tar = write_sample(1700000000);
  auto r = Reader::open(memory_source(tar), "layer");
  ASSERT_TRUE(r.ok());
  Entry e;
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.type, EntryType::kDirectory);
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.path, "usr/file");
  EXPECT_EQ(e.mode, 04755u);
  EXPECT_EQ(e.uid, 1000u);
  EXPECT_EQ(e.gid, 100u);
  EXPECT_EQ(e.mtime_sec, 1700000000);
  EXPECT_EQ(e.mtime_nsec, 123456789u);
  ASSERT_EQ(e.xattrs.size(), 2u);
  EXPECT_EQ(e.xattrs[0].first, "security.capability");
  EXPECT_EQ(e.xattrs[0].second, std::string("\x01\x00\x00\x02", 4));
  auto data = (*r)->read_all(100);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(std::string(data->begin(), data->end()), "hello");
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.type, EntryType::kHardlink);
  EXPECT_EQ(e.link_target, "usr/file");
  ASSERT_TRUE(*(*r)->next(e));
  EXPECT_EQ(e.type, EntryType::kSymlink);
  EXPECT_EQ(e.link_target, "file");
  EXPECT_FALSE(*(*r)->next(e));
}

TEST(TarWriter, IsReproducible) {
  EXPECT_EQ(write_sample(1), write_sample(1));
  EXPECT_NE(write_sample(1), write_sample(2));
  EXPECT_EQ(write_sample(1).size() % 512, 0u);
}

}  // namespace
}  // namespace bootseal::tar
