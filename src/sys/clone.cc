#include "sys/clone.h"

#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace bootseal::sys {

namespace {

// errno values meaning "not here" rather than "failed": another filesystem,
// no support in the filesystem or kernel, or a source that cannot be cloned.
bool not_supported(int err) {
  return err == EXDEV || err == ENOSYS || err == EOPNOTSUPP || err == ENOTTY || err == EINVAL || err == EBADF ||
         err == ETXTBSY || err == EPERM;
}

}  // namespace

Result<CloneMethod> clone_file_data(int in_fd, int out_fd, uint64_t size, std::string_view what) {
  if (size == 0) return CloneMethod::kCopyRange;
  // FICLONE clones whole files only: the source's size must be `size`.
  struct stat st;
  if (::fstat(in_fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == size && ::ioctl(out_fd, FICLONE, in_fd) == 0)
    return CloneMethod::kReflink;
  loff_t in_off = 0, out_off = 0;
  uint64_t left = size;
  while (left > 0) {
    ssize_t n = ::copy_file_range(in_fd, &in_off, out_fd, &out_off, left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && not_supported(errno) && left == size) return CloneMethod::kNone;
    if (n < 0) return sys_error(fmt::format("copy {}", what));
    if (n == 0) return input_error("{}: shrank while being copied ({} of {} bytes)", what, size - left, size);
    left -= static_cast<uint64_t>(n);
  }
  return CloneMethod::kCopyRange;
}

}  // namespace bootseal::sys
