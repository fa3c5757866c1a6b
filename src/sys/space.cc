#include "sys/space.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdlib>

namespace bootseal::sys {

Result<uint64_t> free_bytes(const std::string& path, const char* test_name) {
  if (test_name) {
    std::string var = fmt::format("BOOTSEAL_TEST_FREE_{}", test_name);
    if (const char* v = std::getenv(var.c_str()); v && *v) return std::strtoull(v, nullptr, 10);
  }
  struct statvfs vfs;
  if (::statvfs(path.c_str(), &vfs) != 0) return sys_error(fmt::format("statvfs {}", path));
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

Result<uint64_t> file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return sys_error(fmt::format("stat {}", path));
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace bootseal::sys
