// Applying OCI layers to an fstree::Tree, with composefs-rs's rules where
// the image spec leaves room (composefs-oci image.rs process_entry, tar.rs
// get_entry), so the merged tree and hence the digest equal bootc's:
//
//  - Paths: a leading "/" and "./" are dropped, "//" and "." components
//    ignored; ".." is an error. The parent directory must already exist
//    (parents are never created implicitly) and every parent component must be
//    a directory (no resolution through symlinks): both are errors.
//  - A root entry ("./", "/") must be a directory; it sets the root's stat.
//  - Whiteouts act in entry order, at that moment: ".wh.NAME" removes NAME,
//    ".wh..wh..opq" removes every child of its directory, including entries
//    added earlier in the same layer. Whiteout files never enter the tree.
//  - A directory entry over an existing directory replaces its stat (mode,
//    owner, mtime, xattrs) and keeps its children; anything else replaces
//    the existing entry.
//  - A hardlink shares the target's node (its own header is ignored); the
//    target must exist (in this or an earlier layer) and not be a directory.
//  - mode/uid/gid numeric from the header; mtime seconds from the header and
//    nanoseconds from PAX "mtime"; xattrs from SCHILY.xattr.* sorted by name.
//  - Regular files: the content goes to the caller's sink, which returns
//    either inline bytes (files of 64 bytes or less, as composefs-rs) or the
//    fs-verity digest of an object. Sparse files are expanded (composefs-rs
//    refuses them; umoci and tar extract them).
//  - Character/block devices: rdev = makedev(major, minor). Sockets: error.
// Errors name the layer and the entry.
#pragma once

#include <functional>
#include <string>

#include "base/error.h"
#include "fstree/tree.h"
#include "tar/reader.h"

namespace bootseal::oci {

inline constexpr uint64_t kInlineContentMax = 64;  // composefs-rs INLINE_CONTENT_MAX_V0
inline constexpr const char* kWhiteoutPrefix = ".wh.";
inline constexpr const char* kOpaqueWhiteout = ".wh..wh..opq";

// What the sink made of a regular file's data.
struct FileData {
  Bytes inline_content;  // set when size <= kInlineContentMax
  Bytes digest;          // fs-verity digest of an external object otherwise
};

// Reads the current entry's data from `reader` (exactly entry.size bytes).
using ContentSink = std::function<Result<FileData>(const tar::Entry& entry, tar::Reader& reader)>;

// Normalises a tar path into components (see above). Empty = the root.
Result<std::vector<std::string>> normalize_path(std::string_view path);

class Applier {
 public:
  // The tree starts as an empty root directory (mode 0755, uid/gid 0, mtime 0)
  // unless one is given.
  Applier(fstree::Tree& tree, ContentSink sink);

  // Applies one layer; `layer` names it in errors.
  Status apply_layer(tar::Reader& reader);
  // Applies one entry (exposed for tests and fuzzing). Regular-file data is
  // read from `reader` through the sink.
  Status apply_entry(const tar::Entry& entry, tar::Reader& reader);
  // Applies an entry whose regular-file data is already resolved (a replayed
  // layer record).
  Status apply_resolved(const tar::Entry& entry, const FileData& data);

  uint64_t entries() const { return entries_; }

 private:
  Status apply_impl(const tar::Entry& entry, const std::function<Result<FileData>()>& data);
  fstree::Tree& tree_;
  ContentSink sink_;
  uint64_t entries_ = 0;
};

// A sink that keeps files of 64 bytes or less inline and digests larger ones
// with fs-verity parameters given by `digest_fn` (for digests without a
// store). digest_fn gets the reader and the entry and returns the digest.
ContentSink inline_or(std::function<Result<Bytes>(const tar::Entry&, tar::Reader&)> digest_fn);

// Object path of a digest in the repository: "ab/cdef...".
std::string object_path(ByteSpan digest);

// Final pass after all layers (and after transforms): hardlink flags by
// depth-first sorted order (the first name owns the inode), nlink from the
// tree (directories 2 + subdirectories, others the number of names).
void finalize_links(fstree::Tree& tree);

}  // namespace bootseal::oci
