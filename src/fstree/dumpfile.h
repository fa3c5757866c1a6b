// The composefs dumpfile: a text description of a tree, one file per line
// (containers/composefs man/composefs-dump.md; parser semantics of
// tools/mkcomposefs.c, printer semantics of tools/composefs-info.c "dump").
//
//   PATH SIZE MODE NLINK UID GID RDEV MTIME PAYLOAD CONTENT DIGEST [KEY=VALUE]...
//
// Fields are separated by single spaces, lines by '\n'. Escapes: "\\", "\n",
// "\r", "\t", "\xHH"; "-" alone means "absent" (a real "-" is written "\x2d").
// MODE is octal and starts with '@' for a hardlink, whose PAYLOAD is the path
// of the file it links to (the target may appear later; other fields of a
// hardlink line are ignored). MTIME is "SEC.NSEC" where NSEC is a plain
// integer ("1.5" = 1 s 5 ns); SEC may be negative. DIGEST is the fs-verity
// digest in hex (64 digits SHA-256, 128 digits SHA-512).
//
// Parser limits (as mkcomposefs): symlink target 1..4095 bytes, payload < 4096
// bytes, inline content <= 5000 bytes and equal to SIZE, names <= 255 bytes,
// xattr names 1..255 bytes, values <= 65535 bytes, per-inode xattr budget
// sum(7 + name + value) + 12 <= 32767, trailing xattr text <= 65535 bytes.
// Deviations, all stricter: a DIGEST must be 64 or 128 hex digits, NUL bytes in
// paths, payloads and xattr names are errors, and every integer field is checked
// (mkcomposefs ignores some bad GID/RDEV values).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "fstree/tree.h"

namespace bootseal::fstree {

inline constexpr size_t kMaxInlineContent = 5000;  // LCFS_INLINE_CONTENT_MAX
inline constexpr size_t kMaxPathLength = 4096;      // PATH_MAX: payloads and targets are shorter
inline constexpr size_t kMaxXattrNameLength = 255;  // XATTR_NAME_MAX
inline constexpr size_t kMaxXattrValueLength = 65535;
inline constexpr size_t kMaxXattrBudget = 32767;  // LCFS_INODE_EXTERNAL_XATTR_MAX

// Parses a whole dumpfile. Errors read "line N: reason". A missing trailing
// newline on the last line is accepted.
Result<Tree> parse_dumpfile(std::string_view text);

// Prints a tree as composefs-info dump does: depth-first in name order, root
// first, hardlinks as "@" lines whose PAYLOAD is the primary's path and whose
// other fields are the primary's. Xattrs are printed in the node's order.
std::string print_dumpfile(const Tree& tree);

// The escaping rules of composefs-info's print_escaped():
//   kStandard: '\\' '\n' '\r' '\t' as two-char escapes; any byte that is not
//              isgraph() in the C locale (space included) as \xHH.
//   kLoneDash: as kStandard, plus a value that is exactly "-" becomes "\x2d".
//   kEqual:    as kStandard, plus '=' becomes "\x3d" (xattr names and values).
//   kKeepSpace: as kStandard but only non-isprint() bytes are hex-escaped, so
//              spaces stay (composefs-info ls paths).
enum class Escape { kStandard, kLoneDash, kEqual, kKeepSpace };
std::string escape(std::string_view s, Escape mode);
// Undoes escape(); errors on a bad escape sequence.
Result<std::string> unescape(std::string_view s);

}  // namespace bootseal::fstree
