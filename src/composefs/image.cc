#include "composefs/image.h"

#include <map>
#include <unordered_map>

#include "erofs/format.h"
#include "erofs/reader.h"
#include "erofs/writer.h"
#include "fsverity/fsverity.h"

namespace bootseal::composefs {

using fstree::Entry;
using fstree::Node;
using fstree::NodePtr;
using fstree::Tree;

// fs-verity hash algorithm ids in the metacopy xattr (FS_VERITY_HASH_ALG_*).
namespace {
constexpr uint8_t kMetacopyVersion = 0;
constexpr uint8_t kMetacopyFlags = 0;
constexpr uint8_t kMetacopyHeaderSize = 4;  // struct ovl_metacopy {version, len, flags, digest_algo}
constexpr uint8_t kVerityAlgSha256 = 1;
constexpr uint8_t kVerityAlgSha512 = 2;
}  // namespace

Result<VersionRange> version_range(std::optional<int64_t> min, std::optional<int64_t> max) {
  VersionRange r;
  if (min || max) {
    int64_t lo = min.value_or(0), hi = max.value_or(0);
    if (lo < 0 || hi < 0 || lo > kMaxFormatVersion || hi > kMaxFormatVersion)
      return input_error("format version must be 0..{}", kMaxFormatVersion);
    r.min = static_cast<uint32_t>(lo);
    r.max = static_cast<uint32_t>(hi < lo ? lo : hi);
  }
  return r;
}

namespace {
bool has_whiteout(const Node& n) {
  if (n.is_whiteout()) return true;
  for (const Entry& e : n.children)
    if (!e.hardlink && has_whiteout(*e.node)) return true;
  return false;
}

// libcomposefs's per-inode xattr accounting (lcfs_node_set_xattr with the
// external-input limit), reproduced because it decides whether mkcomposefs
// fails: 12 for the header when the first xattr is added, 7 + name + value per
// xattr, subtracted again when a value is replaced. The writer works on a
// clone whose counter starts at 0 (lcfs_node_clone does not copy it), so
// replacing an xattr that came with the input can wrap the unsigned counter,
// and mkcomposefs then fails with ERANGE. The same arithmetic, modulo 2^64.
constexpr uint64_t kXattrBudget = 32767;

// A path built only when an error needs it.
struct PathRef {
  const PathRef* parent;
  std::string_view name;
  std::string str() const {
    if (!parent) return "/";
    std::string p = parent->str();
    return (p == "/" ? "" : p) + "/" + std::string(name);
  }
};

class Rewriter {
 public:
  explicit Rewriter(uint32_t version) : version_(version) {}
  // `budget` and `parent_budget` are the nodes' counters (0 for a fresh clone).
  Status node(Node& node, uint64_t& budget, Node& parent, uint64_t& parent_budget, const PathRef& path,
              const PathRef& parent_path);
  Status set(Node& n, uint64_t& budget, const PathRef& path, std::string_view name, std::string value);

