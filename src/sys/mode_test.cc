#include <sys/sysmacros.h>

#include <gtest/gtest.h>

#include "base/mode.h"

namespace bootseal::base {

TEST(Mode, DevEncodingEqualsGlibc) {
  const std::pair<uint32_t, uint32_t> cases[] = {{0, 0}, {8, 1}, {4095, 1048575}, {0x12345, 0xabcdef}, {~0u, ~0u}};
  for (auto [ma, mi] : cases) {
    EXPECT_EQ(make_dev(ma, mi), makedev(ma, mi)) << ma << ":" << mi;
    EXPECT_EQ(dev_major(makedev(ma, mi)), major(makedev(ma, mi)));
    EXPECT_EQ(dev_minor(makedev(ma, mi)), minor(makedev(ma, mi)));
  }
}

}  // namespace bootseal::base
