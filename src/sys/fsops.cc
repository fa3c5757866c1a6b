#include "sys/fsops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "sys/file.h"

namespace bootseal::sys {

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return sys_error(fmt::format("mkdir {}", path));
  return {};
}

Status make_node(const std::string& path, mode_t mode, uint64_t rdev) {
  if (::mknod(path.c_str(), mode, static_cast<dev_t>(rdev)) != 0) return sys_error(fmt::format("mknod {}", path));
  return {};
}

Status make_symlink(const std::string& target, const std::string& path) {
  if (::symlink(target.c_str(), path.c_str()) != 0) return sys_error(fmt::format("symlink {}", path));
  return {};
}

Status make_hardlink(const std::string& existing, const std::string& path) {
  if (::link(existing.c_str(), path.c_str()) != 0) return sys_error(fmt::format("link {} to {}", path, existing));
  return {};
}

Status set_owner(const std::string& path, uint32_t uid, uint32_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0) return sys_error(fmt::format("chown {}", path));
  return {};
}

Status set_mode(const std::string& path, mode_t mode) {
  if (::chmod(path.c_str(), mode & 07777) != 0) return sys_error(fmt::format("chmod {}", path));
  return {};
}

Status set_xattr(const std::string& path, std::string_view name, std::string_view value) {
  std::string n(name);
  if (::lsetxattr(path.c_str(), n.c_str(), value.data(), value.size(), 0) != 0)
    return sys_error(fmt::format("set xattr {} on {}", n, path));
  return {};
}

Status set_mtime(const std::string& path, int64_t sec, uint32_t nsec) {
  struct timespec ts[2];
  ts[0].tv_sec = sec;
  ts[0].tv_nsec = nsec;
  ts[1] = ts[0];
  if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error(fmt::format("set times of {}", path));
  return {};
}

Status copy_new_file(const std::string& from, const std::string& to, mode_t mode) {
  Fd in = BS_TRY(open_regular(from));
  struct stat st = BS_TRY(fstat_fd(in.get(), from));
  Fd out = BS_TRY(open_file(to, O_WRONLY | O_CREAT | O_EXCL, mode));
  uint64_t left = static_cast<uint64_t>(st.st_size);
  while (left > 0) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("copy {} to {}", from, to));
    }
    if (n == 0) break;
    left -= static_cast<uint64_t>(n);
  }
  if (left > 0) {
    Bytes buf(1 << 20);
    uint64_t off = static_cast<uint64_t>(st.st_size) - left;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), left));
      size_t got = BS_TRY(pread_full(in.get(), buf.data(), want, off, from));
      if (got == 0) return input_error("{}: shrank while being copied", from);
      BS_TRY(write_full(out.get(), ByteSpan(buf.data(), got), to));
      off += got;
      left -= got;
    }
  }
  return {};
}

Status rename_exchange(const std::string& a, const std::string& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0) return {};
  if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
    return unsupported_error("exchanging {} and {}: the filesystem cannot swap paths atomically", a, b);
  return sys_error(fmt::format("exchange {} and {}", a, b));
}

Status rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return sys_error(fmt::format("rename {} to {}", from, to));
  return {};
}

Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error(fmt::format("open {}", dir));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    errno = err;
    return sys_error(fmt::format("fsync {}", dir));
  }
  return {};
}

}  // namespace bootseal::sys
