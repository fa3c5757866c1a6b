// Read-only maps of part of an open file, for hashing large files in place:
// no copy into a buffer (pread costs a kernel memcpy per byte), and the page
// tables are filled in one call instead of one fault per 64 KiB.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.h"

namespace bootseal::sys {

class MappedRange {
 public:
  // Maps bytes [offset, offset + len) of `fd` read-only and populates the page
  // tables (MADV_POPULATE_READ, Linux 5.14+; older kernels fault pages in on
  // access). `offset` must be a multiple of the page size, `len` > 0. A range
  // past the end of the file (it shrank) is an input error naming `path`; a
  // file system that cannot mmap gives a kUnsupported error, so callers can
  // fall back to pread.
  // A file truncated while mapped raises SIGBUS on access: only map files
  // this process does not expect to change underneath it.
  static Result<MappedRange> map(int fd, uint64_t offset, size_t len, std::string_view path);

  MappedRange() = default;
  MappedRange(MappedRange&& o) noexcept : addr_(o.addr_), len_(o.len_) { o.addr_ = nullptr, o.len_ = 0; }
  MappedRange& operator=(MappedRange&& o) noexcept;
  MappedRange(const MappedRange&) = delete;
  MappedRange& operator=(const MappedRange&) = delete;
  ~MappedRange();

  ByteSpan data() const { return ByteSpan(static_cast<const uint8_t*>(addr_), len_); }

 private:
  void* addr_ = nullptr;
  size_t len_ = 0;
};

// The system page size (mapping offsets must be multiples of it).
size_t page_size();

}  // namespace bootseal::sys
