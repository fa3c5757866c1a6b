#include "sys/pseudo_file.h"

#include <gtest/gtest.h>

#include <string>

namespace bootseal::sys {
namespace {

TEST(PseudoFile, ReadsProcFilesToTheEnd) {
  // /proc files report size 0 (or a page): read to end of file, not by size.
  auto s = read_pseudo_file("/proc/self/status");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_NE(s->find("Name:"), std::string::npos);
  EXPECT_NE(s->find("Pid:"), std::string::npos);
  EXPECT_FALSE(read_pseudo_file("/proc/self/status", 8).ok());  // over the cap
  EXPECT_FALSE(read_pseudo_file("/proc/self/no-such-file").ok());
}

}  // namespace
}  // namespace bootseal::sys
