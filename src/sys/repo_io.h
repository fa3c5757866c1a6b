// Directory-handle file operations for the content-addressed repository
// (store/): *at() calls relative to an open directory, anonymous temporary
// files (O_TMPFILE, with a named fallback) linked in under their final name,
// atomic symlink replacement, directory listing, syncfs. Every error names
// the path it was about.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "sys/file.h"

namespace bootseal::sys {

// Opens a directory (O_DIRECTORY|O_RDONLY), relative to dirfd.
Result<Fd> open_dir_at(int dirfd, const std::string& path);
// mkdirat; an existing directory is fine.
Status mkdir_at(int dirfd, const std::string& name, mode_t mode);
// fstatat without following symlinks; nullopt if absent.
Result<std::optional<struct stat>> stat_at(int dirfd, const std::string& name);
Status unlink_at(int dirfd, const std::string& name, bool is_dir = false);
Status rename_at(int dirfd, const std::string& from, const std::string& to);
Result<std::string> readlink_at(int dirfd, const std::string& name);
// Creates (or atomically replaces) a symlink name -> target.
Status symlink_replace_at(int dirfd, const std::string& target, const std::string& name);

struct DirName {
  std::string name;
  unsigned char type;  // DT_* (DT_UNKNOWN filled in with fstatat)
};
// Names in a directory, except "." and "..", sorted bytewise.
Result<std::vector<DirName>> list_at(int dirfd, const std::string& path);

Status fsync_fd(int fd, std::string_view what);
// syncfs(2): flushes the whole filesystem holding fd.
Status syncfs_fd(int fd, std::string_view what);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t raise_fd_limit();

// A file being written in directory `dirfd`, invisible until link_as().
class TempFile {
 public:
  static Result<TempFile> create(int dirfd, const std::string& dir_path, mode_t mode = 0644);
  TempFile(TempFile&&) noexcept;
  TempFile& operator=(TempFile&&) noexcept;
  ~TempFile();
  int fd() const { return fd_.get(); }
  Status write(ByteSpan data) { return write_full(fd_.get(), data, dir_); }
  // Opens the same file read-only (for FS_IOC_ENABLE_VERITY, which needs no
  // writable descriptor), then closes the writable one.
  Result<Fd> reopen_readonly();
  // Gives the file its final name `name` in directory `target_dirfd` (same
  // filesystem). Returns false, dropping the file, if the name exists.
  Result<bool> link_as(int target_dirfd, const std::string& name, const std::string& what);

 private:
  TempFile() = default;
  void discard();
  int dirfd_ = -1;
  std::string dir_;
  std::string tmp_name_;  // non-empty with the named fallback
  Fd fd_;
  mode_t mode_ = 0644;
};

}  // namespace bootseal::sys
