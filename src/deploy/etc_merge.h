// The /etc three-way merge of an upgrade (ostree and bootc semantics): the
// new deployment's /etc starts as the new image's /etc; every local change
// (a path of the running /etc that differs from the old image's /etc in type,
// mode, owner, content or link target, or that the old image lacks) is
// carried over on top, and every path the old image had but the running
// /etc lost is removed. Local changes win over image changes.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "fstree/tree.h"

namespace bootseal::deploy {

struct MergeReport {
  std::vector<std::string> kept;     // local additions and modifications carried over ("/etc/...")
  std::vector<std::string> removed;  // local deletions applied
};

// `old_image` and `new_image` are the deployments' image trees; `objects` the
// repository's objects/ directory; `current_etc` the running deployment's
// writable /etc; `dest` must not exist.
Result<MergeReport> merge_etc(const fstree::Tree& old_image, const std::string& current_etc,
                              const fstree::Tree& new_image, const std::string& objects, const std::string& dest);

}  // namespace bootseal::deploy
