#include "par/pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace bootseal::par {
namespace {

TEST(ParallelFor, VisitsEveryIndexOnce) {
  set_threads(4);
  std::vector<std::atomic<int>> hits(10000);
  parallel_for(hits.size(), [&](size_t i) { hits[i]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  set_threads(0);
}

TEST(ParallelFor, NestedRunsSerially) {
  set_threads(2);
  std::atomic<int> total{0};
  parallel_for(8, [&](size_t) { parallel_for(8, [&](size_t) { total++; }); });
  EXPECT_EQ(total.load(), 64);
  set_threads(0);
}

TEST(ParallelFor, ZeroAndOne) {
  int calls = 0;
  parallel_for(0, [&](size_t) { calls++; });
  parallel_for(1, [&](size_t) { calls++; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace bootseal::par

#include "par/progress.h"

namespace bootseal::par {
namespace {

// A total that grows during a scan shows what is done and a rate, not a
// percentage (which read 97-100 % all the time); a known total shows one.
TEST(Progress, GrowingTotalShowsDoneAndRateNotPercent) {
  Progress scan("hashing", 0, "B");
  scan.add_total(100 << 20, 3);
  scan.add(99 << 20);
  std::string l = scan.line();
  EXPECT_EQ(l.find('%'), std::string::npos) << l;
  EXPECT_NE(l.find("3 files"), std::string::npos) << l;
  EXPECT_NE(l.find("99.0 MiB done"), std::string::npos) << l;
  EXPECT_NE(l.find("MiB/s"), std::string::npos) << l;
  scan.total_known();
  EXPECT_NE(scan.line().find("(99%)"), std::string::npos) << scan.line();
  Progress fixed("hashing", 200 << 20, "B");
  fixed.add(50 << 20);
  EXPECT_NE(fixed.line().find("50.0 / 200.0 MiB (25%)"), std::string::npos) << fixed.line();
}

}  // namespace
}  // namespace bootseal::par
