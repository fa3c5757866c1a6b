// In-memory filesystem tree: the common currency of composefs images, the
// directory scanner, OCI layer application and the EROFS reader.
//
// Model (the same as libcomposefs's lcfs_node_s):
//   - A Node is one inode: stat fields, xattrs, and per type a symlink target,
//     an external payload path plus fs-verity digest, or inline content; a
//     directory Node holds its children.
//   - A directory's children are Entries {name, node, hardlink}, kept sorted
//     bytewise (strcmp order) by name, unique, never "." or "..".
//   - Hardlinks: several Entries share one Node (std::shared_ptr). Exactly one
//     of them is the primary (hardlink == false), the others are links
//     (hardlink == true). Writers place the inode at the primary's position;
//     the dumpfile prints links as "@" lines naming the primary's path.
//     Directories are never hardlinked.
//   - Whiteouts are what they are in the kernel and in OCI: character devices
//     with rdev 0 (composefs turns them into overlay xattrs when writing).
//   - Xattrs: an ordered list of (name, value) byte strings, names unique.
//
// Everything is plain data: no I/O, no validation beyond what the setters
// document. Parsers and writers check limits themselves.
#pragma once

#include "base/mode.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::fstree {

// st_mode file type bits (base::kIfMt), named for readability.
enum class FileType : uint32_t {
  kFifo = base::kIfIfo,
  kCharDev = base::kIfChr,
  kDirectory = base::kIfDir,
  kBlockDev = base::kIfBlk,
  kRegular = base::kIfReg,
  kSymlink = base::kIfLnk,
  kSocket = base::kIfSock,
};

// True if the base::kIfMt bits of `mode` are one of the seven known types.
bool valid_mode(uint32_t mode);

// One extended attribute. Both strings are arbitrary bytes; the name holds the
// full "namespace.name" ("user.foo", "security.selinux", ...).
struct Xattr {
  std::string name;
  std::string value;
  bool operator==(const Xattr&) const = default;
};

struct Node;
using NodePtr = std::shared_ptr<Node>;

// A directory entry.
struct Entry {
  std::string name;
  NodePtr node;
  bool hardlink = false;  // a secondary name of `node` (see file comment)
};

struct Node {
  // Stat fields. mode includes the base::kIfMt type bits.
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 1;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint64_t rdev = 0;  // character and block devices only
  // Regular: file size. Symlink: target length. Directories: whatever the
  // source said (writers compute their own).
  uint64_t size = 0;

  // Symlink: the target. Regular file: the backing object path relative to
  // the object store ("ab/cdef..."), if any. Otherwise unset.
  std::optional<std::string> payload;
  // Regular file: inline content (size == content.size()); empty = none.
  Bytes content;
  // Regular file: fs-verity digest of the content (32 bytes for SHA-256,
  // 64 for SHA-512); empty = none.
  Bytes digest;

  std::vector<Xattr> xattrs;
  // Directories only: sorted by name, bytewise.
  std::vector<Entry> children;

  FileType type() const { return static_cast<FileType>(mode & base::kIfMt); }
  bool is_dir() const { return (mode & base::kIfMt) == base::kIfDir; }
  bool is_reg() const { return (mode & base::kIfMt) == base::kIfReg; }
  bool is_symlink() const { return (mode & base::kIfMt) == base::kIfLnk; }
  bool is_whiteout() const { return (mode & base::kIfMt) == base::kIfChr && rdev == 0; }

  // Children (binary search). nullptr / npos if absent.
  const Entry* find_child(std::string_view name) const;
  Entry* find_child(std::string_view name);
  // Inserts keeping the order. Errors: not a directory, empty name, name with
  // '/' or NUL, "." or "..", longer than 255 bytes, or already present.
  Status add_child(std::string name, NodePtr node, bool hardlink = false);
  // Removes a child; returns false if absent.
  bool remove_child(std::string_view name);

  // Xattrs. set_xattr replaces an existing value with libcomposefs's order
  // semantics (the old entry is removed by moving the last one into its
  // place, the new one appended), so trees read back list xattrs exactly as
  // composefs-info does.
  const Xattr* find_xattr(std::string_view name) const;
  void set_xattr(std::string name, std::string value);
  bool remove_xattr(std::string_view name);
  // Sorts xattrs by name (bytewise): the canonical order writers use.
  void sort_xattrs();
};

// A new node of the given mode (type and permission bits), nlink 1 (2 for dirs).
NodePtr make_node(uint32_t mode);
// A new directory node with the given permission bits.
NodePtr make_dir(uint32_t perm = 0755);

struct Tree {
  NodePtr root;
};

// Splits an absolute or relative path into components, ignoring repeated
// slashes. Errors on "." or ".." components, empty components at the end
// ("a/"), or NUL bytes.
Result<std::vector<std::string>> split_path(std::string_view path);

// Looks a path up from the root, following directory entries (not symlinks).
// "/" or "" is the root. nullptr if any component is missing.
NodePtr lookup(const Tree& tree, std::string_view path);

// Depth-first walk in dumpfile order: the root (path "/", entry nullptr) then
// each directory's children in name order, recursing into directories right
// after their own entry. Paths are "/a/b". Stops early if `fn` returns false.
using WalkFn = std::function<bool(const std::string& path, const Entry* entry, const Node& node)>;
void walk(const Tree& tree, const WalkFn& fn);

// Counts: inodes (distinct nodes) and entries (all names, root included).
struct TreeStats {
  uint64_t inodes = 0;
  uint64_t entries = 0;
  uint64_t regular_bytes = 0;
};
TreeStats stats(const Tree& tree);

// A deep copy: new nodes, hardlinks preserved (shared nodes stay shared).
Tree clone(const Tree& tree);

// Structural equality (stat fields, payloads, content, digests, xattrs in
// order, children, hardlink flags and sharing). For tests and round trips.
bool equal(const Tree& a, const Tree& b, std::string* first_difference = nullptr);

}  // namespace bootseal::fstree
