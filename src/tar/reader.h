// Streaming tar reader (libarchive underneath). Formats: ustar, pax, GNU
// (long names, sparse), v7; compression: none, gzip, zstd, xz, bzip2.
//
// Input comes from a ReadFn callback, so the reader does no I/O of its own and
// can be nested (a layer inside an oci-archive). Entries are returned in
// archive order; after next() the entry's data can be read with read() until
// it returns 0. Unread data is skipped by the following next().
//
// Limits (each violation is an input error naming the entry): path and link
// target at most kMaxPathLength bytes, at most kMaxXattrs xattrs per entry,
// xattr names at most 255 bytes and values at most 65535 bytes, sparse files
// at most kMaxSparseSize bytes long (their holes are read back as zeros, so a
// few header bytes could otherwise claim terabytes).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::tar {

// The libarchive library in use at run time and the compression libraries it
// was built with ("libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1 ..."), for --version.
std::string library_version();


inline constexpr size_t kMaxPathLength = 4096;
inline constexpr size_t kMaxXattrs = 1024;
inline constexpr size_t kMaxXattrNameLength = 255;
inline constexpr size_t kMaxXattrValueLength = 65535;
inline constexpr uint64_t kMaxSparseSize = 16ull << 30;

enum class EntryType { kRegular, kDirectory, kSymlink, kHardlink, kCharDev, kBlockDev, kFifo, kSocket };

const char* type_name(EntryType t);

struct Entry {
  std::string path;         // as stored (pax `path` wins over GNU long name over ustar name)
  EntryType type = EntryType::kRegular;
  uint32_t mode = 0;        // permission bits only (07777)
  uint32_t uid = 0, gid = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;  // from pax `mtime` fractions; 0 otherwise
  uint64_t size = 0;        // regular files: data size (sparse: the full logical size)
  std::string link_target;  // symlink target or hardlink target path
  uint32_t dev_major = 0, dev_minor = 0;
  bool sparse = false;      // GNU or pax sparse entry (data reads back with holes as zeros)
  // SCHILY.xattr.* (and LIBARCHIVE.xattr.*) in archive order; name = "user.foo".
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// Reads up to len bytes into buf; returns 0 at end of input.
using ReadFn = std::function<Result<size_t>(uint8_t* buf, size_t len)>;
// Optional: skips up to n bytes forward without reading them (a seekable
// file); returns the number skipped (0 = cannot skip, read instead).
using SkipFn = std::function<Result<int64_t>(int64_t n)>;

class Reader {
 public:
  // `name` is used in error messages ("layer sha256:…").
  // Without `skip` (layers): compressed input is detected and decompressed,
  // `on_tar_bytes` sees the plain tar stream (for the diff_id), and a
  // stream that ends without padding or end blocks is accepted (umoci writes
  // such layers; GNU tar accepts them). With `skip` (an outer archive on a
  // seekable file): plain tar only, unread member data is skipped.
  static Result<std::unique_ptr<Reader>> open(ReadFn read, std::string name, SkipFn skip = {},
                                              std::function<void(ByteSpan)> on_tar_bytes = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Advances to the next entry. Returns false at the end of the archive.
  Result<bool> next(Entry& entry);
  // Reads the current entry's data; 0 at its end.
  Result<size_t> read(uint8_t* buf, size_t len);
  // Reads the whole remaining data of the current entry, at most `max` bytes
  // (more is an input error).
  Result<Bytes> read_all(uint64_t max);
  // Reads the rest of the (decompressed) input without parsing it, so that
  // `on_tar_bytes` has seen the whole tar stream.
  Status drain_input();
  const std::string& name() const { return name_; }
  // Number of entries returned so far.
  uint64_t entries() const { return count_; }

 struct Impl;  // libarchive state (reader.cc)

 private:
  Reader() = default;
  std::unique_ptr<Impl> impl_;
  std::string name_;
  std::string current_;
  uint64_t count_ = 0;
  Result<size_t> read_sparse(uint8_t* buf, size_t len);
  // The current entry: its data size, bytes returned so far, whether it is
  // sparse, and for sparse entries the data block being returned.
  uint64_t size_ = 0, delivered_ = 0;
  bool sparse_ = false;
  const uint8_t* block_ = nullptr;
  size_t block_left_ = 0;
  uint64_t block_off_ = 0;
  bool block_eof_ = false;
};

// Convenience: a ReadFn over a memory buffer (the span must outlive the reader).
ReadFn memory_source(ByteSpan data);

}  // namespace bootseal::tar
