#pragma once
// File-type bits of st_mode and the device-number encoding, as the Linux ABI fixes them
// (include/uapi/linux/stat.h; glibc's <sys/sysmacros.h> gnu_dev_makedev), for the pure
// modules that describe files without touching a filesystem (fstree, tar, oci, erofs).
// System-call headers stay in sys/; sys/mode_check.cc asserts these equal the libc's.
#include <cstdint>

namespace bootseal::base {

inline constexpr uint32_t kIfMt = 0170000;
inline constexpr uint32_t kIfSock = 0140000;
inline constexpr uint32_t kIfLnk = 0120000;
inline constexpr uint32_t kIfReg = 0100000;
inline constexpr uint32_t kIfBlk = 0060000;
inline constexpr uint32_t kIfDir = 0040000;
inline constexpr uint32_t kIfChr = 0020000;
inline constexpr uint32_t kIfIfo = 0010000;

constexpr uint32_t file_type(uint32_t mode) { return mode & kIfMt; }
constexpr bool is_dir(uint32_t mode) { return file_type(mode) == kIfDir; }
constexpr bool is_reg(uint32_t mode) { return file_type(mode) == kIfReg; }
constexpr bool is_lnk(uint32_t mode) { return file_type(mode) == kIfLnk; }
constexpr bool is_chr(uint32_t mode) { return file_type(mode) == kIfChr; }
constexpr bool is_blk(uint32_t mode) { return file_type(mode) == kIfBlk; }

// dev_t as glibc encodes it (64-bit: major in bits 8-19 and 32-63, minor in 0-7 and 20-31).
constexpr uint64_t make_dev(uint32_t major, uint32_t minor) {
  return (uint64_t{major & 0x00000fffu} << 8) | (uint64_t{major & 0xfffff000u} << 32) |
         uint64_t{minor & 0x000000ffu} | (uint64_t{minor & 0xffffff00u} << 12);
}
constexpr uint32_t dev_major(uint64_t dev) {
  return static_cast<uint32_t>(((dev >> 8) & 0x00000fffu) | ((dev >> 32) & 0xfffff000u));
}
constexpr uint32_t dev_minor(uint64_t dev) {
  return static_cast<uint32_t>((dev & 0x000000ffu) | ((dev >> 12) & 0xffffff00u));
}

}  // namespace bootseal::base
