#include "sys/pseudo_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "sys/file.h"

namespace bootseal::sys {

Result<std::string> read_pseudo_file(const std::string& path, size_t max_bytes) {
  Fd fd = BS_TRY(open_file(path, O_RDONLY));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("read {}", path));
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return input_error("{}: longer than {} bytes", path, max_bytes);
  }
}

}  // namespace bootseal::sys
