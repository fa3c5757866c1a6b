// composefs-rs's legacy EROFS layout, format V2 (composefs-rs f22ecda
// crates/composefs/src/erofs/writer.rs, Epoch2). See docs/formats/composefs.md.
//
// Differences from V0/V1: extended inodes only, depth-first inode order,
// i_ino = nid, no nanoseconds, build_time 0, no 00..ff stubs, no opaque
// root, whiteouts stored as plain 0/0 character devices, header flags 0,
// composefs_version 2; per inode the generated metacopy/redirect xattrs come
// first, then the inode's own in name order; xattrs used by more than one
// inode are shared, the table ascending by (prefix index, suffix, value) and
// referenced by absolute offset / 4; whole inline files; external files are
// chunk-based with chunk format 31 and one inline null index (files with a
// digest only); inline data is moved to the next block when it would cross one.
//
// Like composefs-rs, the layout runs twice: a first pass records every
// offset, the second writes bytes using them and must land on the same offsets.
#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "base/hex.h"
#include "composefs/image.h"
#include "erofs/format.h"
#include "erofs/reader.h"
#include "erofs/xxhash.h"

namespace bootseal::composefs {

using fstree::Entry;
using fstree::Node;
using namespace erofs;  // format constants

namespace {

constexpr uint32_t kV2ComposefsVersion = 2;
constexpr uint16_t kV2ChunkFormat = 31;  // a single chunk, whatever the size
// composefs-rs MAX_INLINE_CONTENT: its parser and reader refuse larger inline
// files, and its V2 tail padding cannot keep larger ones inside a block.
constexpr size_t kV2MaxInline = 512;
constexpr size_t kV2MaxSymlink = 1024;  // composefs-rs SYMLINK_MAX

struct V2Xattr {
  uint8_t prefix;
  std::string suffix;
  std::string value;
  auto key() const { return std::tie(prefix, suffix, value); }
  bool operator<(const V2Xattr& o) const { return key() < o.key(); }
};

V2Xattr make_xattr(std::string_view name, std::string value) {
  std::string_view suffix;
  uint8_t index = xattr_prefix_index(name, &suffix, /*map_lustre=*/true);
  return V2Xattr{index, std::string(suffix), std::move(value)};
}

uint64_t xattr_size(const V2Xattr& x) { return xattr_entry_size(x.suffix.size(), x.value.size()); }

struct V2Dirent {
  std::string_view name;
  uint32_t target;
};

struct V2Inode {
  const Node* node;
  std::vector<V2Xattr> local;
  std::vector<uint32_t> shared;  // indexes into the shared table
  uint32_t filter = 0;
  uint32_t nlink = 1;
  // Directories.
  std::vector<std::vector<V2Dirent>> blocks;
  std::vector<V2Dirent> inline_dirents;
  uint64_t dir_size = 0;
  // Leaves.
  enum class Kind { kDir, kInline, kExternal, kExternalNoVerity, kSparse, kSymlink, kDevice, kOther } kind = Kind::kOther;
};

class V2Writer {
 public:
  explicit V2Writer(const fstree::Tree& t) : tree_(t) {}
  Result<Bytes> run();

 private:
  uint32_t collect_dir(const Node& dir, uint32_t parent);
  uint32_t collect_leaf(const Node& leaf);
  uint32_t push(const Node& n);
  void share();
  void emit(bool write);
  void emit_inode(uint32_t idx);
  void emit_dirents(const std::vector<V2Dirent>& ents);
  // Output: counts in the first pass, writes in the second.
  void put(const void* p, size_t n) {
    if (write_ && n) std::memcpy(out_.data() + pos_, p, n);  // p may be null when n == 0
    pos_ += n;
  }
  void zeros(size_t n) { pos_ += n; }  // the buffer is zero-filled
  void pad(uint64_t align) { pos_ = round_up(pos_, align); }
  template <typename T>
  void le(T v) {
    uint8_t b[sizeof(T)];
    store_le<T>(b, v);
    put(b, sizeof(T));
  }

