#include "par/progress.h"

#include <cstdio>

namespace bootseal::par {
namespace {
// Off until the CLI turns it on (it knows whether stderr is a terminal and whether
// -q/--json asked for silence): a library never draws on its own.
std::atomic<bool> g_enabled{false};
}

void Progress::set_enabled(bool on) { g_enabled = on; }

bool Progress::shown() { return g_enabled; }

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  active_ = shown();
}

Progress::~Progress() { done(); }

void Progress::add(uint64_t n) {
  current_ += n;
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lk(mu_, std::try_to_lock);
  if (!lk.owns_lock() || now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  draw(false);
}

void Progress::done() {
  if (!active_) return;
  std::lock_guard lk(mu_);
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  active_ = false;
}

void Progress::draw(bool) {
  uint64_t cur = current_.load();
  uint64_t total = total_.load();
  double pct = total ? 100.0 * static_cast<double>(cur) / static_cast<double>(total) : 0.0;
  if (unit_ == "B")
    std::fprintf(stderr, "\r\033[K%s: %.1f / %.1f MiB (%.0f%%)", label_.c_str(), cur / 1048576.0,
                 static_cast<double>(total) / 1048576.0, pct);
  else
    std::fprintf(stderr, "\r\033[K%s: %llu / %llu %s (%.0f%%)", label_.c_str(), (unsigned long long)cur,
                 (unsigned long long)total, unit_.c_str(), pct);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace bootseal::par
