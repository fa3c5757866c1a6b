// The cpio "newc" (SVR4 portable ASCII) archive format, as the Linux kernel unpacks
// initramfs images (Documentation/driver-api/early-userspace/buffer-format.rst) and
// GNU cpio writes with -H newc. Pure: bytes in, bytes out. docs/formats/cpio.md.
//
// Each member: a 110-byte header, the name (NUL-terminated), padding to a multiple of
// 4 (counted from the header start), the data, padding to a multiple of 4.
//   struct cpio_newc_header {       // all fields: 8 ASCII hex digits, upper or lower case
//     char c_magic[6];              // "070701" ("070702": same with c_check = byte sum)
//     char c_ino[8], c_mode[8], c_uid[8], c_gid[8], c_nlink[8], c_mtime[8];
//     char c_filesize[8];           // data bytes (symlink: target length, no NUL)
//     char c_devmajor[8], c_devminor[8], c_rdevmajor[8], c_rdevminor[8];
//     char c_namesize[8];           // name length including the NUL
//     char c_check[8];              // 0 for 070701
//   };
// The archive ends with a member named "TRAILER!!!" (all fields 0, nlink 1).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace bootseal::cpio {

inline constexpr std::string_view kMagicNewc = "070701";
inline constexpr std::string_view kMagicNewcCrc = "070702";
inline constexpr std::string_view kTrailer = "TRAILER!!!";
inline constexpr size_t kHeaderSize = 110;
inline constexpr size_t kAlign = 4;
// Limits the reader enforces (Linux PATH_MAX; the 8-hex-digit size field).
inline constexpr size_t kMaxNameSize = 4096;
inline constexpr uint64_t kMaxFileSize = 0xffffffffu;

// File type bits of c_mode (as in <sys/stat.h>; fixed by the format).
inline constexpr uint32_t kTypeMask = 0170000, kTypeReg = 0100000, kTypeDir = 0040000, kTypeLnk = 0120000,
                          kTypeChr = 0020000, kTypeBlk = 0060000, kTypeFifo = 0010000, kTypeSock = 0140000;

struct Entry {
  std::string path;      // relative, no leading "/" or "./" (the reader keeps what it finds)
  uint32_t mode = 0;     // type and permission bits
  uint32_t uid = 0, gid = 0;
  uint32_t nlink = 1;
  uint32_t mtime = 0;
  uint32_t rdev_major = 0, rdev_minor = 0;  // character/block devices
  uint32_t ino = 0;                          // set by the writer; kept by the reader
  Bytes data;                                // regular file content, or symlink target
};

// Collects entries and writes a deterministic archive: entries sorted by path bytes,
// missing parent directories added (0755, root-owned), inode numbers assigned 1, 2, ...
// in that order, every mtime equal to `mtime`, device numbers 0, directory nlink 2.
class Writer {
 public:
  explicit Writer(uint32_t mtime = 0) : mtime_(mtime) {}
  // Paths are normalized ("/a//b/" and "./a/b" become "a/b"); "..", "." and empty
  // components are errors, as is adding a path twice with different content.
  Status add_file(std::string path, Bytes data, uint32_t mode = 0644, uint32_t uid = 0, uint32_t gid = 0);
  Status add_dir(std::string path, uint32_t mode = 0755, uint32_t uid = 0, uint32_t gid = 0);
  Status add_symlink(std::string path, std::string target);
  Status add_device(std::string path, bool block, uint32_t major, uint32_t minor, uint32_t mode = 0600);
  Status add(Entry e);
  size_t size() const { return entries_.size(); }
  bool contains(const std::string& path) const;
  // The archive bytes, ending with TRAILER!!! and padded to 4 bytes.
  Result<Bytes> finish() const;

 private:
  Status ensure_parents(const std::string& path);
  uint32_t mtime_;
  std::map<std::string, Entry> entries_;  // sorted by path bytes
};

// Reads one archive. Stops at TRAILER!!!; `end` receives the offset after the trailer's
// padding (a kernel initramfs may concatenate archives). Every field is checked:
// magic, hex digits, name NUL and length, data bounds; file sizes over `max_total`
// in sum are refused.
struct ReadOptions {
  size_t max_entries = 1u << 20;
  uint64_t max_total = uint64_t{4} << 30;
};
Result<std::vector<Entry>> read_archive(ByteSpan data, size_t* end = nullptr, const ReadOptions& opts = {});

// Normalizes an archive path: strips leading "/" and "./", collapses "//", drops a
// trailing "/"; errors on "." or ".." components and on an empty result.
Result<std::string> normalize_path(std::string_view path);

}  // namespace bootseal::cpio
