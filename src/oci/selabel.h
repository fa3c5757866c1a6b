// SELinux relabelling of a tree from the tree's own policy, bit for bit as
// composefs-rs composefs-boot/src/selabel.rs does it (notes/composefs-rs-
// compat.md §3, docs/formats/oci.md "SELinux relabel"):
//   - etc/selinux/config: the first line "KEY=VALUE" whose trimmed KEY is
//     SELINUXTYPE (any case) names the policy X (VALUE trimmed);
//   - etc/selinux/X/contexts/files/file_contexts (required), .local and
//     .homedirs hold "REGEX [-T] CONTEXT" lines (T one of b c d p l s -,
//     '#' comments, blank lines skipped); each becomes ^(REGEX)T$ (or
//     ^(REGEX).$ without a type) matched against "<path><type char>";
//   - .subs and .subs_dist hold "ALIAS ORIGINAL" exact-path aliases (later
//     lines and files override earlier ones);
//   - the LAST matching line wins; "<<none>>" removes the label; no match
//     removes it too;
//   - directories (the root included, path "/") are matched as 'd';
//   - a hardlinked inode takes the label of its first name in depth-first
//     name order; a later name whose label differs gets its own copy of the
//     inode (compared with the first name's label, so two later names with
//     the same differing label get two copies, as composefs-rs does);
//   - without etc/selinux, config or SELINUXTYPE, every security.selinux
//     xattr is removed.
// Regex dialect: composefs-rs uses the Rust regex crate (bytes, Unicode off,
// PCRE2 fallback for lookarounds); this uses RE2 in Latin-1 (byte) mode with
// '.' matching newlines, the same syntax family with the same linear-time
// guarantee, so a hostile policy cannot make a relabel run for ever (a regex
// whose program exceeds 1 MiB is refused). Known differences: lookarounds
// and backreferences are a policy error here. Lines split on ASCII whitespace
// (Rust: Unicode whitespace), and policy files need not be UTF-8 (Rust
// refuses them).
// Matching cost: each line's literal prefix filters it before the regex runs
// (6000 lines x 5000 files relabel in about 0.2 s).
#pragma once

#include <functional>
#include <string>

#include "base/bytes.h"
#include "base/error.h"
#include "fstree/tree.h"

namespace bootseal::oci {

// Reads the content of a regular file of the tree that has no inline
// content (an external object). `path` is the file's absolute tree path.
using ReadFileFn = std::function<Result<Bytes>(const std::string& path, const fstree::Node& node)>;

inline constexpr const char* kSelinuxXattr = "security.selinux";

// Relabels `tree` in place. Returns true if a policy was applied, false if
// labels were stripped. Errors: unreadable or malformed policy files, bad
// regexes, a policy directory or file_contexts that is missing.
Result<bool> selinux_relabel(fstree::Tree& tree, const ReadFileFn& read);

}  // namespace bootseal::oci
