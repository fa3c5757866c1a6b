// Builds an fstree from a real directory the way mkcomposefs does (stat data,
// xattrs, symlink targets; regular files referenced by their fs-verity digest
// as "xx/yyyy..." payloads, files of at most 64 bytes also inlined), hashing
// files in parallel and optionally copying each into an object store in the
// same read pass.
#pragma once

#include <string>

#include "base/error.h"
#include "crypto/hash.h"
#include "fstree/tree.h"

namespace bootseal::cli {

struct ScanOptions {
  bool use_epoch = false;     // all mtimes 0
  bool skip_xattrs = false;
  bool user_xattrs = false;   // only user.* xattrs
  bool skip_devices = false;  // no block/char devices below the root
  // Detect hardlinks by (st_dev, st_ino) and keep st_nlink. mkcomposefs does
  // neither (every name is its own inode with nlink 1), so it is off for
  // byte-identical output.
  bool hardlinks = false;
  std::string digest_store;   // copy external files to DIR/xx/yyyy... if set
  crypto::HashAlg hash = crypto::HashAlg::kSha256;
  bool progress = false;
};

inline constexpr uint64_t kRecommendedInlineMax = 64;  // LCFS_RECOMMENDED_INLINE_CONTENT_MAX

struct ScanStats {
  uint64_t files = 0, bytes = 0, objects_written = 0, objects_existing = 0;
  // Wall seconds: the walk with hashing (and copying) overlapped, the final syncfs.
  double hash_seconds = 0, sync_seconds = 0;
};

Result<fstree::Tree> scan_directory(const std::string& root, const ScanOptions& o, ScanStats* stats = nullptr);

// "ab/cdef..." for a digest.
std::string object_path(ByteSpan digest);

}  // namespace bootseal::cli
