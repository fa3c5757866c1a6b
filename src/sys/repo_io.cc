#include "sys/repo_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace bootseal::sys {

namespace {
std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<uint64_t>(::getpid())};
  return fmt::format("{:016x}", rng());
}
}  // namespace

Result<Fd> open_dir_at(int dirfd, const std::string& path) {
  return open_at(dirfd, path, O_RDONLY | O_DIRECTORY);
}

Status mkdir_at(int dirfd, const std::string& name, mode_t mode) {
  if (::mkdirat(dirfd, name.c_str(), mode) != 0 && errno != EEXIST) return sys_error(fmt::format("mkdir {}", name));
  return {};
}

Result<std::optional<struct stat>> stat_at(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return sys_error(fmt::format("stat {}", name));
  }
  return std::optional<struct stat>(st);
}

Status unlink_at(int dirfd, const std::string& name, bool is_dir) {
  if (::unlinkat(dirfd, name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
    return sys_error(fmt::format("remove {}", name));
  return {};
}

Status rename_at(int dirfd, const std::string& from, const std::string& to) {
  if (::renameat(dirfd, from.c_str(), dirfd, to.c_str()) != 0) return sys_error(fmt::format("rename {} to {}", from, to));
  return {};
}

Result<std::string> readlink_at(int dirfd, const std::string& name) {
  char buf[4096];
  ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf);
  if (n < 0) return sys_error(fmt::format("readlink {}", name));
  if (static_cast<size_t>(n) == sizeof buf) return input_error("readlink {}: target too long", name);
  return std::string(buf, static_cast<size_t>(n));
}

Status symlink_replace_at(int dirfd, const std::string& target, const std::string& name) {
  std::string tmp = fmt::format("{}.tmp-{}", name, random_suffix());
  if (::symlinkat(target.c_str(), dirfd, tmp.c_str()) != 0) return sys_error(fmt::format("symlink {}", name));
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    int err = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return sys_error(fmt::format("rename symlink {}", name), err);
  }
  return {};
}

Result<std::vector<DirName>> list_at(int dirfd, const std::string& path) {
  Fd fd = BS_TRY(open_dir_at(dirfd, path));
  DIR* d = ::fdopendir(fd.get());
  if (!d) return sys_error(fmt::format("opendir {}", path));
  int dfd = fd.release();
  std::vector<DirName> out;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    unsigned char t = e->d_type;
    if (t == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    out.push_back({std::move(n), t});
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err) return sys_error(fmt::format("readdir {}", path), err);
  std::sort(out.begin(), out.end(), [](const DirName& a, const DirName& b) { return a.name < b.name; });
  return out;
}

Status fsync_fd(int fd, std::string_view what) {
  if (::fsync(fd) != 0) return sys_error(fmt::format("fsync {}", what));
  return {};
}

Status syncfs_fd(int fd, std::string_view what) {
  if (::syncfs(fd) != 0) return sys_error(fmt::format("syncfs {}", what));
  return {};
}

uint64_t raise_fd_limit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? 65536 : rl.rlim_max;
    struct rlimit n = {want, rl.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &n) == 0) rl.rlim_cur = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? 65536 : rl.rlim_cur;
}

Result<TempFile> TempFile::create(int dirfd, const std::string& dir_path, mode_t mode) {
  TempFile t;
  t.dirfd_ = dirfd;
  t.dir_ = dir_path;
  t.mode_ = mode;
  int fd = ::openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      return sys_error(fmt::format("create temporary file in {}", dir_path));
    t.tmp_name_ = fmt::format(".tmp-{}", random_suffix());
    fd = ::openat(dirfd, t.tmp_name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode);
    if (fd < 0) return sys_error(fmt::format("create temporary file in {}", dir_path));
  }
  t.fd_ = Fd(fd);
  return t;
}

TempFile::TempFile(TempFile&& o) noexcept { *this = std::move(o); }
TempFile& TempFile::operator=(TempFile&& o) noexcept {
  if (this != &o) {
    discard();
    dirfd_ = o.dirfd_;
    dir_ = std::move(o.dir_);
    tmp_name_ = std::move(o.tmp_name_);
    o.tmp_name_.clear();
    fd_ = std::move(o.fd_);
    mode_ = o.mode_;
  }
  return *this;
}
TempFile::~TempFile() { discard(); }

void TempFile::discard() {
  if (!tmp_name_.empty()) ::unlinkat(dirfd_, tmp_name_.c_str(), 0);
  tmp_name_.clear();
  fd_.reset();
}

Result<Fd> TempFile::reopen_readonly() {
  std::string proc = fmt::format("/proc/self/fd/{}", fd_.get());
  Fd keep = BS_TRY_CTX(open_file(proc, O_RDONLY), "reopen temporary file in {}", dir_);
  Fd ro = BS_TRY_CTX(open_file(proc, O_RDONLY), "reopen temporary file in {}", dir_);
  fd_ = std::move(keep);  // closes the writable descriptor
  return ro;
}

Result<bool> TempFile::link_as(int target_dirfd, const std::string& name, const std::string& what) {
  int rc;
  if (tmp_name_.empty()) {
    std::string proc = fmt::format("/proc/self/fd/{}", fd_.get());
    rc = ::linkat(AT_FDCWD, proc.c_str(), target_dirfd, name.c_str(), AT_SYMLINK_FOLLOW);
  } else {
    rc = ::linkat(dirfd_, tmp_name_.c_str(), target_dirfd, name.c_str(), 0);
  }
  if (rc != 0) {
    if (errno == EEXIST) {
      discard();
      return false;
    }
    return sys_error(fmt::format("link {}", what));
  }
  discard();
  return true;
}

}  // namespace bootseal::sys
