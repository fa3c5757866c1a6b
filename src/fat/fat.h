// A read-only FAT12/16/32 reader (Microsoft "FAT: General Overview of On-Disk
// Format" 1.03): boot sector/BPB, the FAT, cluster chains, directory entries
// with VFAT long names. Pure: it reads a span holding the filesystem (e.g. an
// ESP partition of a mapped disk image); every offset, length, cluster number
// and chain is checked, a loop or an out-of-range cluster is an error naming
// the structure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::fat {

struct DirEntry {
  std::string name;  // the long name if there is one, else the 8.3 name (NT case bits applied)
  bool is_dir = false;
  uint32_t first_cluster = 0;
  uint32_t size = 0;
};

class Volume {
 public:
  static Result<Volume> open(ByteSpan data);

  int fat_bits() const { return bits_; }
  uint32_t cluster_count() const { return clusters_; }
  uint32_t cluster_size() const { return cluster_size_; }
  std::string_view label() const { return label_; }

  // "/" or "/EFI/BOOT": the entries of a directory ("." and ".." left out).
  Result<std::vector<DirEntry>> list(std::string_view path) const;
  // An entry by path, names compared case-insensitively (ASCII) as FAT does;
  // nullopt if some component does not exist.
  Result<std::optional<DirEntry>> lookup(std::string_view path) const;
  Result<Bytes> read(const DirEntry& file) const;
  // lookup() + read(); a missing file or a directory is an error.
  Result<Bytes> read_file(std::string_view path) const;

 private:
  Result<uint32_t> next_cluster(uint32_t cluster) const;
  // The clusters of a chain, at most max_clusters (0: up to the cluster count).
  Result<std::vector<uint32_t>> chain(uint32_t first, uint64_t max_clusters) const;
  Result<std::vector<DirEntry>> read_dir(const std::optional<DirEntry>& dir) const;
  ByteSpan cluster_bytes(uint32_t cluster) const;

  ByteSpan data_;
  int bits_ = 0;
  uint32_t bytes_per_sector_ = 0, cluster_size_ = 0, clusters_ = 0, root_cluster_ = 0;
  uint64_t fat_offset_ = 0, fat_bytes_ = 0, root_offset_ = 0, root_bytes_ = 0, data_offset_ = 0;
  std::string label_;
};

// Parses a directory's raw entries (32 bytes each) into entries; exposed for tests.
Result<std::vector<DirEntry>> parse_directory(ByteSpan raw);

}  // namespace bootseal::fat
