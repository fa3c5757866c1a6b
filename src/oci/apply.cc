#include "oci/apply.h"

#include "base/mode.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "base/hex.h"

namespace bootseal::oci {

using fstree::Node;
using fstree::NodePtr;

Result<std::vector<std::string>> normalize_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (c == "..") return input_error("path \"{}\" has a \"..\" component", path);
    if (c.find('\0') != std::string_view::npos) return input_error("path has a NUL byte");
    if (c.size() > 255) return input_error("path \"{}\" has a component longer than 255 bytes", path);
    if (!c.empty() && c != ".") out.emplace_back(c);
    i = j + 1;
  }
  return out;
}

std::string object_path(ByteSpan digest) {
  std::string hex = to_hex(digest);
  return hex.substr(0, 2) + "/" + hex.substr(2);
}

Applier::Applier(fstree::Tree& tree, ContentSink sink) : tree_(tree), sink_(std::move(sink)) {
  if (!tree_.root) {
    tree_.root = fstree::make_dir(0755);
  }
}

namespace {

// Walks to the directory holding the last component. Errors if a parent is
// missing or not a directory.
Result<Node*> parent_dir(const fstree::Tree& tree, const std::vector<std::string>& comps) {
  Node* dir = tree.root.get();
  for (size_t i = 0; i + 1 < comps.size(); i++) {
    fstree::Entry* e = dir->find_child(comps[i]);
    if (!e) return input_error("parent directory \"{}\" does not exist", comps[i]);
    if (!e->node->is_dir()) return input_error("parent \"{}\" is not a directory", comps[i]);
    dir = e->node.get();
  }
  return dir;
}

void set_stat(Node& n, const tar::Entry& e) {
  n.mode = (n.mode & base::kIfMt) | (e.mode & 07777);
  n.uid = e.uid;
  n.gid = e.gid;
  n.mtime_sec = e.mtime_sec;
  n.mtime_nsec = e.mtime_nsec;
  n.xattrs.clear();
  for (auto& [k, v] : e.xattrs) n.xattrs.push_back({k, v});
  n.sort_xattrs();
}

}  // namespace

Status Applier::apply_layer(tar::Reader& reader) {
  tar::Entry e;
  for (;;) {
    bool more = BS_TRY(reader.next(e));
    if (!more) break;
    BS_TRY_CTX(apply_entry(e, reader), "{}: entry {}", reader.name(), e.path);
  }
  return {};
}

Status Applier::apply_entry(const tar::Entry& e, tar::Reader& reader) {
  return apply_impl(e, [&]() { return sink_(e, reader); });
}

Status Applier::apply_resolved(const tar::Entry& e, const FileData& data) {
  return apply_impl(e, [&]() -> Result<FileData> { return data; });
}

Status Applier::apply_impl(const tar::Entry& e, const std::function<Result<FileData>()>& data) {
  entries_++;
  auto comps = BS_TRY(normalize_path(e.path));
  if (comps.empty()) {
    if (e.type != tar::EntryType::kDirectory)
      return input_error("the root must be a directory, not a {}", tar::type_name(e.type));
    set_stat(*tree_.root, e);
    return {};
  }
  Node* dir = BS_TRY(parent_dir(tree_, comps));
  const std::string& name = comps.back();

  if (name.starts_with(kWhiteoutPrefix)) {
    if (name == kOpaqueWhiteout) {
      dir->children.clear();
    } else {
      std::string target = name.substr(4);
      if (!target.empty()) dir->remove_child(target);
    }
    return {};
  }

  NodePtr node;
  switch (e.type) {
    case tar::EntryType::kDirectory: {
      fstree::Entry* old = dir->find_child(name);
      if (old && old->node->is_dir()) {
        set_stat(*old->node, e);
        return {};
      }
      node = fstree::make_dir(0);
      set_stat(*node, e);
      break;
    }
    case tar::EntryType::kHardlink: {
      auto tcomps = BS_TRY_CTX(normalize_path(e.link_target), "hardlink target");
      if (tcomps.empty()) return input_error("hardlink to the root directory");
      auto tdir = BS_TRY_CTX(parent_dir(tree_, tcomps), "hardlink target {}", e.link_target);
      fstree::Entry* t = tdir->find_child(tcomps.back());
      if (!t) return input_error("hardlink target \"{}\" does not exist", e.link_target);
      if (t->node->is_dir()) return input_error("hardlink target \"{}\" is a directory", e.link_target);
      node = t->node;
      break;
    }
    case tar::EntryType::kRegular: {
      node = fstree::make_node(base::kIfReg);
      set_stat(*node, e);
      FileData fd = BS_TRY(data());
      node->size = e.size;
      if (!fd.digest.empty()) {
        node->digest = std::move(fd.digest);
        node->payload = object_path(node->digest);
      } else {
        if (fd.inline_content.size() != e.size)
          return input_error("content is {} bytes, header says {}", fd.inline_content.size(), e.size);
        node->content = std::move(fd.inline_content);
      }
      break;
    }
    case tar::EntryType::kSymlink:
      if (e.link_target.empty()) return input_error("symlink with an empty target");
      node = fstree::make_node(base::kIfLnk);
      set_stat(*node, e);
      node->payload = e.link_target;
      node->size = e.link_target.size();
      break;
    case tar::EntryType::kCharDev:
    case tar::EntryType::kBlockDev:
      node = fstree::make_node(e.type == tar::EntryType::kCharDev ? base::kIfChr : base::kIfBlk);
      set_stat(*node, e);
      node->rdev = base::make_dev(e.dev_major, e.dev_minor);
      break;
    case tar::EntryType::kFifo:
      node = fstree::make_node(base::kIfIfo);
      set_stat(*node, e);
      break;
    case tar::EntryType::kSocket:
      return input_error("sockets are not allowed in layers");
  }
  dir->remove_child(name);
  BS_TRY(dir->add_child(name, std::move(node), false));
  return {};
}

ContentSink inline_or(std::function<Result<Bytes>(const tar::Entry&, tar::Reader&)> digest_fn) {
  return [digest_fn = std::move(digest_fn)](const tar::Entry& e, tar::Reader& r) -> Result<FileData> {
    FileData fd;
    if (e.size <= kInlineContentMax) {
      fd.inline_content = BS_TRY(r.read_all(kInlineContentMax));
      return fd;
    }
    fd.digest = BS_TRY(digest_fn(e, r));
    return fd;
  };
}

void finalize_links(fstree::Tree& tree) {
  std::unordered_map<const Node*, uint32_t> counts;
  std::unordered_set<const Node*> seen;
  std::function<void(Node&)> visit = [&](Node& dir) {
    uint32_t subdirs = 0;
    for (auto& c : dir.children) {
      if (c.node->is_dir()) {
        subdirs++;
        c.hardlink = false;
        visit(*c.node);
      } else {
        counts[c.node.get()]++;
        c.hardlink = !seen.insert(c.node.get()).second;
      }
    }
    dir.nlink = 2 + subdirs;
  };
  visit(*tree.root);
  for (auto& [n, c] : counts) const_cast<Node*>(n)->nlink = c;
}

}  // namespace bootseal::oci
