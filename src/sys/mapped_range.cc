#include "sys/mapped_range.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bootseal::sys {

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // <linux/mman.h>, Linux 5.14
#endif

size_t page_size() {
  static const size_t n = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return n;
}

Result<MappedRange> MappedRange::map(int fd, uint64_t offset, size_t len, std::string_view path) {
  if (len == 0 || offset % page_size() != 0)
    return internal_error("MappedRange::map {}: bad range {}+{}", path, offset, len);
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    int e = errno;
    if (e == ENODEV || e == EACCES || e == EINVAL || e == EPERM)
      return unsupported_error("{}: cannot be memory-mapped ({})", path, std::strerror(e));
    return sys_error(fmt::format("mmap {}", path), e);
  }
  MappedRange m;
  m.addr_ = p;
  m.len_ = len;
  while (::madvise(p, len, MADV_POPULATE_READ) != 0) {
    int e = errno;
    if (e == EINTR || e == EAGAIN) continue;
    if (e == EINVAL) break;  // kernel older than 5.14: pages fault in on access
    if (e == EFAULT) return input_error("{}: file shrank while being read", path);
    return sys_error(fmt::format("madvise {}", path), e);
  }
  return m;
}

MappedRange& MappedRange::operator=(MappedRange&& o) noexcept {
  if (this != &o) {
    if (addr_) ::munmap(addr_, len_);
    addr_ = o.addr_, len_ = o.len_;
    o.addr_ = nullptr, o.len_ = 0;
  }
  return *this;
}

MappedRange::~MappedRange() {
  if (addr_) ::munmap(addr_, len_);
}

}  // namespace bootseal::sys
