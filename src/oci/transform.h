// The tree transforms that define the boot digest, bit for bit as
// composefs-rs applies them (generic_tree.rs transform_for_oci,
// composefs-boot transform_for_boot); see notes/composefs-rs-compat.md §3.
#pragma once

#include "base/error.h"
#include "fstree/tree.h"
#include "oci/selabel.h"

namespace bootseal::oci {

enum class XattrMode {
  kAllowlist,  // keep only security.capability (composefs-rs AllowlistOnly, the default)
  kKeepUser,   // also keep user.* (KeepUserXattrs)
};

// 1. the root takes /usr's mode, uid, gid, mtime (sec and nsec) and xattrs
//    (error if /usr is missing or not a directory);
// 2. /run, if present, is emptied and takes /usr's mtime (sec and nsec);
// 3. xattrs are filtered per `mode` on every inode.
Status transform_for_oci(fstree::Tree& tree, XattrMode mode);

// /boot and /sysroot must exist as directories; their children are removed
// and their mtime seconds set to /usr's (nsec untouched). Then the SELinux
// relabel from the tree's own policy (selabel.h); `read` supplies the content
// of policy files stored as external objects (inline ones need no reader).
Status transform_for_boot(fstree::Tree& tree, const ReadFileFn& read = {});

}  // namespace bootseal::oci
