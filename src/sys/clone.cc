#include "sys/clone.h"

#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "sys/file.h"

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

Status copy_sparse_into(const std::string& in_path, int out_fd, uint64_t offset, std::string_view out_path) {
  Fd in = BS_TRY(open_regular(in_path));
  struct stat st = BS_TRY(fstat_fd(in.get(), in_path));
  off_t end = st.st_size;
  off_t pos = 0;
  while (pos < end) {
    off_t data = ::lseek(in.get(), pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole remains
      return sys_error(fmt::format("seek {}", in_path));
    }
    off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
    if (hole < 0) return sys_error(fmt::format("seek {}", in_path));
    loff_t src = data;
    loff_t dst = static_cast<loff_t>(offset) + data;
    size_t left = static_cast<size_t>(hole - data);
    while (left > 0) {
      ssize_t n = ::copy_file_range(in.get(), &src, out_fd, &dst, left, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error(fmt::format("copy {} into {}", in_path, out_path));
      }
      if (n == 0) return input_error("{}: shrank while being copied", in_path);
      left -= static_cast<size_t>(n);
    }
    pos = hole;
  }
  return {};
}

}  // namespace bootseal::sys
