// A validating EROFS reader for composefs images (any image mkcomposefs,
// composefs-rs or this project's writer produce): uncompressed, 4 KiB blocks,
// compact/extended inodes, flat plain/inline and chunk-based data, inline and
// shared xattrs with short prefixes. Nothing in the image is trusted: every
// offset and length is bounds-checked, nids must point inside the image,
// recursion depth and entry counts are capped, directories may not be
// reached twice. Errors name the inode (nid) and the problem.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/error.h"
#include "fstree/tree.h"

namespace bootseal::erofs {

struct ReadLimits {
  uint32_t max_depth = 1024;           // directory nesting
  uint64_t max_entries = 1ull << 24;   // names in the whole tree
  // Directory and inline-file bytes read in total, beyond this many times the
  // image size (inodes may share data blocks; this bounds the work).
  uint64_t max_data_factor = 16;
  // composefs-info compatibility: libcomposefs reads a "trusted.overlay.redirect"
  // value starting with '/' two bytes past its end (value_size++ where -- was
  // meant), so its payload picks up the following bytes up to a NUL. When set,
  // such a value is returned with those two image bytes appended.
  bool redirect_overread = false;
};

struct SuperInfo {
  uint32_t feature_compat = 0;
  uint32_t feature_incompat = 0;
  uint16_t root_nid = 0;
  uint64_t inos = 0;
  int64_t build_time = 0;
  uint32_t build_time_nsec = 0;
  uint32_t blocks = 0;
  uint32_t meta_blkaddr = 0;
  uint32_t xattr_blkaddr = 0;
};
Result<SuperInfo> read_super(ByteSpan image);

// The raw tree: every inode once (the first name met depth-first, in
// directory order, is the primary, later names are hardlinks), xattrs with
// their full names in stored order (inline entries, then shared ones),
// symlink targets as payloads, flat regular files with their content,
// chunk-based regular files with only their size. Compact inodes take the
// superblock's build time as mtime.
Result<fstree::Tree> read_image(ByteSpan image, const ReadLimits& limits = {});

}  // namespace bootseal::erofs
