// Materialises (part of) a composefs tree into a real directory: directories,
// regular files (inline content, or copied from the object store by payload
// path), symlinks, devices, fifos, hardlinks; owner, mode, xattrs and mtimes.
// Used to seed a deployment's writable /etc and /var from its image.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "fstree/tree.h"

namespace bootseal::deploy {

struct CheckoutStats {
  uint64_t files = 0, dirs = 0, bytes = 0;
};

// Checks out the subtree at `subpath` ("/etc") of `tree` into `dest` (which must
// not exist, or be an empty directory). Regular files with a payload are copied
// from `objects_dir/<payload>`. Whiteouts (0/0 character devices) are skipped.
Result<CheckoutStats> checkout(const fstree::Tree& tree, std::string_view subpath, const std::string& objects_dir,
                               const std::string& dest);

}  // namespace bootseal::deploy
