// Read-only filesystem views: verify reads an ESP and a root the same way
// whether they are staged directories, `/` of a booted system, or FAT/ext4
// partitions of a raw disk image or block device read without mounting.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::verify {

struct FileInfo {
  enum Type { kFile, kDir, kSymlink, kOther } type = kOther;
  uint64_t size = 0;
  std::optional<bool> verity;  // fs-verity enabled (nullopt: not known from this view)
};

class FsView {
 public:
  virtual ~FsView() = default;
  // "ESP: FAT32 partition 1 of disk.raw", "root: directory /x"
  virtual std::string describe() const = 0;
  // lstat; nullopt if it does not exist. Case-insensitive on FAT.
  virtual Result<std::optional<FileInfo>> stat(std::string_view path) = 0;
  virtual Result<std::vector<std::string>> list(std::string_view path) = 0;
  virtual Result<Bytes> read(std::string_view path) = 0;
  virtual Result<std::string> readlink(std::string_view path) = 0;
  // read() safe to call from several threads at once.
  virtual bool thread_safe_read() const { return true; }
};

// A directory of the running system (a staged ESP or root, or /sysroot).
std::unique_ptr<FsView> dir_view(const std::string& root, std::string role);
// A FAT filesystem held in `data` (kept alive by the caller).
Result<std::unique_ptr<FsView>> fat_view(ByteSpan data, std::string description);
// An ext4 filesystem at `offset` of `path`; `mapped` (optional) is the whole
// of `path` mapped, from which file data is copied by extent (fast, thread-safe).
Result<std::unique_ptr<FsView>> ext4_view(const std::string& path, uint64_t offset, ByteSpan mapped,
                                          std::string description);

}  // namespace bootseal::verify
