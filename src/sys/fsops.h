// Creating filesystem objects with exact metadata (for checking a tree out of
// a repository into a real directory): mknod, symlink, hard link, ownership,
// modes, xattrs and timestamps, all without following symlinks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace bootseal::sys {

Status make_dir(const std::string& path, mode_t mode);
Status make_node(const std::string& path, mode_t mode, uint64_t rdev);
Status make_symlink(const std::string& target, const std::string& path);
Status make_hardlink(const std::string& existing, const std::string& path);
// lchown; chmod (not for symlinks); lsetxattr; utimensat(AT_SYMLINK_NOFOLLOW).
Status set_owner(const std::string& path, uint32_t uid, uint32_t gid);
Status set_mode(const std::string& path, mode_t mode);
Status set_xattr(const std::string& path, std::string_view name, std::string_view value);
Status set_mtime(const std::string& path, int64_t sec, uint32_t nsec);
// Copies `from` into a new file `to` (O_EXCL) with copy_file_range (reflink where
// the filesystem can), falling back to read/write.
Status copy_new_file(const std::string& from, const std::string& to, mode_t mode);

// Swaps two existing paths atomically (renameat2 RENAME_EXCHANGE). Where the
// filesystem cannot (kUnsupported error: old vfat, some FUSE), the caller
// falls back to a non-atomic sequence it documents.
Status rename_exchange(const std::string& a, const std::string& b);
// rename(2), replacing `to`.
Status rename_path(const std::string& from, const std::string& to);
// fsync of a directory (makes renames and new names in it durable).
Status sync_dir(const std::string& dir);

}  // namespace bootseal::sys
