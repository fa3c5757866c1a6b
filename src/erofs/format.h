// EROFS on-disk format (Linux fs/erofs/erofs_fs.h), the subset composefs
// images use: uncompressed 4 KiB blocks, compact and extended inodes, flat
// (plain/inline) and chunk-based data, dirents, inline and shared xattrs with
// the xattr name filter, plus the composefs header in front of the superblock
// (containers/composefs libcomposefs/lcfs-erofs.h). All fields little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/bytes.h"
#include "base/mode.h"
#include "erofs/xxhash.h"

namespace bootseal::erofs {

inline constexpr uint32_t kBlockBits = 12;  // EROFS_BLKSIZ_BITS: composefs always uses 4 KiB
inline constexpr uint32_t kBlockSize = 1u << kBlockBits;
inline constexpr uint32_t kSlotBits = 5;  // EROFS_ISLOTBITS: inodes are 32-byte slot aligned
inline constexpr uint32_t kSlotSize = 1u << kSlotBits;

// struct lcfs_erofs_header_s (32 bytes at offset 0):
//   0 le32 magic  4 le32 version  8 le32 flags  12 le32 composefs_version  16 le32 unused[4]
inline constexpr uint32_t kComposefsMagic = 0xd078629a;  // LCFS_EROFS_MAGIC
inline constexpr uint32_t kComposefsHeaderVersion = 1;   // LCFS_EROFS_VERSION
inline constexpr uint32_t kComposefsFlagHasAcl = 1;      // LCFS_EROFS_FLAGS_HAS_ACL
inline constexpr uint32_t kComposefsHeaderSize = 32;
namespace cfs_header {
inline constexpr size_t magic = 0, version = 4, flags = 8, composefs_version = 12;
}  // namespace cfs_header

// struct erofs_super_block (128 bytes at EROFS_SUPER_OFFSET):
//   0 le32 magic            4 le32 checksum         8 le32 feature_compat
//  12 u8 blkszbits         13 u8 sb_extslots       14 le16 root_nid
//  16 le64 inos            24 le64 build_time      32 le32 build_time_nsec
//  36 le32 blocks          40 le32 meta_blkaddr    44 le32 xattr_blkaddr
//  48 u8 uuid[16]          64 u8 volume_name[16]   80 le32 feature_incompat
//  84 le16 u1 (compr algs) 86 le16 extra_devices   88 le16 devt_slotoff
//  90 u8 dirblkbits        91 u8 xattr_prefix_count 92 le32 xattr_prefix_start
//  96 le64 packed_nid     104 u8 xattr_filter_reserved 105 u8 reserved2[23]
inline constexpr uint32_t kSuperOffset = 1024;  // EROFS_SUPER_OFFSET
inline constexpr uint32_t kSuperSize = 128;
inline constexpr uint32_t kSuperMagic = 0xE0F5E1E2;  // EROFS_SUPER_MAGIC_V1
namespace sb {
inline constexpr size_t magic = 0, checksum = 4, feature_compat = 8, blkszbits = 12, sb_extslots = 13,
                        root_nid = 14, inos = 16, build_time = 24, build_time_nsec = 32, blocks = 36,
                        meta_blkaddr = 40, xattr_blkaddr = 44, uuid = 48, volume_name = 64,
                        feature_incompat = 80, extra_devices = 86, dirblkbits = 90, xattr_prefix_count = 91,
                        xattr_prefix_start = 92, packed_nid = 96;
}  // namespace sb
inline constexpr uint32_t kFeatureCompatSbChksum = 0x1;
inline constexpr uint32_t kFeatureCompatMtime = 0x2;
inline constexpr uint32_t kFeatureCompatXattrFilter = 0x4;
inline constexpr uint32_t kFeatureIncompatChunkedFile = 0x4;
inline constexpr uint32_t kFeatureIncompatDeviceTable = 0x8;

// i_format = datalayout << 1 | version.
inline constexpr uint16_t kInodeLayoutCompact = 0;
inline constexpr uint16_t kInodeLayoutExtended = 1;
inline constexpr uint16_t kFlatPlain = 0;        // EROFS_INODE_FLAT_PLAIN
inline constexpr uint16_t kCompressedFull = 1;   // EROFS_INODE_COMPRESSED_FULL
inline constexpr uint16_t kFlatInline = 2;       // EROFS_INODE_FLAT_INLINE (tail packed after the inode)
inline constexpr uint16_t kCompressedCompact = 3;
inline constexpr uint16_t kChunkBased = 4;       // EROFS_INODE_CHUNK_BASED
inline constexpr uint16_t kChunkFormatBlkbitsMask = 0x1f;
inline constexpr uint16_t kChunkFormatIndexes = 0x20;
inline constexpr uint32_t kNullAddr = 0xffffffff;  // EROFS_NULL_ADDR: a hole

// struct erofs_inode_compact (32 bytes):
//   0 le16 i_format  2 le16 i_xattr_icount  4 le16 i_mode  6 le16 i_nlink
//   8 le32 i_size   12 le32 i_reserved     16 le32 i_u (raw_blkaddr | rdev | chunk format)
//  20 le32 i_ino    24 le16 i_uid          26 le16 i_gid  28 le32 i_reserved2
// struct erofs_inode_extended (64 bytes):
//   0 le16 i_format  2 le16 i_xattr_icount  4 le16 i_mode  6 le16 i_reserved
//   8 le64 i_size   16 le32 i_u            20 le32 i_ino  24 le32 i_uid  28 le32 i_gid
//  32 le64 i_mtime  40 le32 i_mtime_nsec   44 le32 i_nlink  48 u8 i_reserved2[16]
inline constexpr uint32_t kInodeCompactSize = 32;
inline constexpr uint32_t kInodeExtendedSize = 64;
namespace inode {  // the fields at the same place in both layouts
inline constexpr size_t i_format = 0, i_xattr_icount = 2, i_mode = 4, i_u = 16, i_ino = 20;
}  // namespace inode
namespace inode_compact {
inline constexpr size_t i_nlink = 6, i_size = 8, i_uid = 24, i_gid = 26;
}  // namespace inode_compact
namespace inode_extended {
inline constexpr size_t i_size = 8, i_uid = 24, i_gid = 28, i_mtime = 32, i_mtime_nsec = 40, i_nlink = 44;
}  // namespace inode_extended
static_assert(inode_compact::i_gid + 2 <= kInodeCompactSize && inode_extended::i_nlink + 4 <= kInodeExtendedSize);

// struct erofs_xattr_ibody_header (12 bytes), then h_shared_count le32 shared
// xattr ids, then inline erofs_xattr_entry records:
//   0 le32 h_name_filter (bit set = name absent)  4 u8 h_shared_count  5 u8 reserved[7]
// struct erofs_xattr_entry (4 bytes + name + value, padded to 4):
//   0 u8 e_name_len  1 u8 e_name_index  2 le16 e_value_size
// i_xattr_icount = (ibody size - 12) / 4 + 1, or 0 without xattrs.
inline constexpr uint32_t kXattrIbodyHeaderSize = 12;
inline constexpr uint32_t kXattrEntrySize = 4;
namespace xattr_ibody {
inline constexpr size_t h_name_filter = 0, h_shared_count = 4, h_shared_xattrs = 12;
}  // namespace xattr_ibody
namespace xattr_entry {
inline constexpr size_t e_name_len = 0, e_name_index = 1, e_value_size = 2, e_name = 4;
}  // namespace xattr_entry
static_assert(xattr_ibody::h_shared_xattrs == kXattrIbodyHeaderSize && xattr_entry::e_name == kXattrEntrySize);
inline constexpr uint32_t kXattrFilterSeed = 0x25BBE08F;
inline constexpr uint32_t kXattrFilterBits = 32;
inline constexpr uint32_t kMaxSharedXattrsPerInode = 128;  // EROFS_XATTR_LONG_PREFIX (bit 7 marks long prefixes)
inline constexpr uint8_t kXattrLongPrefix = 0x80;

// Short xattr name prefixes by e_name_index (EROFS_XATTR_INDEX_*).
inline constexpr uint8_t kXattrIndexUser = 1;
inline constexpr uint8_t kXattrIndexPosixAclAccess = 2;
inline constexpr uint8_t kXattrIndexPosixAclDefault = 3;
inline constexpr uint8_t kXattrIndexTrusted = 4;
inline constexpr uint8_t kXattrIndexLustre = 5;
inline constexpr uint8_t kXattrIndexSecurity = 6;
inline constexpr std::string_view kXattrPrefixes[] = {
    "", "user.", "system.posix_acl_access", "system.posix_acl_default", "trusted.", "lustre.", "security.",
};

// struct erofs_dirent (12 bytes), an array at the start of each directory
// block; names follow without NUL, nameoff relative to the block:
//   0 le64 nid  8 le16 nameoff  10 u8 file_type  11 u8 reserved
inline constexpr uint32_t kDirentSize = 12;
namespace dirent {
inline constexpr size_t nid = 0, nameoff = 8, file_type = 10;
}  // namespace dirent
static_assert(dirent::file_type + 2 == kDirentSize);
inline constexpr uint32_t kMaxNameLength = 255;  // EROFS_NAME_LEN
enum FileType : uint8_t {
  kFtUnknown = 0,
  kFtRegFile = 1,
  kFtDir = 2,
  kFtChrdev = 3,
  kFtBlkdev = 4,
  kFtFifo = 5,
  kFtSock = 6,
  kFtSymlink = 7,
};
// EROFS file type of an st_mode.
uint8_t file_type_of_mode(uint32_t mode);

// ---- The encoding shared by the writers (erofs/writer.cc, composefs/image_v2.cc)
// and the reader: every field offset above is used here and nowhere else.

// An inode header, either layout. The compact layout keeps nlink, uid and gid in
// 16 bits, size in 32, and has no mtime (the superblock's build time stands in).
struct InodeHeader {
  uint16_t format = 0;  // datalayout << 1 | version
  uint16_t xattr_icount = 0;
  uint16_t mode = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  uint32_t i_u = 0;
  uint32_t ino = 0;
  uint32_t uid = 0, gid = 0;
  uint64_t mtime = 0;
  uint32_t mtime_nsec = 0;
  bool compact() const { return (format & 1) == kInodeLayoutCompact; }
  uint16_t layout() const { return static_cast<uint16_t>((format >> 1) & 7); }
};
inline uint16_t inode_format(uint16_t layout, bool compact) {
  return static_cast<uint16_t>(layout << 1 | (compact ? kInodeLayoutCompact : kInodeLayoutExtended));
}
// Writes h at p (kInodeCompactSize or kInodeExtendedSize bytes, by h.format;
// the reserved fields are left as they are: zero in a zero-filled buffer).
inline void store_inode(uint8_t* p, const InodeHeader& h) {
  store_le<uint16_t>(p + inode::i_format, h.format);
  store_le<uint16_t>(p + inode::i_xattr_icount, h.xattr_icount);
  store_le<uint16_t>(p + inode::i_mode, h.mode);
  store_le<uint32_t>(p + inode::i_u, h.i_u);
  store_le<uint32_t>(p + inode::i_ino, h.ino);
  if (h.compact()) {
    store_le<uint16_t>(p + inode_compact::i_nlink, static_cast<uint16_t>(h.nlink));
    store_le<uint32_t>(p + inode_compact::i_size, static_cast<uint32_t>(h.size));
    store_le<uint16_t>(p + inode_compact::i_uid, static_cast<uint16_t>(h.uid));
    store_le<uint16_t>(p + inode_compact::i_gid, static_cast<uint16_t>(h.gid));
  } else {
    store_le<uint64_t>(p + inode_extended::i_size, h.size);
    store_le<uint32_t>(p + inode_extended::i_uid, h.uid);
    store_le<uint32_t>(p + inode_extended::i_gid, h.gid);
    store_le<uint64_t>(p + inode_extended::i_mtime, h.mtime);
    store_le<uint32_t>(p + inode_extended::i_mtime_nsec, h.mtime_nsec);
    store_le<uint32_t>(p + inode_extended::i_nlink, h.nlink);
  }
}
// The format field alone (to learn the inode's size before reading the rest).
inline uint16_t load_inode_format(const uint8_t* p) { return load_le<uint16_t>(p + inode::i_format); }
// Reads an inode header at p, which holds the whole header of its layout.
inline InodeHeader load_inode(const uint8_t* p) {
  InodeHeader h;
  h.format = load_le<uint16_t>(p + inode::i_format);
  h.xattr_icount = load_le<uint16_t>(p + inode::i_xattr_icount);
  h.mode = load_le<uint16_t>(p + inode::i_mode);
  h.i_u = load_le<uint32_t>(p + inode::i_u);
  h.ino = load_le<uint32_t>(p + inode::i_ino);
  if (h.compact()) {
    h.nlink = load_le<uint16_t>(p + inode_compact::i_nlink);
    h.size = load_le<uint32_t>(p + inode_compact::i_size);
    h.uid = load_le<uint16_t>(p + inode_compact::i_uid);
    h.gid = load_le<uint16_t>(p + inode_compact::i_gid);
  } else {
    h.size = load_le<uint64_t>(p + inode_extended::i_size);
    h.uid = load_le<uint32_t>(p + inode_extended::i_uid);
    h.gid = load_le<uint32_t>(p + inode_extended::i_gid);
    h.mtime = load_le<uint64_t>(p + inode_extended::i_mtime);
    h.mtime_nsec = load_le<uint32_t>(p + inode_extended::i_mtime_nsec);
    h.nlink = load_le<uint32_t>(p + inode_extended::i_nlink);
  }
  return h;
}

// i_xattr_icount for an xattr ibody of `size` bytes (header, shared ids,
// entries), and back.
inline uint16_t xattr_icount_for(uint64_t ibody_size) {
  return ibody_size ? static_cast<uint16_t>((ibody_size - kXattrIbodyHeaderSize) / 4 + 1) : 0;
}
inline uint64_t xattr_ibody_size(uint16_t icount) {
  return icount ? kXattrIbodyHeaderSize + uint64_t{icount - 1u} * 4 : 0;
}
// The xattr ibody header: the name filter (a set bit means "no such name")
// and the count of shared xattr ids that follow it.
inline void store_xattr_ibody_header(uint8_t* p, uint32_t names_present_bits, uint8_t shared_count) {
  store_le<uint32_t>(p + xattr_ibody::h_name_filter, ~names_present_bits);
  p[xattr_ibody::h_shared_count] = shared_count;
}
// The filter bit of one xattr name (erofs_xattr_filter: xxh32 of the suffix,
// seeded with the prefix index).
inline uint32_t xattr_filter_bit(uint8_t index, std::string_view suffix) {
  return 1u << (xxh32(suffix.data(), suffix.size(), kXattrFilterSeed + index) & (kXattrFilterBits - 1));
}

// The short prefix index of an xattr name, and the name without it. lustre.
// is mapped only when `map_lustre`: libcomposefs deliberately leaves it
// unmapped (V0/V1), composefs-rs maps every prefix (V2).
inline uint8_t xattr_prefix_index(std::string_view name, std::string_view* suffix, bool map_lustre) {
  for (uint8_t i = static_cast<uint8_t>(std::size(kXattrPrefixes) - 1); i > 0; i--) {
    if (i == kXattrIndexLustre && !map_lustre) continue;
    if (name.starts_with(kXattrPrefixes[i])) {
      *suffix = name.substr(kXattrPrefixes[i].size());
      return i;
    }
  }
  *suffix = name;
  return 0;
}

// One erofs_xattr_entry: its size with padding, its 4-byte header, the whole entry.
inline uint64_t xattr_entry_size(size_t suffix_len, size_t value_len) {
  return round_up(kXattrEntrySize + suffix_len + value_len, 4);
}
inline void store_xattr_entry_header(uint8_t* p, uint8_t index, size_t suffix_len, size_t value_len) {
  p[xattr_entry::e_name_len] = static_cast<uint8_t>(suffix_len);
  p[xattr_entry::e_name_index] = index;
  store_le<uint16_t>(p + xattr_entry::e_value_size, static_cast<uint16_t>(value_len));
}
// Writes the entry at p (padding left as is); returns its padded size.
inline uint64_t store_xattr_entry(uint8_t* p, uint8_t index, std::string_view suffix, std::string_view value) {
  store_xattr_entry_header(p, index, suffix.size(), value.size());
  std::memcpy(p + xattr_entry::e_name, suffix.data(), suffix.size());
  std::memcpy(p + xattr_entry::e_name + suffix.size(), value.data(), value.size());
  return xattr_entry_size(suffix.size(), value.size());
}
struct XattrEntryHeader {
  uint8_t name_len, name_index;
  uint16_t value_size;
};
inline XattrEntryHeader load_xattr_entry_header(const uint8_t* p) {
  return {p[xattr_entry::e_name_len], p[xattr_entry::e_name_index], load_le<uint16_t>(p + xattr_entry::e_value_size)};
}

// One erofs_dirent.
inline void store_dirent(uint8_t* p, uint64_t nid, uint16_t nameoff, uint8_t file_type) {
  store_le<uint64_t>(p + dirent::nid, nid);
  store_le<uint16_t>(p + dirent::nameoff, nameoff);
  p[dirent::file_type] = file_type;
}
inline uint64_t load_dirent_nid(const uint8_t* p) { return load_le<uint64_t>(p + dirent::nid); }
inline uint16_t load_dirent_nameoff(const uint8_t* p) { return load_le<uint16_t>(p + dirent::nameoff); }

// The composefs header (flags: kComposefsFlagHasAcl or 0).
inline void store_composefs_header(uint8_t* p, uint32_t flags, uint32_t composefs_version) {
  store_le<uint32_t>(p + cfs_header::magic, kComposefsMagic);
  store_le<uint32_t>(p + cfs_header::version, kComposefsHeaderVersion);
  store_le<uint32_t>(p + cfs_header::flags, flags);
  store_le<uint32_t>(p + cfs_header::composefs_version, composefs_version);
}

}  // namespace bootseal::erofs
