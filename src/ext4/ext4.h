// Read-only ext4 (libext2fs): lookups, directory listings, file contents and
// each file's block extents, of a filesystem at an offset inside an image
// file or block device. No mount, no root. Paths are absolute within the
// filesystem; symlinks are followed in directory components, not in the last.
// Not thread-safe (libext2fs is not): one Volume per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::ext4 {

struct Stat {
  uint32_t ino = 0;
  uint32_t mode = 0;  // S_IF* | permission bits
  uint64_t size = 0;
  bool verity = false;  // EXT4_VERITY_FL: fs-verity enabled
  bool is_dir() const { return (mode & 0170000) == 0040000; }
  bool is_reg() const { return (mode & 0170000) == 0100000; }
  bool is_symlink() const { return (mode & 0170000) == 0120000; }
};

// A run of a file's data: `length` bytes at `logical` in the file are at byte
// `physical` of the filesystem (relative to its start). Holes and
// uninitialized extents are absent (they read as zeros).
struct Extent {
  uint64_t logical = 0, physical = 0, length = 0;
};

struct DirEntry {
  std::string name;
  uint32_t ino = 0;
};

class Volume {
 public:
  // `offset`: the filesystem's first byte in `path` (a partition's start).
  static Result<std::unique_ptr<Volume>> open(const std::string& path, uint64_t offset);
  ~Volume();
  Volume(const Volume&) = delete;
  Volume& operator=(const Volume&) = delete;

  uint64_t block_size() const;
  uint64_t size_bytes() const;  // blocks * block size
  bool has_verity_feature() const;
  std::string label() const;

  // nullopt if the path does not exist.
  Result<std::optional<Stat>> stat(std::string_view path);
  Result<Stat> stat_ino(uint32_t ino);
  Result<std::vector<DirEntry>> list(std::string_view path);
  Result<std::string> readlink(std::string_view path);
  // The whole file (at most max_bytes, else an error).
  Result<Bytes> read(std::string_view path, uint64_t max_bytes = uint64_t{1} << 30);
  Result<Bytes> read_ino(uint32_t ino, uint64_t max_bytes = uint64_t{1} << 30);
  // The file's extents in file order; an error for inline data (read() it).
  Result<std::vector<Extent>> extents(uint32_t ino);

 private:
  Volume() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bootseal::ext4
