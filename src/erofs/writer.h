// The composefs EROFS layout writer: a pure function tree -> image bytes,
// byte-identical to libcomposefs's lcfs_write_erofs_to() (containers/composefs
// v1.0.8) for the same (already rewritten) tree. See docs/formats/erofs.md.
//
// The caller (composefs/) has applied composefs policy first: overlay xattrs,
// whiteouts turned into regular files, the 00..ff stubs. This writer adds "."
// and ".." itself, numbers inodes breadth-first (hardlink entries skipped),
// recounts directory nlink, sorts each inode's xattrs, shares every (name,
// value) pair used by more than one inode, chooses compact or extended inodes,
// packs tails without crossing block boundaries, and emits header, superblock,
// inodes, shared xattrs and data blocks. It plans the layout first, then emits
// and checks every region's offset against the plan.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/error.h"
#include "fstree/tree.h"

namespace bootseal::erofs {

struct WriterOptions {
  // Stored in the composefs header's composefs_version field.
  uint32_t composefs_version = 1;
};

// Errors: a node of unknown type, inline content whose length is not the
// size, an external file needing more than 1024 chunks, too many xattrs for
// an inode, a hardlink to a node that has no primary entry in the tree.
Result<Bytes> write_image(const fstree::Tree& tree, const WriterOptions& options);

// Chunk size bits EROFS uses for an external file of `size` bytes (>0):
// max(12, bits(size - 1)), at most 12 + 31.
uint32_t chunk_bits_for(uint64_t size);
inline constexpr uint32_t kMaxExternalChunks = 1024;  // LCFS_MAX_NONINLINE_CHUNKS

}  // namespace bootseal::erofs