  const fstree::Tree& tree_;
  std::vector<V2Inode> inodes_;
  std::unordered_map<const Node*, uint32_t> hardlinks_;
  std::unordered_map<const Node*, uint32_t> refs_;  // names per node
  std::vector<V2Xattr> table_;
  // Layout recorded by the first pass.
  std::vector<uint64_t> inode_off_, block_off_, xattr_off_;
  uint64_t end_ = 0;
  // Output state.
  bool write_ = false;
  Bytes out_;
  uint64_t pos_ = 0;
  std::vector<uint64_t> seen_inode_off_, seen_block_off_, seen_xattr_off_;
};

uint32_t V2Writer::push(const Node& n) {
  V2Inode in;
  in.node = &n;
  auto add = [&](std::string_view name, std::string value) {
    V2Xattr x = make_xattr(name, std::move(value));
    in.filter |= xattr_filter_bit(x.prefix, x.suffix);
    in.local.push_back(std::move(x));
  };
  if (n.is_reg() && n.content.empty() && n.size > 0) {
    if (n.digest.size() == 32 || n.digest.size() == 64) {
      in.kind = V2Inode::Kind::kExternal;
      std::string mc;
      mc.push_back(0);
      mc.push_back(static_cast<char>(4 + n.digest.size()));
      mc.push_back(0);
      mc.push_back(static_cast<char>(n.digest.size() == 64 ? 2 : 1));
      mc.append(as_string(n.digest));
      add(kOverlayMetacopy, std::move(mc));
      std::string hex = to_hex(n.digest);
      add(kOverlayRedirect, "/" + hex.substr(0, 2) + "/" + hex.substr(2));
    } else if (n.payload && !n.payload->empty()) {
      in.kind = V2Inode::Kind::kExternalNoVerity;
      add(kOverlayMetacopy, "");
      add(kOverlayRedirect, "/" + *n.payload);
    } else {
      in.kind = V2Inode::Kind::kSparse;
      add(kOverlayMetacopy, "");
    }
  } else if (n.is_reg()) {
    in.kind = V2Inode::Kind::kInline;
  } else if (n.is_symlink()) {
    in.kind = V2Inode::Kind::kSymlink;
  } else if ((n.mode & base::kIfMt) == base::kIfChr || (n.mode & base::kIfMt) == base::kIfBlk) {
    in.kind = V2Inode::Kind::kDevice;
  } else if (n.is_dir()) {
    in.kind = V2Inode::Kind::kDir;
  }
  std::vector<const fstree::Xattr*> own;
  for (auto& x : n.xattrs) own.push_back(&x);
  std::sort(own.begin(), own.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (auto* x : own) {
    if (x->name.starts_with(kOverlayPrefix))
      add(std::string(kOverlayEscapedPrefix) + x->name.substr(kOverlayPrefix.size()), x->value);
    else
      add(x->name, x->value);
  }
  inodes_.push_back(std::move(in));
  return static_cast<uint32_t>(inodes_.size() - 1);
}

uint32_t V2Writer::collect_leaf(const Node& leaf) {
  uint32_t nlink = refs_[&leaf];
  if (nlink > 1) {
    auto it = hardlinks_.find(&leaf);
    if (it != hardlinks_.end()) return it->second;
  }
  uint32_t idx = push(leaf);
  inodes_[idx].nlink = nlink;
  if (nlink > 1) hardlinks_[&leaf] = idx;
  return idx;
}

uint32_t V2Writer::collect_dir(const Node& dir, uint32_t parent) {
  uint32_t me = push(dir);
  if (inodes_.size() == 1) parent = me;
  std::vector<V2Dirent> ents{{".", me}, {"..", parent}};
  uint32_t subdirs = 0;
  for (const Entry& e : dir.children) {
    uint32_t child = e.node->is_dir() ? collect_dir(*e.node, me) : collect_leaf(*e.node);
    if (e.node->is_dir()) subdirs++;
    ents.push_back(V2Dirent{e.name, child});
  }
  std::sort(ents.begin(), ents.end(), [](auto& a, auto& b) { return a.name < b.name; });
  V2Inode& in = inodes_[me];
  in.nlink = 2 + subdirs;
  uint64_t used = 0;
  std::vector<V2Dirent> rest;
  for (auto& d : ents) {
    uint64_t len = kDirentSize + d.name.size();
    used += len;
    if (used <= kBlockSize) {
      rest.push_back(d);
    } else {
      in.blocks.push_back(std::move(rest));
      rest = {d};
      used = len;
    }
  }
  if (used > kBlockSize / 2) {
    in.blocks.push_back(std::move(rest));
    rest.clear();
    used = 0;
  }
  in.inline_dirents = std::move(rest);
  in.dir_size = kBlockSize * in.blocks.size() + used;
  return me;
}

void V2Writer::share() {
  std::map<V2Xattr, size_t> counts;
  for (auto& in : inodes_)
    for (auto& x : in.local) counts[x]++;
  std::map<V2Xattr, uint32_t> index;
  for (auto& [x, c] : counts)
    if (c > 1) {
      index.emplace(x, static_cast<uint32_t>(table_.size()));
      table_.push_back(x);
    }
  for (auto& in : inodes_) {
    std::vector<V2Xattr> keep;
    for (auto& x : in.local) {
      auto it = index.find(x);
      if (it != index.end())
        in.shared.push_back(it->second);
      else
        keep.push_back(std::move(x));
    }
    in.local = std::move(keep);
  }
}

void V2Writer::emit_dirents(const std::vector<V2Dirent>& ents) {
  uint64_t nameoff = ents.size() * kDirentSize;
  for (auto& d : ents) {
    uint8_t e[kDirentSize] = {};
    store_dirent(e, inode_off_.empty() ? 0 : inode_off_[d.target] / kSlotSize, static_cast<uint16_t>(nameoff),
                 file_type_of_mode(inodes_[d.target].node->mode));
    put(e, sizeof(e));
    nameoff += d.name.size();
  }
  for (auto& d : ents) put(d.name.data(), d.name.size());
}

void V2Writer::emit_inode(uint32_t idx) {
  V2Inode& in = inodes_[idx];
  const Node& n = *in.node;
  using K = V2Inode::Kind;
  uint16_t layout = kFlatPlain;
  uint32_t i_u = 0;
  uint64_t size = 0;
  uint64_t blkaddr = block_off_.empty() ? 0 : block_off_[idx] / kBlockSize;
  switch (in.kind) {
    case K::kDir:
      size = in.dir_size;
      if (in.inline_dirents.empty()) {
        layout = kFlatPlain;
        i_u = static_cast<uint32_t>(blkaddr);
      } else {
        layout = kFlatInline;
        i_u = in.blocks.empty() ? 0 : static_cast<uint32_t>(blkaddr);
      }
      break;
    case K::kInline:
      size = n.content.size();
      layout = n.content.empty() ? kFlatPlain : kFlatInline;
      break;
    case K::kExternal:
    case K::kExternalNoVerity:
    case K::kSparse:
      layout = kChunkBased;
      i_u = kV2ChunkFormat;
      size = n.size;
      break;
    case K::kDevice:
      i_u = static_cast<uint32_t>(n.rdev);
      break;
    case K::kSymlink:
      layout = kFlatInline;
      size = n.payload ? n.payload->size() : 0;
      break;
    case K::kOther:
      break;
  }
  uint64_t xsize = 0;
  if (in.filter != 0) {
    xsize = kXattrIbodyHeaderSize + 4 * in.shared.size();
    for (auto& x : in.local) xsize += xattr_size(x);
  }
  pad(kSlotSize);
  if (layout == kFlatInline) {
    // Move the inline part to a fresh block if it would cross one.
    uint64_t inline_start = pos_ + kInodeExtendedSize + xsize;
    uint64_t end_of_metadata = inline_start - 1;
    uint64_t inline_end = inline_start + size % kBlockSize;
    if (end_of_metadata / kBlockSize != inline_end / kBlockSize) {
      zeros(kBlockSize - end_of_metadata % kBlockSize);
      pad(kSlotSize);
    }
  }
  seen_inode_off_.push_back(pos_);
  InodeHeader ih;
  ih.format = inode_format(layout, /*compact=*/false);
  ih.xattr_icount = xattr_icount_for(xsize);
  ih.mode = static_cast<uint16_t>(n.mode);
  ih.size = size;
  ih.i_u = i_u;
  ih.ino = static_cast<uint32_t>(pos_ / kSlotSize);
  ih.uid = n.uid;
  ih.gid = n.gid;
  ih.mtime = static_cast<uint64_t>(n.mtime_sec);  // no nanoseconds in V2
  ih.nlink = in.nlink;
  uint8_t h[kInodeExtendedSize] = {};
  store_inode(h, ih);
  put(h, sizeof(h));
  if (in.filter != 0) {
    uint8_t xh[kXattrIbodyHeaderSize] = {};
    store_xattr_ibody_header(xh, in.filter, static_cast<uint8_t>(in.shared.size()));
    put(xh, sizeof(xh));
    for (uint32_t s : in.shared) le<uint32_t>(static_cast<uint32_t>(xattr_off_.empty() ? 0 : xattr_off_[s] / 4));
    for (auto& x : in.local) {
      uint8_t eh[kXattrEntrySize];
      store_xattr_entry_header(eh, x.prefix, x.suffix.size(), x.value.size());
      put(eh, sizeof(eh));
      put(x.suffix.data(), x.suffix.size());
      put(x.value.data(), x.value.size());
      pad(4);
    }
  }
  switch (in.kind) {
    case K::kDir:
      if (!in.inline_dirents.empty()) emit_dirents(in.inline_dirents);
      break;
    case K::kInline:
      put(n.content.data(), n.content.size());
      break;
    case K::kExternal: {
      static const uint8_t kNull[4] = {0xff, 0xff, 0xff, 0xff};
      put(kNull, 4);
      break;
    }
    case K::kSymlink:
      if (n.payload) put(n.payload->data(), n.payload->size());
      break;
    default:
      break;
  }
  pad(kSlotSize);
}

void V2Writer::emit(bool write) {
  write_ = write;
  pos_ = 0;
  seen_inode_off_.clear();
  seen_block_off_.clear();
  seen_xattr_off_.clear();
  if (write) out_.assign(end_, 0);
  uint8_t ch[kComposefsHeaderSize] = {};
  store_composefs_header(ch, /*flags=*/0, kV2ComposefsVersion);
  put(ch, sizeof(ch));
  zeros(kSuperOffset - kComposefsHeaderSize);
  uint8_t s[kSuperSize] = {};
  store_le<uint32_t>(s + sb::magic, kSuperMagic);
  store_le<uint32_t>(s + sb::feature_compat, kFeatureCompatMtime | kFeatureCompatXattrFilter);
  s[sb::blkszbits] = kBlockBits;
  store_le<uint16_t>(s + sb::root_nid, static_cast<uint16_t>(inode_off_.empty() ? 0 : inode_off_[0] / kSlotSize));
  store_le<uint64_t>(s + sb::inos, inodes_.size());
  store_le<uint32_t>(s + sb::blocks, static_cast<uint32_t>(end_ / kBlockSize));
  put(s, sizeof(s));
  for (uint32_t i = 0; i < inodes_.size(); i++) emit_inode(i);
  pad(kSlotSize);
  for (auto& x : table_) {
    seen_xattr_off_.push_back(pos_);
    uint8_t eh[kXattrEntrySize];
    store_xattr_entry_header(eh, x.prefix, x.suffix.size(), x.value.size());
    put(eh, sizeof(eh));
    put(x.suffix.data(), x.suffix.size());
    put(x.value.data(), x.value.size());
    pad(4);
  }
  pad(kBlockSize);
  for (auto& in : inodes_) {
    seen_block_off_.push_back(pos_);
    for (auto& b : in.blocks) {
      emit_dirents(b);
      pad(kBlockSize);
    }
  }
}

Result<Bytes> V2Writer::run() {
  if (!tree_.root || !tree_.root->is_dir()) return input_error("the root must be a directory");
  // Names per node (composefs-rs nlink for leaves).
  fstree::walk(tree_, [&](const std::string&, const Entry* e, const Node& n) {
    if (e && !n.is_dir()) refs_[&n]++;
    return true;
  });
  for (auto& [n, c] : refs_)
    if (n->is_whiteout() && c > 1) return input_error("a whiteout (0/0 character device) cannot be hardlinked");
  collect_dir(*tree_.root, 0);
  for (auto& in : inodes_) {
    if (in.kind == V2Inode::Kind::kInline && in.node->content.size() > kV2MaxInline)
      return input_error("V2 images keep files inline only up to {} bytes (composefs-rs); this one has {}",
                         kV2MaxInline, in.node->content.size());
    if (in.kind == V2Inode::Kind::kSymlink && in.node->payload && in.node->payload->size() > kV2MaxSymlink)
      return input_error("V2 images take symlink targets up to {} bytes (composefs-rs); this one has {}",
                         kV2MaxSymlink, in.node->payload->size());
    for (auto& x : in.local)
      if (x.value.size() > UINT16_MAX || x.suffix.size() > 255) return input_error("xattr too large for EROFS");
  }
  share();
  emit(false);  // layout pass
  inode_off_ = seen_inode_off_;
  block_off_ = seen_block_off_;
  xattr_off_ = seen_xattr_off_;
  end_ = pos_;
  if (inode_off_[0] / kSlotSize > UINT16_MAX) return internal_error("root nid does not fit");
  emit(true);
  if (pos_ != end_ || seen_inode_off_ != inode_off_ || seen_block_off_ != block_off_ || seen_xattr_off_ != xattr_off_)
    return internal_error("V2 layout: emitted offsets differ from the planned ones");
  // The legacy layout's padding rule cannot place every inline part inside a
  // block (e.g. huge xattrs next to inline data): refuse rather than emit an
  // image the kernel would reject.
  if (auto check = erofs::read_image(out_); !check.ok())
    return input_error("this tree cannot be written in the V2 layout: {}", check.error().message());
  return std::move(out_);
}

}  // namespace

Result<Image> build_image_v2(const fstree::Tree& tree) {
  V2Writer w(tree);
  Image img;
  img.version = kV2ComposefsVersion;
  img.data = BS_TRY(w.run());
  return img;
}

}  // namespace bootseal::composefs
