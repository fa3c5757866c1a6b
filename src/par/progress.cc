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

std::string Progress::line() const {
  uint64_t cur = current_.load();
  uint64_t total = total_.load();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0.05 ? static_cast<double>(cur) / secs : 0.0;
  char buf[256];
  if (growing_.load()) {
    uint64_t items = items_.load();
    std::string found = items ? std::to_string(items) + " files, " : std::string();
    if (unit_ == "B")
      std::snprintf(buf, sizeof buf, "%s: %s%.1f MiB done, %.1f MiB/s (still scanning)", label_.c_str(), found.c_str(),
                    cur / 1048576.0, rate / 1048576.0);
    else
      std::snprintf(buf, sizeof buf, "%s: %s%llu %s done, %.0f/s (still scanning)", label_.c_str(), found.c_str(),
                    (unsigned long long)cur, unit_.c_str(), rate);
    return buf;
  }
  double pct = total ? 100.0 * static_cast<double>(cur) / static_cast<double>(total) : 0.0;
  if (unit_ == "B")
    std::snprintf(buf, sizeof buf, "%s: %.1f / %.1f MiB (%.0f%%), %.1f MiB/s", label_.c_str(), cur / 1048576.0,
                  static_cast<double>(total) / 1048576.0, pct, rate / 1048576.0);
  else
    std::snprintf(buf, sizeof buf, "%s: %llu / %llu %s (%.0f%%)", label_.c_str(), (unsigned long long)cur,
                  (unsigned long long)total, unit_.c_str(), pct);
  return buf;
}

void Progress::draw(bool) {
  std::fprintf(stderr, "\r\033[K%s", line().c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace bootseal::par
