// EROFS on-disk format (Linux fs/erofs/erofs_fs.h), the subset composefs
// images use: uncompressed 4 KiB blocks, compact and extended inodes, flat
// (plain/inline) and chunk-based data, dirents, inline and shared xattrs with
// the xattr name filter, plus the composefs header in front of the superblock
// (containers/composefs libcomposefs/lcfs-erofs.h). All fields little-endian.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/mode.h"

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

// struct erofs_xattr_ibody_header (12 bytes), then h_shared_count le32 shared
// xattr ids, then inline erofs_xattr_entry records:
//   0 le32 h_name_filter (bit set = name absent)  4 u8 h_shared_count  5 u8 reserved[7]
// struct erofs_xattr_entry (4 bytes + name + value, padded to 4):
//   0 u8 e_name_len  1 u8 e_name_index  2 le16 e_value_size
// i_xattr_icount = (ibody size - 12) / 4 + 1, or 0 without xattrs.
inline constexpr uint32_t kXattrIbodyHeaderSize = 12;
inline constexpr uint32_t kXattrEntrySize = 4;
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

}  // namespace bootseal::erofs
