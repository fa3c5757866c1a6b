#include "sys/clone.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "sys/file.h"

namespace bootseal::sys {
namespace {

std::string tmp_dir() {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/bootseal-clone.XXXXXX";
  char* d = mkdtemp(tmpl.data());
  return d ? std::string(d) : std::string();
}

std::string read_all(int fd) {
  std::string out(1 << 20, '\0');
  ssize_t n = pread(fd, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

TEST(Clone, CopiesWithinOneFilesystem) {
  std::string dir = tmp_dir();
  ASSERT_FALSE(dir.empty());
  std::string data(300000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(write_file_atomic(dir + "/in", as_bytes(data)).ok());
  Fd in = *open_file(dir + "/in", O_RDONLY);
  Fd out = *open_file(dir + "/out", O_RDWR | O_CREAT | O_EXCL, 0644);
  auto how = clone_file_data(in.get(), out.get(), data.size(), "in");
  ASSERT_TRUE(how.ok()) << how.error().message();
  // Every Linux since 4.5 has copy_file_range within one filesystem.
  EXPECT_NE(*how, CloneMethod::kNone);
  EXPECT_EQ(read_all(out.get()), data);
  EXPECT_EQ(lseek(in.get(), 0, SEEK_CUR), 0);  // offsets untouched
  EXPECT_EQ(lseek(out.get(), 0, SEEK_CUR), 0);
  // A source shorter than asked: an error, not a short object.
  Fd out2 = *open_file(dir + "/out2", O_RDWR | O_CREAT | O_EXCL, 0644);
  auto short_src = clone_file_data(in.get(), out2.get(), data.size() + 4096, "in");
  EXPECT_FALSE(short_src.ok());
  (void)std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(Clone, UnsupportedSourceFallsBack) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_EQ(write(p[1], "abc", 3), 3);
  std::string dir = tmp_dir();
  Fd out = *open_file(dir + "/out", O_RDWR | O_CREAT | O_EXCL, 0644);
  auto how = clone_file_data(p[0], out.get(), 3, "pipe");
  ASSERT_TRUE(how.ok()) << how.error().message();
  EXPECT_EQ(*how, CloneMethod::kNone);
  EXPECT_EQ(read_all(out.get()), "");
  close(p[0]);
  close(p[1]);
  (void)std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace bootseal::sys
