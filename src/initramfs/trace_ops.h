// A SystemOps decorator that records every call setup-root makes, with its start
// (relative to the first call) and duration. bootseal.trace=1 on the kernel
// command line turns it on in the guest; the record is printed just before exec,
// so the console's own cost does not distort the figures.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "initramfs/setup_root.h"

namespace bootseal::initramfs {

inline constexpr std::string_view kKargTrace = "bootseal.trace";

class TraceOps : public SystemOps {
 public:
  explicit TraceOps(SystemOps& inner) : in_(inner) {}
  struct Call {
    uint64_t start_us = 0, dur_us = 0;
    std::string what;
  };
  // One line per call: "+<start ms> <dur ms> <call>".
  std::vector<std::string> lines() const;

  Result<std::string> read_text(const std::string& path) override;
  Result<Bytes> read_range(const std::string& path, uint64_t offset, size_t len) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  bool exists(const std::string& path) override;
  bool is_dir(const std::string& path) override;
  uint64_t file_size(const std::string& path) override;
  Status mkdir_p(const std::string& path) override;
  Status mount(const MountCall& m) override;
  Result<int> open_read(const std::string& path) override;
  Result<std::string> attach_loop(const std::string& file) override;
  Result<std::pair<int, Bytes>> measure_verity(const std::string& path) override;
  Status enable_verity(const std::string& path, int hash_algorithm) override;
  Status sync_fs(const std::string& path) override;
  Status symlink(const std::string& target, const std::string& path) override;
  Status switch_root(const std::string& newroot) override;
  Status exec_init(const std::string& init) override { return in_.exec_init(init); }
  Result<int> run(const std::vector<std::string>& argv) override { return in_.run(argv); }
  void sleep_ms(int ms) override;
  uint64_t now_us() override { return in_.now_us(); }
  void console(const std::string& line) override { in_.console(line); }

 private:
  template <typename F>
  auto timed(std::string what, F&& f);
  SystemOps& in_;
  mutable std::mutex mu_;
  uint64_t t0_ = 0;
  std::vector<Call> calls_;
};

}  // namespace bootseal::initramfs