 private:
  uint32_t version_;
};

Status Rewriter::set(Node& n, uint64_t& b, const PathRef& path, std::string_view name, std::string value) {
  size_t remaining = n.xattrs.size();
  if (const fstree::Xattr* old = n.find_xattr(name)) {
    remaining--;
    if (remaining > 0)
      b -= 7 + old->name.size() + old->value.size();  // may wrap, as in libcomposefs
    else
      b = 0;
  }
  uint64_t entry = 7 + name.size() + value.size() + (remaining == 0 ? 12 : 0);
  if (b + entry > kXattrBudget)
    return input_error("xattrs exceed the {}-byte limit when adding {}", kXattrBudget, name).context(path.str());
  b += entry;
  n.set_xattr(std::string(name), std::move(value));
  return {};
}

Status Rewriter::node(Node& node, uint64_t& budget, Node& parent, uint64_t& parent_budget, const PathRef& path,
                      const PathRef& parent_path) {
  // Escape the user's own overlay xattrs so overlayfs does not act on them.
  for (auto& x : node.xattrs)
    if (x.name.starts_with(kOverlayPrefix)) x.name = std::string(kOverlayEscapedPrefix) + x.name.substr(kOverlayPrefix.size());

  if (node.is_reg() && node.size > 0 && node.content.empty()) {
    node.xattrs.reserve(node.xattrs.size() + 2);
    std::string metacopy;
    if (node.digest.size() == 32 || node.digest.size() == 64) {
      metacopy.reserve(kMetacopyHeaderSize + node.digest.size());
      bool sha512 = node.digest.size() == 64;
      metacopy.push_back(static_cast<char>(kMetacopyVersion));
      metacopy.push_back(static_cast<char>(kMetacopyHeaderSize + node.digest.size()));
      metacopy.push_back(static_cast<char>(kMetacopyFlags));
      metacopy.push_back(static_cast<char>(sha512 ? kVerityAlgSha512 : kVerityAlgSha256));
      metacopy.append(as_string(node.digest));
    }
    BS_TRY(set(node, budget, path, kOverlayMetacopy, std::move(metacopy)));
    if (node.payload && !node.payload->empty()) BS_TRY(set(node, budget, path, kOverlayRedirect, "/" + *node.payload));
  }

  if (node.is_whiteout()) {
    node.size = 0;
    node.mode = base::kIfReg | (node.mode & ~base::kIfMt);
    BS_TRY(set(node, budget, path, kEscapedWhiteout, ""));
    BS_TRY(set(node, budget, path, kUserWhiteout, ""));
    BS_TRY(set(parent, parent_budget, parent_path, kEscapedWhiteouts, ""));
    BS_TRY(set(parent, parent_budget, parent_path, kUserWhiteouts, ""));
    if (version_ >= 1) {
      BS_TRY(set(parent, parent_budget, parent_path, kEscapedOpaque, "x"));
      BS_TRY(set(parent, parent_budget, parent_path, kUserOpaque, "x"));
    }
  }

  if (node.is_dir())
    for (Entry& e : node.children) {
      if (e.hardlink) continue;
      uint64_t child_budget = 0;
      PathRef child{&path, e.name};
      BS_TRY(this->node(*e.node, child_budget, node, budget, child, path));
    }
  return {};
}

}  // namespace

uint32_t effective_version(const Tree& tree, VersionRange range) {
  uint32_t v = range.min;
  if (v < 1 && range.max >= 1 && tree.root && has_whiteout(*tree.root)) v = 1;
  return v;
}

namespace {
Status rewrite_in_place(Tree& t, uint32_t version) {
  Node& root = *t.root;
  Rewriter rw(version);
  uint64_t root_budget = 0;
  PathRef rootpath{nullptr, {}};
  BS_TRY(rw.node(root, root_budget, root, root_budget, rootpath, rootpath));
  BS_TRY(rw.set(root, root_budget, rootpath, kOverlayOpaque, "y"));
  // Whiteout stubs for every possible top-level name of two hex digits, so an
  // image can be used as a lower layer without its own such names showing
  // through (libcomposefs add_overlay_whiteouts).
  static const char kHex[] = "0123456789abcdef";
  const fstree::Xattr* selinux = root.find_xattr("security.selinux");
  std::optional<std::string> label = selinux ? std::optional<std::string>(selinux->value) : std::nullopt;
  for (int i = 0; i < 256; i++) {
    std::string name{kHex[i >> 4], kHex[i & 15]};
    if (root.find_child(name)) continue;
    NodePtr stub = fstree::make_node(base::kIfChr | 0644);
    stub->uid = root.uid;
    stub->gid = root.gid;
    stub->mtime_sec = root.mtime_sec;
    stub->mtime_nsec = root.mtime_nsec;
    if (label) stub->set_xattr("security.selinux", *label);
    (void)root.add_child(name, stub);
  }
  return {};
}
}  // namespace

Result<Tree> rewrite_for_erofs(const Tree& tree, uint32_t version) {
  Tree t = fstree::clone(tree);
  BS_TRY(rewrite_in_place(t, version));
  return t;
}

Result<Image> build_image(Tree&& tree, VersionRange range) {
  if (!tree.root || !tree.root->is_dir()) return input_error("the root must be a directory");
  Image img;
  img.version = effective_version(tree, range);
  BS_TRY(rewrite_in_place(tree, img.version));
  erofs::WriterOptions wo;
  wo.composefs_version = img.version;
  img.data = BS_TRY(erofs::write_image(tree, wo));
  return img;
}

Result<Image> build_image(const Tree& tree, VersionRange range) {
  if (!tree.root || !tree.root->is_dir()) return input_error("the root must be a directory");
  return build_image(fstree::clone(tree), range);
}

Bytes image_digest(ByteSpan image, crypto::HashAlg alg) {
  fsverity::Params p;
  p.alg = alg;
  p.block_size = 4096;
  return fsverity::digest_buffer(image, p);
}

Result<uint32_t> image_version(ByteSpan image) {
  ByteReader r(image);
  uint32_t magic = BS_TRY(r.u32("composefs header magic"));
  uint32_t hv = BS_TRY(r.u32("composefs header version"));
  BS_TRY(r.u32("composefs header flags"));
  uint32_t v = BS_TRY(r.u32("composefs_version"));
  if (magic != erofs::kComposefsMagic) return input_error("not a composefs image (bad header magic {:#x})", magic);
  if (hv != erofs::kComposefsHeaderVersion) return unsupported_error("composefs header version {} is not supported", hv);
  return v;
}

namespace {

// Undoes the rewrite on one node read from the image (libcomposefs
// lcfs_build_node_erofs_xattr): xattrs are replayed in stored order.
void restore_node(Node& n) {
  std::vector<fstree::Xattr> raw = std::move(n.xattrs);
  n.xattrs.clear();
  for (auto& x : raw) {
    if (x.name == kOverlayRedirect) {
      if (n.is_reg()) {
        std::string_view v = x.value;
        if (v.size() > 1 && v[0] == '/') v.remove_prefix(1);
        size_t nul = v.find('\0');
        n.payload = std::string(v.substr(0, nul));
      }
      continue;
    }
    if (x.name == kOverlayMetacopy) {
      if (n.is_reg() && x.value.size() > kMetacopyHeaderSize) {
        size_t len = x.value.size() - kMetacopyHeaderSize;
        uint8_t alg = static_cast<uint8_t>(x.value[3]);
        if ((len == 32 && alg == kVerityAlgSha256) || (len == 64 && alg == kVerityAlgSha512))
          n.digest.assign(x.value.begin() + kMetacopyHeaderSize, x.value.end());
      }
      continue;
    }
    if (x.name == kEscapedWhiteout && n.is_reg()) {
      n.mode = base::kIfChr | (n.mode & ~base::kIfMt);
      n.rdev = 0;
      n.size = 0;
      continue;
    }
    if (x.name == kEscapedWhiteouts || x.name == kUserWhiteout || x.name == kUserWhiteouts) continue;
    if (x.name.starts_with(kOverlayPrefix)) {
      if (!x.name.starts_with(kOverlayEscapedPrefix)) continue;
      x.name = std::string(kOverlayPrefix) + x.name.substr(kOverlayEscapedPrefix.size());
    }
    n.set_xattr(std::move(x.name), std::move(x.value));
  }
}

// Real 0/0 character devices in the image are the generated stubs; drop them
// before restoring whiteouts (which become 0/0 character devices).
void drop_stubs(Node& dir) {
  std::erase_if(dir.children, [](const Entry& e) {
    return (e.node->mode & base::kIfMt) == base::kIfChr && e.node->rdev == 0;
  });
  for (Entry& e : dir.children)
    if (!e.hardlink && e.node->is_dir()) drop_stubs(*e.node);
}

void restore_tree(Node& dir, std::map<const Node*, bool>& done) {
  for (Entry& e : dir.children) {
    if (done.emplace(e.node.get(), true).second) restore_node(*e.node);
    if (!e.hardlink && e.node->is_dir()) restore_tree(*e.node, done);
  }
}

}  // namespace

Result<Tree> read_image(ByteSpan image) {
  uint32_t version = BS_TRY(image_version(image));
  erofs::ReadLimits limits;
  limits.redirect_overread = true;  // byte-for-byte composefs-info output
  Tree t = BS_TRY(erofs::read_image(image, limits));
  std::map<const Node*, bool> done;
  done.emplace(t.root.get(), true);
  if (version < 2) drop_stubs(*t.root);  // V2 has no stubs; its 0/0 devices are real whiteouts
  restore_node(*t.root);
  restore_tree(*t.root, done);
  return t;
}

}  // namespace bootseal::composefs
