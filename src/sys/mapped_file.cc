#include "sys/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/file.h"

namespace bootseal::sys {

Result<MappedFile> MappedFile::open(const std::string& path) {
  Fd fd = BS_TRY(open_regular(path));
  struct stat st = BS_TRY(fstat_fd(fd.get(), path));
  MappedFile m;
  if (st.st_size == 0) return m;
  void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (p == MAP_FAILED) return sys_error(fmt::format("mmap {}", path));
  ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
  m.addr_ = p;
  m.size_ = static_cast<size_t>(st.st_size);
  return m;
}

Result<MappedFile> MappedFile::open_random(const std::string& path) {
  Fd fd = BS_TRY(open_file(path, O_RDONLY | O_CLOEXEC));
  struct stat st = BS_TRY(fstat_fd(fd.get(), path));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd.get(), 0, SEEK_END);
    if (end < 0) return sys_error(fmt::format("size of {}", path));
    size = static_cast<uint64_t>(end);
  } else if (!S_ISREG(st.st_mode)) {
    return input_error("{}: not a regular file or block device", path);
  }
  MappedFile m;
  if (size == 0) return m;
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return sys_error(fmt::format("mmap {}", path));
  m.addr_ = p;
  m.size_ = static_cast<size_t>(size);
  return m;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (addr_) ::munmap(addr_, size_);
    addr_ = o.addr_, size_ = o.size_;
    o.addr_ = nullptr, o.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (addr_) ::munmap(addr_, size_);
}

}  // namespace bootseal::sys
