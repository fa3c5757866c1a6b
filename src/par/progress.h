// A progress line on stderr for long work, shown only when stderr is a terminal
// (and not under --json or --quiet). Throttled; cleared when done.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace bootseal::par {

class Progress {
 public:
  // `unit` is "B" for bytes (printed as MiB) or a noun such as "files".
  Progress(std::string label, uint64_t total, std::string unit = "");
  ~Progress();
  void add(uint64_t n);
  // Raises the total, for work discovered while it runs (a directory scan): until
  // total_known() the line shows what is done and its rate, not a percentage that
  // would hover near 100 % while the total grows. `items` counts files found.
  void add_total(uint64_t n, uint64_t items = 0) {
    total_ += n;
    items_ += items;
    growing_ = true;
  }
  void total_known() { growing_ = false; }
  void done();
  // The text the progress line shows now (what draw() prints).
  std::string line() const;

  // Turn progress output on or off for the process (off by default; the CLI turns it
  // on when stderr is a terminal and neither --json nor -q is given).
  static void set_enabled(bool on);
  // Whether a Progress made now would draw: lets
  // callers skip work done only for the display, such as computing a total.
  static bool shown();

 private:
  void draw(bool final);
  std::string label_, unit_;
  std::atomic<uint64_t> total_;
  std::atomic<uint64_t> current_{0};
  std::atomic<uint64_t> items_{0};
  std::atomic<bool> growing_{false};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  bool active_;
  bool drawn_ = false;
};

}  // namespace bootseal::par
