#include "sys/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "sys/file.h"

namespace bootseal::sys {

Result<std::string> make_temp_dir(const std::string& prefix) {
  const char* t = ::getenv("TMPDIR");
  std::string tmpl = fmt::format("{}/{}XXXXXX", t && *t ? t : "/tmp", prefix);
  if (!::mkdtemp(tmpl.data())) return sys_error(fmt::format("mkdtemp {}", tmpl));
  return tmpl;
}

namespace {
int rm_one(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_DP) return ::rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
  return ::unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}
}  // namespace

Status remove_tree(const std::string& path) {
  if (!path_exists(path)) return {};
  if (::nftw(path.c_str(), rm_one, 32, FTW_DEPTH | FTW_PHYS) != 0) return sys_error(fmt::format("remove {}", path));
  return {};
}

Status copy_file(const std::string& from, const std::string& to, mode_t mode) {
  Fd in = BS_TRY(open_regular(from));
  struct stat st = BS_TRY(fstat_fd(in.get(), from));
  AtomicFile out = BS_TRY(AtomicFile::create(to, mode));
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(out.fd(), in.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("copy {} to {}", from, to));
    }
    if (n == 0) break;
  }
  return out.commit();
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::optional<struct stat> lstat_optional(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

std::optional<struct stat> stat_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

bool is_directory(const std::string& path) {
  auto st = stat_path(path);
  return st && S_ISDIR(st->st_mode);
}

bool is_regular_file(const std::string& path) {
  auto st = stat_path(path);
  return st && S_ISREG(st->st_mode);
}

bool wait_for_path(const std::string& path, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!path_exists(path)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

Result<std::vector<std::string>> list_names(const std::string& dir) {
  auto names = list_dir_names(dir);
  if (!names.ok()) {
    if (names.error().sys_errno() == ENOENT) return std::vector<std::string>{};
    return names.error();
  }
  std::sort(names->begin(), names->end());
  return names;
}

}  // namespace bootseal::sys
