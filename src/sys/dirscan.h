// Directory scanning primitives: list a directory with lstat data, read a
// symlink, list and read xattrs without following symlinks, and write
// content-addressed objects (anonymous temporary file linked in under its
// final name once its digest is known).
#pragma once

#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "sys/file.h"

namespace bootseal::sys {

struct DirEntry {
  std::string name;
  struct stat st;
};

// Entries of the directory `path` (not "." or ".."), each lstat()ed, in
// readdir order. Errors name the path.
Result<std::vector<DirEntry>> list_dir(const std::string& path);
// lstat(2).
Result<struct stat> lstat_path(const std::string& path);
// readlink(2) of a symlink (targets up to 4095 bytes).
Result<std::string> read_link(const std::string& path);
// All xattrs of `path` (not following a symlink), in llistxattr order.
// A filesystem without xattr support yields none.
Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(const std::string& path);

// The same relative to an open directory (`path` names it in errors), so a
// parallel scanner does no full path lookups: entries of `dirfd` in readdir
// order, fstatat()ed; a symlink's target; the xattrs of an open file
// (flistxattr order, none where unsupported).
Result<std::vector<DirEntry>> list_dir_at(int dirfd, const std::string& path);
Result<std::string> read_link_at(int dirfd, const std::string& name, const std::string& path);
Result<std::vector<std::pair<std::string, std::string>>> read_xattrs_fd(int fd, const std::string& path);

// A file being written into an object store directory. Created anonymous
// (O_TMPFILE) when the filesystem allows, else under a temporary name;
// link() gives it its final name, or finds that name already present
// (dedup) and drops the new copy. Never leaves a temporary behind.
class ObjectFile {
 public:
  static Result<ObjectFile> create(const std::string& store_dir);
  ObjectFile(ObjectFile&&) noexcept;
  ObjectFile& operator=(ObjectFile&&) = delete;
  ~ObjectFile();
  int fd() const { return fd_.get(); }
  // Links the data in as store_dir/rel (creating rel's parent directory).
  // Returns false if the object already existed.
  Result<bool> link(const std::string& rel, mode_t mode = 0644);
  // Starts writing the data to disk now (sync_file_range WRITE, no wait):
  // a store filled with many objects streams to the disk from the start
  // instead of when the dirty-page limit is hit, and the final syncfs has
  // less left to do. Best effort.
  void start_writeback();

 private:
  ObjectFile() = default;
  std::string dir_;
  std::string tmp_;  // named temporary, if O_TMPFILE was not available
  Fd fd_;
};


}  // namespace bootseal::sys
