#include "erofs/writer.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "erofs/format.h"
#include "erofs/xxhash.h"

namespace bootseal::erofs {

using fstree::Entry;
using fstree::Node;
using fstree::Xattr;

uint8_t file_type_of_mode(uint32_t mode) {
  switch (mode & base::kIfMt) {
    case base::kIfReg: return kFtRegFile;
    case base::kIfDir: return kFtDir;
    case base::kIfChr: return kFtChrdev;
    case base::kIfBlk: return kFtBlkdev;
    case base::kIfIfo: return kFtFifo;
    case base::kIfSock: return kFtSock;
    case base::kIfLnk: return kFtSymlink;
    default: return kFtUnknown;
  }
}

uint32_t chunk_bits_for(uint64_t size) {
  uint64_t v = size - 1;
  uint32_t bits = v == 0 ? 1 : 64 - static_cast<uint32_t>(__builtin_clzll(v));  // ilog2(v) + 1, ilog2(0) = 0
  if (bits < kBlockBits) bits = kBlockBits;
  if (bits - kBlockBits > kChunkFormatBlkbitsMask) bits = kChunkFormatBlkbitsMask + kBlockBits;
  return bits;
}

namespace {

// Entry index and the name without its short prefix (libcomposefs's
// xattr_erofs_entry_index: lustre. is deliberately not mapped).
uint8_t xattr_index(std::string_view name, std::string_view* suffix) {
  return xattr_prefix_index(name, suffix, /*map_lustre=*/false);
}

uint64_t xattr_entry_size(std::string_view suffix, size_t value_len) {
  return erofs::xattr_entry_size(suffix.size(), value_len);
}

struct XattrKey {
  std::string_view name, value;
  bool operator==(const XattrKey&) const = default;
};
struct XattrKeyHash {
  size_t operator()(const XattrKey& k) const {
    return std::hash<std::string_view>()(k.name) * 31 ^ std::hash<std::string_view>()(k.value);
  }
};
struct SharedEntry {
  uint32_t count = 0;
  size_t index = 0;  // in the shared table, if shared
  bool shared = false;
  uint64_t offset = 0;  // from the start of the shared xattr table
};

struct InodeXattr {
  const Xattr* x;
  uint8_t index;
  std::string_view suffix;
  int64_t shared_offset = -1;  // -1: stored inline
  SharedEntry* entry = nullptr;  // its (name, value) use count (during plan_xattrs only)
};

struct Dirent {
  std::string_view name;
  uint32_t target;  // inode index
};

struct Inode {
  const Node* node;
  uint32_t parent = 0;
  uint32_t nlink = 0;
  std::vector<InodeXattr> xattrs;
  std::vector<Dirent> dirents;  // directories, "." and ".." included, sorted
  // Layout.
  uint64_t n_blocks = 0;  // data blocks outside the metadata area
  uint64_t tail = 0;      // bytes packed inline after inode + xattrs
  bool compact = false;
  uint64_t xattr_size = 0;
  uint64_t ipad = 0;  // padding before the inode
  uint64_t nid = 0;
  uint64_t isize = 0;  // inode + xattrs + tail
  bool external = false;
  uint32_t chunk_count = 0;
  uint16_t chunk_format = 0;
};


class Writer {
 public:
  Writer(const fstree::Tree& tree, const WriterOptions& o) : tree_(tree), opts_(o) {}
  Result<Bytes> run();

 private:
  Status collect();
  Status plan_xattrs();
  Status plan_layout();
  void compute_data_size(Inode& in);
  uint64_t tail_padding(Inode& in, uint64_t pos, uint64_t inode_size);
  Status emit(Bytes& out);
  void emit_inode(Bytes& out, uint64_t& pos, Inode& in);
  void emit_dirent_chunk(uint8_t* at, const Inode& dir, size_t first, size_t n) const;
  // Directory chunking: [first, count) per 4 KiB chunk, greedily filled.
  std::vector<std::pair<size_t, size_t>> dir_chunks(const Inode& dir, uint64_t* last_size) const;

