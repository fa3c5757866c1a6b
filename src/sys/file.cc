#include "sys/file.h"
#include "sys/terminal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <random>

namespace bootseal::sys {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<Fd> open_file(const std::string& path, int flags, mode_t mode) {
  return open_at(AT_FDCWD, path, flags, mode);
}

Result<Fd> open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return sys_error(path);
  return Fd(fd);
}

Result<struct stat> fstat_fd(int fd, std::string_view path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_error(fmt::format("stat {}", path));
  return st;
}

Result<Fd> open_regular(const std::string& path) {
  Fd fd = BS_TRY(open_file(path, O_RDONLY));
  struct stat st = BS_TRY(fstat_fd(fd.get(), path));
  if (S_ISDIR(st.st_mode)) return input_error("{}: is a directory, not a regular file", path);
  if (!S_ISREG(st.st_mode)) return input_error("{}: not a regular file", path);
  return fd;
}

Result<size_t> pread_full(int fd, uint8_t* buf, size_t len, uint64_t offset, std::string_view path) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("read {}", path));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status write_full(int fd, ByteSpan data, std::string_view path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("write {}", path));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status pwrite_full(int fd, ByteSpan data, uint64_t offset, std::string_view path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("write {}", path));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

void start_writeback(int fd, uint64_t offset, uint64_t len) {
  ::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(len), SYNC_FILE_RANGE_WRITE);
}

Result<Bytes> read_file(const std::string& path) {
  Fd fd = BS_TRY(open_regular(path));
  struct stat st = BS_TRY(fstat_fd(fd.get(), path));
  Bytes out(static_cast<size_t>(st.st_size));
  size_t n = BS_TRY(pread_full(fd.get(), out.data(), out.size(), 0, path));
  out.resize(n);
  return out;
}

Result<Bytes> read_file_prefix(const std::string& path, uint64_t max) {
  Fd fd = BS_TRY(open_regular(path));
  struct stat st = BS_TRY(fstat_fd(fd.get(), path));
  Bytes out(static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), max)));
  size_t n = BS_TRY(pread_full(fd.get(), out.data(), out.size(), 0, path));
  out.resize(n);
  return out;
}

Result<std::string> read_text_file(const std::string& path) {
  Bytes b = BS_TRY(read_file(path));
  return std::string(b.begin(), b.end());
}

std::string dirname_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

Result<std::string> absolute_path(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) {
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) return sys_error("getcwd");
    p = std::filesystem::path(buf) / p;
  }
  std::string out = p.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool has_terminal() {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  buf[n] = 0;
  return dirname_of(buf);
}

std::string basename_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

Status mkdir_p(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return input_error("{}: exists and is not a directory", path);
  }
  std::string parent = dirname_of(path);
  if (parent != path) BS_TRY(mkdir_p(parent, mode));
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return sys_error(fmt::format("mkdir {}", path));
  return {};
}

Result<AtomicFile> AtomicFile::create(const std::string& path, mode_t mode) {
  AtomicFile f;
  f.path_ = path;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 16; attempt++) {
    f.tmp_ = fmt::format("{}/.{}.tmp{:x}", dirname_of(path), basename_of(path), rng() & 0xffffffffff);
    auto fd = open_file(f.tmp_, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd.ok()) {
      f.fd_ = std::move(*fd);
      return f;
    }
    // The temporary name is ours, not the user's: the error names the output.
    if (fd.error().sys_errno() != EEXIST) return sys_error(fmt::format("create {}", path), fd.error().sys_errno());
  }
  return internal_error("{}: could not create a temporary file", path);
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : fd_(std::move(o.fd_)), path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), committed_(o.committed_) {
  o.committed_ = true;  // the moved-from object owns nothing
}

AtomicFile::~AtomicFile() {
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

Status AtomicFile::commit() {
  if (::fsync(fd_.get()) != 0) return sys_error(fmt::format("fsync {}", path_));
  fd_.reset();
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return sys_error(fmt::format("rename to {}", path_));
  committed_ = true;
  Fd dir = BS_TRY(open_file(dirname_of(path_), O_RDONLY | O_DIRECTORY));
  ::fsync(dir.get());
  return {};
}

Status write_file_atomic(const std::string& path, ByteSpan data, mode_t mode) {
  AtomicFile f = BS_TRY(AtomicFile::create(path, mode));
  BS_TRY(f.write(data));
  return f.commit();
}

Result<std::vector<std::string>> list_dir_names(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return sys_error(fmt::format("open directory {}", path));
  std::vector<std::string> out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

Status resize_fd(int fd, uint64_t size, std::string_view path) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return sys_error(fmt::format("resize {}", path));
  return {};
}

Status sync_filesystem(const std::string& path) {
  Fd fd = BS_TRY(open_file(path, O_RDONLY));
  if (::syncfs(fd.get()) != 0) return sys_error(fmt::format("syncfs {}", path));
  return {};
}

}  // namespace bootseal::sys
