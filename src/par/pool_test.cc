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
