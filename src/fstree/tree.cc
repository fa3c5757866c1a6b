#include "fstree/tree.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace bootseal::fstree {

namespace {
constexpr size_t kMaxNameLength = 255;  // NAME_MAX

// First index whose name is >= `name` (bytewise, like strcmp on NUL-free names).
size_t lower_bound(const std::vector<Entry>& v, std::string_view name) {
  auto it = std::lower_bound(v.begin(), v.end(), name,
                             [](const Entry& e, std::string_view n) { return std::string_view(e.name) < n; });
  return static_cast<size_t>(it - v.begin());
}
}  // namespace

bool valid_mode(uint32_t mode) {
  switch (mode & base::kIfMt) {
    case base::kIfReg:
    case base::kIfDir:
    case base::kIfLnk:
    case base::kIfBlk:
    case base::kIfChr:
    case base::kIfSock:
    case base::kIfIfo:
      return true;
    default:
      return false;
  }
}

const Entry* Node::find_child(std::string_view name) const {
  size_t i = lower_bound(children, name);
  if (i < children.size() && children[i].name == name) return &children[i];
  return nullptr;
}

Entry* Node::find_child(std::string_view name) {
  return const_cast<Entry*>(static_cast<const Node*>(this)->find_child(name));
}

Status Node::add_child(std::string name, NodePtr node, bool hardlink) {
  if (!is_dir()) return input_error("cannot add '{}': parent is not a directory", name);
  if (name.empty()) return input_error("empty file name");
  if (name.size() > kMaxNameLength) return input_error("file name longer than {} bytes", kMaxNameLength);
  if (name == "." || name == "..") return input_error("invalid file name '{}'", name);
  if (name.find('/') != std::string::npos) return input_error("file name '{}' contains '/'", name);
  if (name.find('\0') != std::string::npos) return input_error("file name contains a NUL byte");
  if (!node) return internal_error("add_child '{}': null node", name);
  // Fast path: appending in sorted order (the common case for parsers).
  size_t pos = (children.empty() || children.back().name < name) ? children.size() : lower_bound(children, name);
  if (pos < children.size() && children[pos].name == name) return input_error("'{}' already exists", name);
  children.insert(children.begin() + static_cast<ptrdiff_t>(pos), Entry{std::move(name), std::move(node), hardlink});
  return {};
}

bool Node::remove_child(std::string_view name) {
  size_t i = lower_bound(children, name);
  if (i >= children.size() || children[i].name != name) return false;
  children.erase(children.begin() + static_cast<ptrdiff_t>(i));
  return true;
}

const Xattr* Node::find_xattr(std::string_view name) const {
  for (auto& x : xattrs)
    if (x.name == name) return &x;
  return nullptr;
}

bool Node::remove_xattr(std::string_view name) {
  for (size_t i = 0; i < xattrs.size(); i++) {
    if (xattrs[i].name == name) {
      if (i != xattrs.size() - 1) xattrs[i] = std::move(xattrs.back());
      xattrs.pop_back();
      return true;
    }
  }
  return false;
}

void Node::set_xattr(std::string name, std::string value) {
  remove_xattr(name);
  xattrs.push_back(Xattr{std::move(name), std::move(value)});
}

void Node::sort_xattrs() {
  std::stable_sort(xattrs.begin(), xattrs.end(), [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
}

NodePtr make_node(uint32_t mode) {
  auto n = std::make_shared<Node>();
  n->mode = mode;
  n->nlink = (mode & base::kIfMt) == base::kIfDir ? 2 : 1;
  return n;
}

NodePtr make_dir(uint32_t perm) { return make_node(base::kIfDir | (perm & 07777)); }

Result<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.find('\0') != std::string_view::npos) return input_error("path contains a NUL byte");
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') i++;
    if (i >= path.size()) break;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (comp == "." || comp == "..") return input_error("invalid '{}' component in path", comp);
    if (comp.size() > kMaxNameLength) return input_error("path component longer than {} bytes", kMaxNameLength);
    out.emplace_back(comp);
    i = j;
  }
  return out;
}

NodePtr lookup(const Tree& tree, std::string_view path) {
  auto comps = split_path(path);
  if (!comps.ok() || !tree.root) return nullptr;
  NodePtr cur = tree.root;
  for (auto& c : *comps) {
    if (!cur->is_dir()) return nullptr;
    const Entry* e = cur->find_child(c);
    if (!e) return nullptr;
    cur = e->node;
  }
  return cur;
}

