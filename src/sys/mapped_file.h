// Read-only memory maps of whole files, for large inputs (kernels, initrds)
// that are only read once: no copy into a buffer, no zero-filling.
#pragma once

#include <string>

#include "base/bytes.h"

namespace bootseal::sys {

class MappedFile {
 public:
  // Maps a regular file read-only (MAP_PRIVATE). Empty files give an empty span.
  static Result<MappedFile> open(const std::string& path);
  // A regular file or a block device, mapped for random access: nothing read
  // ahead (a disk image of which only a few structures are read).
  static Result<MappedFile> open_random(const std::string& path);
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept : addr_(o.addr_), size_(o.size_) { o.addr_ = nullptr, o.size_ = 0; }
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  ByteSpan data() const { return ByteSpan(static_cast<const uint8_t*>(addr_), size_); }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace bootseal::sys
