#include "deploy/etc_merge.h"

#include <algorithm>
#include <vector>

#include "deploy/checkout.h"
#include "sys/dirscan.h"
#include "sys/file.h"
#include "sys/fileops.h"
#include "sys/fsops.h"
#include "sys/tree.h"

namespace bootseal::deploy {
namespace {

constexpr int kMaxDepth = 64;

Result<Bytes> node_content(const fstree::Node& n, const std::string& objects) {
  if (n.payload && n.content.empty() && n.size > 0) return sys::read_file(objects + "/" + *n.payload);
  return n.content;
}

// Whether the local path differs from the image's node (metadata, content).
Result<bool> differs(const std::string& path, const struct stat& st, const fstree::Node& n, const std::string& objects) {
  if ((st.st_mode & S_IFMT) != (n.mode & S_IFMT)) return true;
  if (st.st_uid != n.uid || st.st_gid != n.gid) return true;
  if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != (n.mode & 07777)) return true;
  if (S_ISLNK(st.st_mode)) return BS_TRY(sys::read_link(path)) != n.payload.value_or("");
  if (S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) != n.size) return true;
    Bytes local = BS_TRY(sys::read_file(path));
    return local != BS_TRY(node_content(n, objects));
  }
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return static_cast<uint64_t>(st.st_rdev) != n.rdev;
  return false;
}

// Copies a local path (file, symlink, directory with its subtree) to `to`.
Status copy_local(const std::string& from, const struct stat& st, const std::string& to, int depth) {
  if (depth > kMaxDepth) return input_error("{}: nested too deeply", from);
  if (S_ISDIR(st.st_mode)) {
    BS_TRY(sys::make_dir(to, 0700));
    for (const std::string& name : BS_TRY(sys::list_names(from))) {
      struct stat cst = BS_TRY(sys::lstat_path(from + "/" + name));
      BS_TRY(copy_local(from + "/" + name, cst, to + "/" + name, depth + 1));
    }
  } else if (S_ISREG(st.st_mode)) {
    BS_TRY(sys::copy_new_file(from, to, st.st_mode & 07777));
  } else if (S_ISLNK(st.st_mode)) {
    BS_TRY(sys::make_symlink(BS_TRY(sys::read_link(from)), to));
  } else {
    BS_TRY(sys::make_node(to, st.st_mode, st.st_rdev));
  }
  BS_TRY(sys::set_owner(to, st.st_uid, st.st_gid));
  if (!S_ISLNK(st.st_mode)) BS_TRY(sys::set_mode(to, st.st_mode & 07777));
  return sys::set_mtime(to, st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec));
}

Status remove_any(const std::string& path) {
  auto st = sys::lstat_optional(path);
  if (!st) return {};
  if (S_ISDIR(st->st_mode)) return sys::remove_tree(path);
  return sys::remove_file(path);
}

struct Merger {
  const std::string& objects;
  MergeReport report;

  // `rel` is the path under /etc ("" for /etc itself); `old` the old image's node there.
  Status walk(const std::string& local, const std::string& dest, const std::string& rel, const fstree::Node* old,
              int depth) {
    if (depth > kMaxDepth) return input_error("{}: nested too deeply", local);
    std::vector<std::string> names = BS_TRY(sys::list_names(local));
    for (const std::string& name : names) {
      std::string lp = local + "/" + name, dp = dest + "/" + name, r = rel + "/" + name;
      struct stat st = BS_TRY(sys::lstat_path(lp));
      const fstree::Node* on = nullptr;
      if (old && old->is_dir())
        if (const fstree::Entry* e = old->find_child(name); e && !e->node->is_whiteout()) on = e->node.get();
      if (on && S_ISDIR(st.st_mode) && on->is_dir()) {
        // Same directory on both sides: recurse; a changed mode/owner carries over.
        auto dst = sys::lstat_optional(dp);
        bool in_new = dst && S_ISDIR(dst->st_mode);
        if (!in_new) {
          BS_TRY(remove_any(dp));
          BS_TRY(sys::make_dir(dp, st.st_mode & 07777));
        }
        if (!in_new || st.st_uid != on->uid || st.st_gid != on->gid || (st.st_mode & 07777) != (on->mode & 07777)) {
          BS_TRY(sys::set_owner(dp, st.st_uid, st.st_gid));
          BS_TRY(sys::set_mode(dp, st.st_mode & 07777));
          if (in_new) report.kept.push_back("/etc" + r);
        }
        BS_TRY(walk(lp, dp, r, on, depth + 1));
        continue;
      }
      if (on && !BS_TRY(differs(lp, st, *on, objects))) continue;  // untouched: the new image's version stands
      BS_TRY(remove_any(dp));
      BS_TRY(copy_local(lp, st, dp, depth + 1));
      report.kept.push_back("/etc" + r);
    }
    // Paths the old image had that are gone locally: deleted by the admin.
    if (old && old->is_dir()) {
      for (const auto& e : old->children) {
        if (e.node->is_whiteout() || std::binary_search(names.begin(), names.end(), e.name)) continue;
        std::string dp = dest + "/" + e.name;
        if (!sys::lstat_optional(dp)) continue;
        BS_TRY(remove_any(dp));
        report.removed.push_back("/etc" + rel + "/" + e.name);
      }
    }
    return {};
  }
};

}  // namespace

Result<MergeReport> merge_etc(const fstree::Tree& old_image, const std::string& current_etc,
                              const fstree::Tree& new_image, const std::string& objects, const std::string& dest) {
  if (sys::path_exists(dest)) return input_error("{}: already exists", dest);
  BS_TRY_CTX(checkout(new_image, "/etc", objects, dest), "the new image's /etc");
  fstree::NodePtr old_etc = fstree::lookup(old_image, "/etc");
  Merger m{objects, {}};
  BS_TRY_CTX(m.walk(current_etc, dest, "", old_etc.get(), 0), "merging {}", current_etc);
  return m.report;
}

}  // namespace bootseal::deploy
