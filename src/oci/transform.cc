#include "oci/transform.h"

#include <functional>
#include <unordered_set>

namespace bootseal::oci {

using fstree::Node;

namespace {

constexpr const char* kAllowedXattr = "security.capability";

Result<Node*> top_dir(const fstree::Tree& tree, const char* name, bool required) {
  fstree::Entry* e = tree.root->find_child(name);
  if (!e) {
    if (required) return input_error("/{} does not exist", name);
    return static_cast<Node*>(nullptr);
  }
  if (!e->node->is_dir()) return input_error("/{} is not a directory", name);
  return e->node.get();
}

}  // namespace

Status transform_for_oci(fstree::Tree& tree, XattrMode mode) {
  Node* usr = BS_TRY_CTX(top_dir(tree, "usr", true), "OCI transform");
  Node& root = *tree.root;
  root.mode = base::kIfDir | (usr->mode & 07777);
  root.uid = usr->uid;
  root.gid = usr->gid;
  root.mtime_sec = usr->mtime_sec;
  root.mtime_nsec = usr->mtime_nsec;
  root.xattrs = usr->xattrs;

  if (Node* run = BS_TRY_CTX(top_dir(tree, "run", false), "OCI transform")) {
    run->mtime_sec = usr->mtime_sec;
    run->mtime_nsec = usr->mtime_nsec;
    run->children.clear();
  }

  auto keep = [mode](const fstree::Xattr& x) {
    if (x.name == kAllowedXattr) return true;
    return mode == XattrMode::kKeepUser && x.name.starts_with("user.");
  };
  std::unordered_set<const Node*> done;
  std::function<void(Node&)> visit = [&](Node& n) {
    if (!done.insert(&n).second) return;
    std::erase_if(n.xattrs, [&](const fstree::Xattr& x) { return !keep(x); });
    for (auto& c : n.children) visit(*c.node);
  };
  visit(root);
  return {};
}

Status transform_for_boot(fstree::Tree& tree, const ReadFileFn& read) {
  Node* usr = BS_TRY_CTX(top_dir(tree, "usr", true), "boot transform");
  for (const char* name : {"boot", "sysroot"}) {
    Node* d = BS_TRY_CTX(top_dir(tree, name, true), "boot transform");
    d->children.clear();
    d->mtime_sec = usr->mtime_sec;
  }
  BS_TRY_CTX(selinux_relabel(tree, read), "boot transform");
  return {};
}

}  // namespace bootseal::oci
