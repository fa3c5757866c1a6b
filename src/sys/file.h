// File descriptors and whole-file helpers. Every error names the path.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <string_view>

#include "base/bytes.h"

namespace bootseal::sys {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset();

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC; error "open PATH: reason".
Result<Fd> open_file(const std::string& path, int flags, mode_t mode = 0);
Result<Fd> open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);
// Opens a regular file for reading; a directory or other non-regular file is an
// input error ("PATH: is a directory").
Result<Fd> open_regular(const std::string& path);
Result<struct stat> fstat_fd(int fd, std::string_view path);

// Reads exactly len bytes at offset (short only at EOF); returns bytes read.
Result<size_t> pread_full(int fd, uint8_t* buf, size_t len, uint64_t offset, std::string_view path);
Status write_full(int fd, ByteSpan data, std::string_view path);
// Writes all of data at offset (pwrite(2), retried until done).
Status pwrite_full(int fd, ByteSpan data, uint64_t offset, std::string_view path);
// Starts writeback of a written range (sync_file_range(2) SYNC_FILE_RANGE_WRITE)
// so that a later fsync has less left to wait for. Advisory: durability still
// comes from fsync; errors (a filesystem without it) are ignored.
void start_writeback(int fd, uint64_t offset, uint64_t len);

// Whole file into memory (for small inputs: configs, dumpfiles, stubs).
Result<Bytes> read_file(const std::string& path);
// The first `max` bytes of a file (all of it if shorter).
Result<Bytes> read_file_prefix(const std::string& path, uint64_t max);
Result<std::string> read_text_file(const std::string& path);

// Writes `data` to `path` crash-safely: temp file in the same directory, fsync,
// rename over the target, fsync the directory. On error nothing is left behind.
Status write_file_atomic(const std::string& path, ByteSpan data, mode_t mode = 0644);

// A file being written under a temporary name next to its final path; commit()
// fsyncs and renames, the destructor removes the temporary if not committed.
class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::string& path, mode_t mode = 0644);
  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  Status write(ByteSpan data) { return write_full(fd_.get(), data, path_); }
  Status commit();

 private:
  AtomicFile() = default;
  Fd fd_;
  std::string path_, tmp_;
  bool committed_ = false;
};

// Basic path helpers.
std::string dirname_of(const std::string& path);
std::string basename_of(const std::string& path);
// `path` made absolute against the current directory (lexically normalized: "."
// and ".." folded, symlinks not resolved); an absolute path is only normalized.
Result<std::string> absolute_path(const std::string& path);
// The directory of the running executable (/proc/self/exe), "." if unknown.
std::string self_dir();
Status mkdir_p(const std::string& path, mode_t mode = 0755);

// Names in a directory (no "." and ".."), in readdir order.
Result<std::vector<std::string>> list_dir_names(const std::string& path);
// syncfs(2) on the filesystem holding `path`.
Status sync_filesystem(const std::string& path);
// ftruncate(2): sets the size of an open file (a new image file becomes sparse).
Status resize_fd(int fd, uint64_t size, std::string_view path);

}  // namespace bootseal::sys