namespace {
bool walk_dir(const std::string& path, const Node& dir, const WalkFn& fn) {
  for (const Entry& e : dir.children) {
    std::string child = path == "/" ? "/" + e.name : path + "/" + e.name;
    if (!fn(child, &e, *e.node)) return false;
    if (!e.hardlink && e.node->is_dir() && !walk_dir(child, *e.node, fn)) return false;
  }
  return true;
}
}  // namespace

void walk(const Tree& tree, const WalkFn& fn) {
  if (!tree.root) return;
  if (!fn("/", nullptr, *tree.root)) return;
  walk_dir("/", *tree.root, fn);
}

TreeStats stats(const Tree& tree) {
  TreeStats s;
  walk(tree, [&](const std::string&, const Entry* e, const Node& n) {
    s.entries++;
    if (!e || !e->hardlink) {
      s.inodes++;
      if (n.is_reg()) s.regular_bytes += n.size;
    }
    return true;
  });
  return s;
}

namespace {
NodePtr clone_node(const Node& n, std::unordered_map<const Node*, NodePtr>& seen, bool shared) {
  if (shared) {  // only multiply-linked nodes need the lookup
    auto it = seen.find(&n);
    if (it != seen.end()) return it->second;
  }
  auto c = std::make_shared<Node>();
  if (shared) seen[&n] = c;
  c->mode = n.mode;
  c->uid = n.uid;
  c->gid = n.gid;
  c->nlink = n.nlink;
  c->mtime_sec = n.mtime_sec;
  c->mtime_nsec = n.mtime_nsec;
  c->rdev = n.rdev;
  c->size = n.size;
  c->payload = n.payload;
  c->content = n.content;
  c->digest = n.digest;
  c->xattrs = n.xattrs;
  c->children.reserve(n.children.size());
  for (auto& e : n.children)
    c->children.push_back(Entry{e.name, clone_node(*e.node, seen, e.node.use_count() > 1), e.hardlink});
  return c;
}
}  // namespace

Tree clone(const Tree& tree) {
  std::unordered_map<const Node*, NodePtr> seen;
  return Tree{tree.root ? clone_node(*tree.root, seen, false) : nullptr};
}

namespace {
bool diff(const std::string& path, const Node& a, const Node& b, std::map<const Node*, const Node*>& pairs,
          std::string* out) {
  auto fail = [&](std::string_view what) {
    if (out) *out = fmt::format("{}: {} differs", path, what);
    return false;
  };
  auto it = pairs.find(&a);
  if (it != pairs.end()) return it->second == &b ? true : fail("hardlink sharing");
  pairs[&a] = &b;
  if (a.mode != b.mode) return fail("mode");
  if (a.uid != b.uid || a.gid != b.gid) return fail("owner");
  if (a.nlink != b.nlink) return fail("nlink");
  if (a.mtime_sec != b.mtime_sec || a.mtime_nsec != b.mtime_nsec) return fail("mtime");
  if (a.rdev != b.rdev) return fail("rdev");
  if (a.size != b.size) return fail("size");
  if (a.payload != b.payload) return fail("payload");
  if (a.content != b.content) return fail("content");
  if (a.digest != b.digest) return fail("digest");
  if (a.xattrs != b.xattrs) return fail("xattrs");
  if (a.children.size() != b.children.size()) return fail("number of children");
  for (size_t i = 0; i < a.children.size(); i++) {
    const Entry& ea = a.children[i];
    const Entry& eb = b.children[i];
    std::string child = path == "/" ? "/" + ea.name : path + "/" + ea.name;
    if (ea.name != eb.name) return fail(fmt::format("child {} name", i));
    if (ea.hardlink != eb.hardlink) return fail(fmt::format("hardlink flag of '{}'", ea.name));
    if (!diff(child, *ea.node, *eb.node, pairs, out)) return false;
  }
  return true;
}
}  // namespace

bool equal(const Tree& a, const Tree& b, std::string* first_difference) {
  if (!a.root || !b.root) return !a.root && !b.root;
  std::map<const Node*, const Node*> pairs;
  return diff("/", *a.root, *b.root, pairs, first_difference);
}

}  // namespace bootseal::fstree
