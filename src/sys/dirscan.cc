#include "sys/dirscan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace bootseal::sys {

Result<struct stat> lstat_path(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return sys_error(fmt::format("stat {}", path));
  return st;
}

Result<std::vector<DirEntry>> list_dir(const std::string& path) {
  Fd dfd = BS_TRY(open_file(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  return list_dir_at(dfd.get(), path);
}

Result<std::vector<DirEntry>> list_dir_at(int dirfd, const std::string& path) {
  int fd2 = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (fd2 < 0) return sys_error(fmt::format("dup {}", path));
  DIR* d = ::fdopendir(fd2);
  if (!d) {
    ::close(fd2);
    return sys_error(fmt::format("opendir {}", path));
  }
  ::rewinddir(d);  // the duplicate shares dirfd's offset
  std::vector<DirEntry> out;
  for (;;) {
    errno = 0;
    struct dirent* de = ::readdir(d);
    if (!de) {
      int err = errno;
      ::closedir(d);
      if (err) return sys_error(fmt::format("readdir {}", path), err);
      break;
    }
    if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
    DirEntry e;
    e.name = de->d_name;
    if (::fstatat(dirfd, de->d_name, &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
      int err = errno;
      ::closedir(d);
      return sys_error(fmt::format("stat {}/{}", path, e.name), err);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::string> read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0) return sys_error(fmt::format("readlink {}", path));
  if (static_cast<size_t>(n) >= sizeof(buf)) return input_error("{}: symlink target longer than 4095 bytes", path);
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> read_link_at(int dirfd, const std::string& name, const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof(buf));
  if (n < 0) return sys_error(fmt::format("readlink {}", path));
  if (static_cast<size_t>(n) >= sizeof(buf)) return input_error("{}: symlink target longer than 4095 bytes", path);
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

// All xattrs through `list(buf, size)` and `get(name, buf, size)` (the
// l*xattr or f*xattr calls). Most files have no xattrs or a few short ones:
// a stack buffer is tried first, the size asked only when it is too small;
// a list or value that grows meanwhile is read again, a name removed
// meanwhile is skipped.
template <typename List, typename Get>
Result<std::vector<std::pair<std::string, std::string>>> read_xattrs_with(List list, Get get, const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  char small[1024];
  std::string names;
  ssize_t n = list(small, sizeof(small));
  if (n >= 0) {
    names.assign(small, static_cast<size_t>(n));
  } else {
    for (;;) {
      if (errno == ENOTSUP) return out;
      if (errno != ERANGE) return sys_error(fmt::format("listxattr {}", path));
      n = list(nullptr, 0);
      if (n < 0) continue;  // errno set: handled above
      names.resize(static_cast<size_t>(n));
      n = list(names.data(), names.size());
      if (n < 0) continue;
      names.resize(static_cast<size_t>(n));
      break;
    }
  }
  for (size_t i = 0; i < names.size();) {
    size_t end = names.find('\0', i);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(i, end - i);
    i = end + 1;
    if (name.empty()) continue;
    char vsmall[256];
    ssize_t v = get(name.c_str(), vsmall, sizeof(vsmall));
    if (v >= 0) {
      out.emplace_back(std::move(name), std::string(vsmall, static_cast<size_t>(v)));
      continue;
    }
    std::string value;
    for (;;) {
      if (errno == ENODATA) break;  // removed meanwhile
      if (errno != ERANGE) return sys_error(fmt::format("getxattr {} {}", path, name));
      v = get(name.c_str(), nullptr, 0);
      if (v < 0) continue;
      value.resize(static_cast<size_t>(v));
      v = get(name.c_str(), value.data(), value.size());
      if (v < 0) continue;
      value.resize(static_cast<size_t>(v));
      out.emplace_back(std::move(name), std::move(value));
      break;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> read_xattrs_fd(int fd, const std::string& path) {
  return read_xattrs_with([fd](char* buf, size_t size) { return ::flistxattr(fd, buf, size); },
                          [fd](const char* name, void* buf, size_t size) { return ::fgetxattr(fd, name, buf, size); },
                          path);
}

Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(const std::string& path) {
  const char* p = path.c_str();
  return read_xattrs_with([p](char* buf, size_t size) { return ::llistxattr(p, buf, size); },
                          [p](const char* name, void* buf, size_t size) { return ::lgetxattr(p, name, buf, size); },
                          path);
}

Result<ObjectFile> ObjectFile::create(const std::string& store_dir) {
  ObjectFile f;
  f.dir_ = store_dir;
  int fd = ::open(store_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (fd >= 0) {
    f.fd_ = Fd(fd);
    return f;
  }
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT)
    return sys_error(fmt::format("create object in {}", store_dir));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 16; attempt++) {
    f.tmp_ = fmt::format("{}/.tmp{:x}", store_dir, rng() & 0xffffffffffff);
    auto r = open_file(f.tmp_, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (r.ok()) {
      f.fd_ = std::move(*r);
      return f;
    }
    if (r.error().sys_errno() != EEXIST) return sys_error(fmt::format("create object in {}", store_dir), r.error().sys_errno());
  }
  return internal_error("{}: could not create a temporary file", store_dir);
}

ObjectFile::ObjectFile(ObjectFile&& o) noexcept : dir_(std::move(o.dir_)), tmp_(std::move(o.tmp_)), fd_(std::move(o.fd_)) {
  o.tmp_.clear();
}

ObjectFile::~ObjectFile() {
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Result<bool> ObjectFile::link(const std::string& rel, mode_t mode) {
  std::string final_path = dir_ + "/" + rel;
  auto make_parent = [&]() -> Status {
    std::string parent = final_path.substr(0, final_path.rfind('/'));
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return sys_error(fmt::format("mkdir {}", parent));
    return {};
  };
  if (::fchmod(fd_.get(), mode) != 0) return sys_error(fmt::format("chmod {}", final_path));
  if (tmp_.empty()) {
    // Link first; create the parent only when it is missing (once per
    // prefix directory), and take EEXIST as "already stored".
    std::string proc = fmt::format("/proc/self/fd/{}", fd_.get());
    for (int attempt = 0;; attempt++) {
      if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, final_path.c_str(), AT_SYMLINK_FOLLOW) == 0) return true;
      if (errno == EEXIST) return false;
      if (errno != ENOENT || attempt > 0) return sys_error(fmt::format("link {}", final_path));
      BS_TRY(make_parent());
    }
  }
  BS_TRY(make_parent());
  struct stat st;
  if (::lstat(final_path.c_str(), &st) == 0) return false;  // already stored
  if (::rename(tmp_.c_str(), final_path.c_str()) != 0) return sys_error(fmt::format("rename to {}", final_path));
  tmp_.clear();
  return true;
}

void ObjectFile::start_writeback() { (void)::sync_file_range(fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE); }


}  // namespace bootseal::sys
