#include "initramfs/real_ops.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <thread>

#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/mounts.h"
#include "sys/pseudo_file.h"
#include "sys/verity.h"

namespace bootseal::initramfs {

// /proc and /sys files report no useful size: read to end of file.
Result<std::string> RealOps::read_text(const std::string& path) { return sys::read_pseudo_file(path); }

Result<Bytes> RealOps::read_range(const std::string& path, uint64_t offset, size_t len) {
  sys::Fd fd = BS_TRY(sys::open_file(path, O_RDONLY));
  Bytes b(len);
  size_t n = BS_TRY(sys::pread_full(fd.get(), b.data(), len, offset, path));
  if (n != len) return input_error("{}: short read at offset {}", path, offset);
  return b;
}

Result<std::vector<std::string>> RealOps::list_dir(const std::string& path) { return sys::list_dir_names(path); }

bool RealOps::exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool RealOps::is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

uint64_t RealOps::file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

Status RealOps::mkdir_p(const std::string& path) { return sys::mkdir_p(path); }

RealOps::~RealOps() {
  for (int fd : open_fds_) sys::Fd closer(fd);
}

Result<int> RealOps::open_read(const std::string& path) {
  sys::Fd fd = BS_TRY(sys::open_file(path, O_RDONLY));
  open_fds_.push_back(fd.get());
  return fd.release();
}

Status RealOps::mount(const MountCall& m) { return sys::mount_fs(m.source, m.target, m.fstype, m.flags, m.data); }

Result<std::string> RealOps::attach_loop(const std::string& file) { return sys::attach_loop_readonly(file); }

Result<std::pair<int, Bytes>> RealOps::measure_verity(const std::string& path) {
  // A file this process holds open ("/proc/self/fd/N" from open_read) is measured
  // through that descriptor, without opening it again.
  constexpr std::string_view kSelfFd = "/proc/self/fd/";
  if (path.starts_with(kSelfFd)) {
    int n = std::atoi(path.c_str() + kSelfFd.size());
    if (std::find(open_fds_.begin(), open_fds_.end(), n) != open_fds_.end()) {
      auto m = BS_TRY(sys::measure_verity(n, path));
      return std::make_pair(m.hash_algorithm, std::move(m.digest));
    }
  }
  sys::Fd fd = BS_TRY(sys::open_file(path, O_RDONLY));
  auto m = BS_TRY(sys::measure_verity(fd.get(), path));
  return std::make_pair(m.hash_algorithm, std::move(m.digest));
}

Status RealOps::enable_verity(const std::string& path, int hash_algorithm) {
  sys::Fd fd = BS_TRY(sys::open_file(path, O_RDONLY));
  return sys::enable_verity(fd.get(), path, hash_algorithm, 4096, {});
}

Status RealOps::sync_fs(const std::string& path) { return sys::sync_filesystem(path); }

Status RealOps::symlink(const std::string& target, const std::string& path) { return sys::make_symlink(target, path); }

Status RealOps::switch_root(const std::string& newroot) { return sys::switch_root(newroot); }

Status RealOps::exec_init(const std::string& init) { return sys::exec_program(init, {init}); }
Result<int> RealOps::run(const std::vector<std::string>& argv) { return sys::run_program(argv.at(0), argv); }

void RealOps::sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

uint64_t RealOps::now_us() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

void RealOps::console(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace bootseal::initramfs
