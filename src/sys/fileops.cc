#include "sys/fileops.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace bootseal::sys {

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(fmt::format("remove {}", path));
  return {};
}

}  // namespace bootseal::sys
