#include "sys/flock.h"

// <sys/file.h> is shadowed by our own sys/file.h on the include path: use
// the flock syscall directly (LOCK_* come from <fcntl.h> with _GNU_SOURCE).
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace bootseal::sys {

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode, bool wait) {
  Fd fd = BS_TRY(open_file(path, O_RDONLY));
  int op = (mode == Mode::kExclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int rc;
  do {
    rc = static_cast<int>(::syscall(SYS_flock, fd.get(), op));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EWOULDBLOCK) return input_error("{} is locked by another process", path);
    return sys_error(fmt::format("lock {}", path));
  }
  FileLock l;
  l.fd_ = std::move(fd);
  return l;
}

}  // namespace bootseal::sys