  const fstree::Tree& tree_;
  WriterOptions opts_;
  std::vector<Inode> inodes_;
  int64_t min_sec_ = 0;
  uint32_t min_nsec_ = 0;
  bool has_acl_ = false;
  std::vector<const InodeXattr*> shared_table_;
  uint64_t shared_size_ = 0;
  uint64_t inodes_end_ = 0;
  uint64_t data_start_ = 0;
  uint64_t n_data_blocks_ = 0;
  uint64_t current_end_ = 0;
};

// Breadth-first numbering, dirents, nlink, xattr order, minimum mtime.
Status Writer::collect() {
  if (!tree_.root || !tree_.root->is_dir()) return input_error("the root must be a directory");
  // Primary children of inode i get consecutive indexes starting at
  // first_child[i]; only multiply-referenced nodes need a lookup table.
  std::unordered_map<const Node*, uint32_t> linked;
  std::vector<uint32_t> first_child;
  {
    // Count first: growing a vector of 100k+ inodes by doubling costs more.
    size_t count = 1;
    std::vector<const Node*> stack{tree_.root.get()};
    while (!stack.empty()) {
      const Node* d = stack.back();
      stack.pop_back();
      for (const Entry& e : d->children) {
        if (e.hardlink) continue;
        count++;
        if (!e.node->children.empty()) stack.push_back(e.node.get());
      }
    }
    inodes_.reserve(count);
    first_child.reserve(count);
  }
  inodes_.push_back(Inode{tree_.root.get()});
  for (size_t i = 0; i < inodes_.size(); i++) {
    const Node& n = *inodes_[i].node;
    if (!fstree::valid_mode(n.mode)) return input_error("invalid file mode {:o}", n.mode);
    if (!n.is_dir() && !n.children.empty()) return input_error("a non-directory has children");
    first_child.push_back(static_cast<uint32_t>(inodes_.size()));
    for (const Entry& e : n.children) {
      if (e.name.empty() || e.name.size() > kMaxNameLength || e.name == "." || e.name == ".." ||
          e.name.find('/') != std::string::npos)
        return input_error("invalid file name '{}'", e.name);
      if (e.hardlink) {
        if (e.node->is_dir()) return input_error("hardlink '{}' to a directory", e.name);
        continue;
      }
      if (e.node.use_count() > 1 && !linked.emplace(e.node.get(), static_cast<uint32_t>(inodes_.size())).second)
        return input_error("'{}': a node has more than one primary entry", e.name);
      inodes_.push_back(Inode{e.node.get()});
      inodes_.back().parent = static_cast<uint32_t>(i);
    }
  }
  if (inodes_.size() > UINT32_MAX) return input_error("too many inodes");

  min_sec_ = tree_.root->mtime_sec;
  min_nsec_ = tree_.root->mtime_nsec;
  for (uint32_t i = 0; i < inodes_.size(); i++) {
    Inode& in = inodes_[i];
    const Node& n = *in.node;
    in.nlink = n.nlink;
    if (n.is_dir()) {
      uint32_t subdirs = 0;
      uint32_t next = first_child[i];
      in.dirents.reserve(n.children.size() + 2);
      for (const Entry& e : n.children) {
        uint32_t target;
        if (e.hardlink) {
          auto it = linked.find(e.node.get());
          if (it == linked.end()) return input_error("hardlink '{}' points outside the tree", e.name);
          target = it->second;
        } else {
          target = next++;
        }
        if (e.node->is_dir()) subdirs++;
        in.dirents.push_back(Dirent{e.name, target});
      }
      in.nlink = 2 + subdirs;
      // Children are sorted already: insert "." and ".." in place.
      for (const Dirent& dot : {Dirent{".", i}, Dirent{"..", in.parent}}) {
        auto pos = std::lower_bound(in.dirents.begin(), in.dirents.end(), dot,
                                    [](const Dirent& a, const Dirent& b) { return a.name < b.name; });
        in.dirents.insert(pos, dot);
      }
    }
    for (const Xattr& x : n.xattrs) {
      if (x.value.size() > UINT16_MAX) return input_error("xattr '{}' value too large", x.name);
      InodeXattr ix{&x, 0, {}};
      ix.index = xattr_index(x.name, &ix.suffix);
      if (ix.suffix.size() > 255) return input_error("xattr name '{}' too long", x.name);
      in.xattrs.push_back(ix);
      if (x.name == "system.posix_acl_access" || x.name == "system.posix_acl_default") has_acl_ = true;
    }
    std::stable_sort(in.xattrs.begin(), in.xattrs.end(),
                     [](const InodeXattr& a, const InodeXattr& b) { return a.x->name < b.x->name; });
    if (n.mtime_sec < min_sec_ || (n.mtime_sec == min_sec_ && n.mtime_nsec < min_nsec_)) {
      min_sec_ = n.mtime_sec;
      min_nsec_ = n.mtime_nsec;
    }
  }
  return {};
}

// A (name, value) pair used by more than one inode goes to the shared table,
// sorted descending (name, then value length, then value bytes).
Status Writer::plan_xattrs() {
  // Use counts per distinct (name, value): an open-addressing table over a
  // vector reserved up front (entries never move; no node per pair).
  size_t total = 0;
  for (auto& in : inodes_) total += in.xattrs.size();
  struct Slot {
    XattrKey key;
    SharedEntry entry;
  };
  std::vector<Slot> slots;
  slots.reserve(total);
  size_t cap = 16;
  while (cap < 2 * total) cap <<= 1;
  std::vector<uint32_t> table(cap, UINT32_MAX);
  XattrKeyHash hasher;
  for (auto& in : inodes_)
    for (auto& x : in.xattrs) {
      XattrKey k{x.x->name, x.x->value};
      size_t i = hasher(k) & (cap - 1);
      while (table[i] != UINT32_MAX && !(slots[table[i]].key == k)) i = (i + 1) & (cap - 1);
      if (table[i] == UINT32_MAX) {
        table[i] = static_cast<uint32_t>(slots.size());
        slots.push_back(Slot{k, {}});
      }
      x.entry = &slots[table[i]].entry;
      x.entry->count++;
    }
  std::vector<std::pair<const XattrKey*, SharedEntry*>> shared;
  for (auto& sl : slots)
    if (sl.entry.count > 1) shared.emplace_back(&sl.key, &sl.entry);
  std::sort(shared.begin(), shared.end(), [](const auto& a, const auto& b) {
    if (a.first->name != b.first->name) return a.first->name > b.first->name;
    if (a.first->value.size() != b.first->value.size()) return a.first->value.size() > b.first->value.size();
    return a.first->value > b.first->value;
  });
  uint64_t off = 0;
  for (size_t i = 0; i < shared.size(); i++) {
    auto& [k, v] = shared[i];
    v->shared = true;
    v->offset = off;
    v->index = i;
    std::string_view suffix;
    xattr_index(k->name, &suffix);
    off += xattr_entry_size(suffix, k->value.size());
  }
  shared_size_ = off;
  for (auto& in : inodes_) {
    uint32_t n_shared = 0;
    for (auto& x : in.xattrs) {
      SharedEntry& e = *x.entry;
      if (e.shared && n_shared < kMaxSharedXattrsPerInode) {
        x.shared_offset = static_cast<int64_t>(e.offset);
        n_shared++;
      }
    }
  }
  // The table in order, each entry taken from its first user.
  shared_table_.assign(shared.size(), nullptr);
  for (auto& in : inodes_)
    for (auto& x : in.xattrs) {
      SharedEntry& e = *x.entry;
      if (e.shared && !shared_table_[e.index]) shared_table_[e.index] = &x;
      x.entry = nullptr;  // the counts die with this function
    }
  return {};
}

std::vector<std::pair<size_t, size_t>> Writer::dir_chunks(const Inode& dir, uint64_t* last_size) const {
  std::vector<std::pair<size_t, size_t>> chunks;
  size_t first = 0;
  uint64_t used = 0;
  for (size_t i = 0; i < dir.dirents.size(); i++) {
    uint64_t len = kDirentSize + dir.dirents[i].name.size();
    if (used + len > kBlockSize) {
      chunks.emplace_back(first, i - first);
      first = i;
      used = 0;
    }
    used += len;
  }
  chunks.emplace_back(first, dir.dirents.size() - first);
  *last_size = used;
  return chunks;
}

void Writer::compute_data_size(Inode& in) {
  const Node& n = *in.node;
  in.n_blocks = 0;
  in.tail = 0;
  if (n.is_dir()) {
    uint64_t last = 0;
    auto chunks = dir_chunks(in, &last);
    in.n_blocks = chunks.size() - 1;
    in.tail = last;
    if (in.tail > kBlockSize / 2) {  // never inline more than half a block
      in.n_blocks++;
      in.tail = 0;
    }
  } else if (n.is_symlink()) {
    in.tail = n.payload ? n.payload->size() : 0;
  } else if (n.is_reg() && n.size > 0) {
    if (!n.content.empty()) {
      in.n_blocks = n.size / kBlockSize;
      in.tail = n.size % kBlockSize;
      if (in.tail > kBlockSize / 2) {
        in.n_blocks++;
        in.tail = 0;
      }
    } else {
      in.external = true;
      uint32_t bits = chunk_bits_for(n.size);
      in.chunk_count = static_cast<uint32_t>(div_round_up(n.size, uint64_t{1} << bits));
      in.chunk_format = static_cast<uint16_t>(bits - kBlockBits);
      in.tail = uint64_t{in.chunk_count} * 4;
    }
  }
}

// Padding in front of an inode so its inline tail never straddles a block
// (libcomposefs compute_erofs_inode_padding_for_tail, quirks included).
uint64_t Writer::tail_padding(Inode& in, uint64_t pos, uint64_t inode_size) {
  uint64_t non_tail = inode_size + in.xattr_size;
  uint64_t total = non_tail + in.tail;
  if (in.node->is_symlink()) {
    // Inode and target share a block; a target that cannot fit moves to a
    // data block, and the inode still moves to the next block if the
    // original span crossed one.
    uint64_t pos_block = pos / kBlockSize;
    uint64_t end_block = (pos + total - 1) / kBlockSize;
    if (total / kBlockSize > 0) {
      in.n_blocks++;
      in.tail = 0;
    }
    return pos_block != end_block ? round_up(pos, kBlockSize) - pos : 0;
  }
  uint64_t remainder = kBlockSize - ((pos + non_tail) % kBlockSize);
  if (remainder >= in.tail) return 0;
  uint64_t extra = round_up(remainder, kSlotSize);
  remainder = kBlockSize - ((pos + non_tail + extra) % kBlockSize);
  if (in.tail <= remainder) return extra;
  in.n_blocks++;
  in.tail = 0;
  return round_up(pos, kBlockSize) - pos;
}

Status Writer::plan_layout() {
  uint64_t pos = kSuperOffset + kSuperSize;
  const uint64_t meta_start = 0;  // meta_blkaddr 0: nids count from the image start
  for (auto& in : inodes_) {
    const Node& n = *in.node;
    compute_data_size(in);
    if (in.external && in.chunk_count > kMaxExternalChunks)
      return input_error("file of {} bytes needs {} chunks (at most {})", n.size, in.chunk_count, kMaxExternalChunks);
    if (n.is_reg() && !n.content.empty() && n.content.size() != n.size)
      return input_error("inline content of {} bytes for a file of size {}", n.content.size(), n.size);
    uint64_t size = n.is_dir() ? in.n_blocks * kBlockSize + in.tail : n.size;
    in.compact = n.mtime_sec == min_sec_ && n.mtime_nsec == min_nsec_ && in.nlink <= UINT16_MAX &&
                 n.uid <= UINT16_MAX && n.gid <= UINT16_MAX && size <= UINT32_MAX;
    uint64_t inode_size = in.compact ? kInodeCompactSize : kInodeExtendedSize;
    uint64_t n_shared = 0, unshared = 0;
    for (auto& x : in.xattrs) {
      if (x.shared_offset >= 0)
        n_shared++;
      else
        unshared += xattr_entry_size(x.suffix, x.x->value.size());
    }
    in.xattr_size = (n_shared == 0 && unshared == 0) ? 0 : round_up(kXattrIbodyHeaderSize + 4 * n_shared + unshared, 4);
    if (in.xattr_size && (in.xattr_size - kXattrIbodyHeaderSize) / 4 + 1 > UINT16_MAX)
      return input_error("too many xattrs on one inode");
    uint64_t aligned = round_up(pos, kSlotSize);
    in.ipad = aligned - pos;
    pos = aligned;
    uint64_t extra = tail_padding(in, pos, inode_size);
    in.ipad += extra;
    pos += extra;
    in.isize = inode_size + in.xattr_size + in.tail;
    n_data_blocks_ += in.n_blocks;
    in.nid = (pos - meta_start) / kSlotSize;
    pos += in.isize;
  }
  inodes_end_ = round_up(pos, kSlotSize);
  if (inodes_[0].nid > UINT16_MAX) return internal_error("root nid {} does not fit", inodes_[0].nid);
  data_start_ = round_up(inodes_end_ + shared_size_, kBlockSize);
  if (data_start_ / kBlockSize + n_data_blocks_ > UINT32_MAX) return input_error("image too large for EROFS");
  return {};
}

void Writer::emit_dirent_chunk(uint8_t* at, const Inode& dir, size_t first, size_t n) const {
  uint64_t nameoff = n * kDirentSize;
  uint8_t* names = at + nameoff;
  for (size_t i = first; i < first + n; i++) {
    const Dirent& d = dir.dirents[i];
    const Inode& t = inodes_[d.target];
    store_dirent(at + (i - first) * kDirentSize, t.nid, static_cast<uint16_t>(nameoff), file_type_of_mode(t.node->mode));
    std::memcpy(names, d.name.data(), d.name.size());
    names += d.name.size();
    nameoff += d.name.size();
  }
}

void Writer::emit_inode(Bytes& out, uint64_t& pos, Inode& in) {
  const Node& n = *in.node;
  uint8_t* p = out.data() + pos;
  uint16_t layout = in.tail > 0 ? kFlatInline : kFlatPlain;
  uint64_t size = 0;
  uint32_t i_u = 0;
  const uint32_t type = n.mode & base::kIfMt;
  if (type == base::kIfDir) {
    size = in.n_blocks * kBlockSize + in.tail;
  } else if (type == base::kIfReg) {
    size = n.size;
    if (in.external) layout = kChunkBased;
  } else if (type == base::kIfLnk) {
    size = n.payload ? n.payload->size() : 0;
  }
  if (type == base::kIfDir || type == base::kIfReg || type == base::kIfLnk) {
    if (in.n_blocks > 0) {
      i_u = static_cast<uint32_t>(current_end_ / kBlockSize);
      current_end_ += kBlockSize * in.n_blocks;
    }
    // The chunk format shares the union with raw_blkaddr and overwrites its
    // low 16 bits (as libcomposefs does).
    if (layout == kChunkBased) i_u = (i_u & 0xffff0000u) | in.chunk_format;
  } else if (type == base::kIfChr || type == base::kIfBlk) {
    i_u = static_cast<uint32_t>(n.rdev);
  }
  InodeHeader h;
  h.format = inode_format(layout, in.compact);
  h.xattr_icount = xattr_icount_for(in.xattr_size);
  h.mode = static_cast<uint16_t>(n.mode);
  h.nlink = in.nlink;
  h.size = size;
  h.i_u = i_u;
  h.ino = static_cast<uint32_t>(&in - inodes_.data());
  h.uid = n.uid;
  h.gid = n.gid;
  h.mtime = static_cast<uint64_t>(n.mtime_sec);  // extended inodes only
  h.mtime_nsec = n.mtime_nsec;
  store_inode(p, h);
  p += in.compact ? kInodeCompactSize : kInodeExtendedSize;
  if (in.xattr_size) {
    uint8_t* start = p;
    uint32_t filter = 0;
    uint8_t n_shared = 0;
    for (auto& x : in.xattrs) {
      filter |= xattr_filter_bit(x.index, x.suffix);
      if (x.shared_offset >= 0) n_shared++;
    }
    store_xattr_ibody_header(p, filter, n_shared);
    p += kXattrIbodyHeaderSize;
    for (auto& x : in.xattrs) {
      if (x.shared_offset < 0) continue;
      store_le<uint32_t>(p, static_cast<uint32_t>((inodes_end_ % kBlockSize + static_cast<uint64_t>(x.shared_offset)) / 4));
      p += 4;
    }
    for (auto& x : in.xattrs) {
      if (x.shared_offset >= 0) continue;
      p += store_xattr_entry(p, x.index, x.suffix, x.x->value);
    }
    p = start + in.xattr_size;
  }
  if (in.tail > 0) {
    if (type == base::kIfDir) {
      uint64_t last = 0;
      auto chunks = dir_chunks(in, &last);
      emit_dirent_chunk(p, in, chunks.back().first, chunks.back().second);
    } else if (type == base::kIfLnk) {
      std::memcpy(p, n.payload->data(), n.payload->size());
    } else if (type == base::kIfReg && !in.external) {
      std::memcpy(p, n.content.data() + (n.size - in.tail), in.tail);
    } else if (type == base::kIfReg) {
      std::memset(p, 0xff, in.tail);  // chunk indexes, all EROFS_NULL_ADDR
    }
  }
  pos += in.isize;
}

Status Writer::emit(Bytes& out) {
  uint8_t* o = out.data();
  // composefs header.
  store_composefs_header(o, has_acl_ ? kComposefsFlagHasAcl : 0, opts_.composefs_version);
  // Superblock.
  uint8_t* s = o + kSuperOffset;
  store_le<uint32_t>(s + sb::magic, kSuperMagic);
  store_le<uint32_t>(s + sb::feature_compat, kFeatureCompatMtime | kFeatureCompatXattrFilter);
  s[sb::blkszbits] = kBlockBits;
  store_le<uint16_t>(s + sb::root_nid, static_cast<uint16_t>(inodes_[0].nid));
  store_le<uint64_t>(s + sb::inos, inodes_.size());
  store_le<uint64_t>(s + sb::build_time, static_cast<uint64_t>(min_sec_));
  store_le<uint32_t>(s + sb::build_time_nsec, min_nsec_);
  store_le<uint32_t>(s + sb::blocks, static_cast<uint32_t>(data_start_ / kBlockSize + n_data_blocks_));
  store_le<uint32_t>(s + sb::meta_blkaddr, 0);
  store_le<uint32_t>(s + sb::xattr_blkaddr, static_cast<uint32_t>(inodes_end_ / kBlockSize));

  current_end_ = data_start_;
  uint64_t pos = kSuperOffset + kSuperSize;
  for (auto& in : inodes_) {
    pos += in.ipad;
    if (pos % kSlotSize != 0 || pos / kSlotSize != in.nid)
      return internal_error("inode {} at offset {} but planned nid {}", &in - inodes_.data(), pos, in.nid);
    emit_inode(out, pos, in);
  }
  pos = round_up(pos, kSlotSize);
  if (pos != inodes_end_) return internal_error("inodes end at {}, planned {}", pos, inodes_end_);
  for (const InodeXattr* x : shared_table_) {
    pos += store_xattr_entry(o + pos, x->index, x->suffix, x->x->value);
  }
  if (pos != inodes_end_ + shared_size_) return internal_error("shared xattrs end at {}", pos);
  pos = data_start_;
  for (auto& in : inodes_) {
    if (in.n_blocks == 0) continue;
    const Node& n = *in.node;
    uint64_t start = pos;
    if (n.is_dir()) {
      uint64_t last = 0;
      auto chunks = dir_chunks(in, &last);
      size_t full = chunks.size() - 1;
      for (size_t c = 0; c < chunks.size(); c++) {
        if (c == full && in.tail > 0) break;  // the last chunk is inline
        emit_dirent_chunk(o + pos, in, chunks[c].first, chunks[c].second);
        pos += kBlockSize;
      }
    } else if (n.is_reg() && in.external) {
      std::memset(o + pos, 0xff, kBlockSize);  // 1024 null chunk indexes
      pos += kBlockSize;
    } else if (n.is_reg()) {
      uint64_t len = std::min<uint64_t>(n.size, in.n_blocks * kBlockSize);
      std::memcpy(o + pos, n.content.data(), len);
      pos += in.n_blocks * kBlockSize;
    } else if (n.is_symlink()) {
      std::memcpy(o + pos, n.payload->data(), n.payload->size());
      pos += kBlockSize;
    }
    if (pos != start + in.n_blocks * kBlockSize)
      return internal_error("inode {} wrote {} data bytes, planned {} blocks", &in - inodes_.data(), pos - start,
                            in.n_blocks);
  }
  if (pos != out.size() || current_end_ != out.size())
    return internal_error("image ends at {}, planned {}", pos, out.size());
  return {};
}

Result<Bytes> Writer::run() {
  BS_TRY(collect());
  BS_TRY(plan_xattrs());
  BS_TRY(plan_layout());
  Bytes out(data_start_ + n_data_blocks_ * kBlockSize, 0);
  BS_TRY(emit(out));
  return out;
}

}  // namespace

Result<Bytes> write_image(const fstree::Tree& tree, const WriterOptions& options) {
  Writer w(tree, options);
  return w.run();
}

}  // namespace bootseal::erofs
