// Directory helpers: temporary directories, recursive removal, file copies, waiting
// for a path to appear.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace bootseal::sys {

// mkdtemp under $TMPDIR (default /tmp): "<tmp>/<prefix>XXXXXX".
Result<std::string> make_temp_dir(const std::string& prefix);
// rm -rf without following symlinks; missing path is fine.
Status remove_tree(const std::string& path);
// Copies a regular file's content (mode `mode`), via a temporary name and rename.
Status copy_file(const std::string& from, const std::string& to, mode_t mode = 0644);
// True if the path exists (lstat).
bool path_exists(const std::string& path);
// lstat(2); nullopt when the path cannot be stat'ed (missing).
std::optional<struct stat> lstat_optional(const std::string& path);
// stat(2), following symlinks; nullopt when the path cannot be stat'ed.
std::optional<struct stat> stat_path(const std::string& path);
// True if `path` (symlinks followed) is a directory / a regular file.
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
// The names in a directory except "." and "..", sorted bytewise; a missing
// directory gives an empty list.
Result<std::vector<std::string>> list_names(const std::string& dir);
// Polls every 10 ms until `path` exists or `timeout_ms` passed.
bool wait_for_path(const std::string& path, int timeout_ms);

}  // namespace bootseal::sys
