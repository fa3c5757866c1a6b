#include "deploy/checkout.h"

#include <map>

#include "sys/file.h"
#include "sys/tree.h"
#include "sys/fsops.h"

namespace bootseal::deploy {
namespace {

struct Ctx {
  const std::string& objects;
  std::map<const fstree::Node*, std::string> linked;  // first checked-out path of each multi-linked node
  CheckoutStats stats;
};

Status apply_meta(const std::string& path, const fstree::Node& n) {
  BS_TRY(sys::set_owner(path, n.uid, n.gid));
  if (!n.is_symlink()) BS_TRY(sys::set_mode(path, n.mode));
  for (const auto& x : n.xattrs) BS_TRY(sys::set_xattr(path, x.name, x.value));
  return {};
}

Status put(Ctx& c, const std::string& path, const fstree::Node& n) {
  if (n.nlink > 1 && !n.is_dir()) {
    auto it = c.linked.find(&n);
    if (it != c.linked.end()) return sys::make_hardlink(it->second, path);
    c.linked[&n] = path;
  }
  switch (n.type()) {
    case fstree::FileType::kDirectory: {
      BS_TRY(sys::make_dir(path, 0700));
      c.stats.dirs++;
      for (const auto& e : n.children) {
        if (e.node->is_whiteout()) continue;
        BS_TRY(put(c, path + "/" + e.name, *e.node));
      }
      BS_TRY(apply_meta(path, n));
      break;
    }
    case fstree::FileType::kRegular: {
      if (n.payload && n.content.empty() && n.size > 0) {
        BS_TRY(sys::copy_new_file(c.objects + "/" + *n.payload, path, 0600));
      } else {
        sys::Fd fd = BS_TRY(sys::open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0600));
        BS_TRY(sys::write_full(fd.get(), n.content, path));
      }
      c.stats.files++;
      c.stats.bytes += n.size;
      BS_TRY(apply_meta(path, n));
      break;
    }
    case fstree::FileType::kSymlink:
      BS_TRY(sys::make_symlink(n.payload.value_or(""), path));
      BS_TRY(apply_meta(path, n));
      break;
    case fstree::FileType::kCharDev:
    case fstree::FileType::kBlockDev:
    case fstree::FileType::kFifo:
    case fstree::FileType::kSocket:
      BS_TRY(sys::make_node(path, n.mode, n.rdev));
      BS_TRY(apply_meta(path, n));
      break;
  }
  return sys::set_mtime(path, n.mtime_sec, n.mtime_nsec);
}

}  // namespace

Result<CheckoutStats> checkout(const fstree::Tree& tree, std::string_view subpath, const std::string& objects_dir,
                               const std::string& dest) {
  fstree::NodePtr node = fstree::lookup(tree, subpath);
  if (!node) return input_error("the image has no {}", subpath);
  if (!node->is_dir()) return input_error("{} in the image is not a directory", subpath);
  if (auto st = sys::lstat_optional(dest)) {
    if (!S_ISDIR(st->st_mode)) return input_error("{}: exists and is not a directory", dest);
  } else {
    BS_TRY(sys::mkdir_p(sys::dirname_of(dest)));
  }
  Ctx c{objects_dir, {}, {}};
  BS_TRY_CTX(put(c, dest, *node), "checking out {}", subpath);
  return c.stats;
}

}  // namespace bootseal::deploy
