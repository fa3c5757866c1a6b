#include "erofs/reader.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "erofs/format.h"

namespace bootseal::erofs {

using fstree::Node;
using fstree::NodePtr;

Result<SuperInfo> read_super(ByteSpan image) {
  ByteReader r(image);
  ByteSpan s = BS_TRY(r.at(kSuperOffset, kSuperSize, "EROFS superblock"));
  if (load_le<uint32_t>(s.data() + sb::magic) != kSuperMagic) return input_error("not an EROFS image (bad superblock magic)");
  // A value no EROFS writer produces is a corrupt header (bad input); a valid
  // one bootseal does not read is unsupported.
  if (s[sb::blkszbits] < 9 || s[sb::blkszbits] > 16)
    return input_error("corrupt EROFS superblock: block size 2^{}", s[sb::blkszbits]);
  if (s[sb::blkszbits] != kBlockBits)
    return unsupported_error("EROFS block size 2^{} is not supported (only 4096)", s[sb::blkszbits]);
  SuperInfo si;
  si.feature_compat = load_le<uint32_t>(s.data() + sb::feature_compat);
  si.feature_incompat = load_le<uint32_t>(s.data() + sb::feature_incompat);
  // Bits 0..8 are every incompatible feature Linux defines (through 6.17).
  if (si.feature_incompat & ~0x1ffu)
    return input_error("corrupt EROFS superblock: undefined incompatible feature bits {:#x}", si.feature_incompat);
  if (si.feature_incompat & ~kFeatureIncompatChunkedFile)
    return unsupported_error("EROFS incompatible features {:#x} are not supported", si.feature_incompat);
  si.root_nid = load_le<uint16_t>(s.data() + sb::root_nid);
  si.inos = load_le<uint64_t>(s.data() + sb::inos);
  si.build_time = static_cast<int64_t>(load_le<uint64_t>(s.data() + sb::build_time));
  si.build_time_nsec = load_le<uint32_t>(s.data() + sb::build_time_nsec);
  si.blocks = load_le<uint32_t>(s.data() + sb::blocks);
  si.meta_blkaddr = load_le<uint32_t>(s.data() + sb::meta_blkaddr);
  si.xattr_blkaddr = load_le<uint32_t>(s.data() + sb::xattr_blkaddr);
  return si;
}

namespace {

struct RawInode {
  uint64_t nid = 0;
  uint64_t offset = 0;  // of the inode in the image
  bool compact = true;
  uint16_t layout = 0;
  uint32_t isize = 0;
  uint64_t xattr_size = 0;
  uint64_t size = 0;
  uint32_t i_u = 0;
};

class Reader {
 public:
  Reader(ByteSpan image, const ReadLimits& limits) : img_(image), limits_(limits) {}
  Result<fstree::Tree> run();

 private:
  Result<RawInode> inode(uint64_t nid, Node& n);
  Status xattrs(const RawInode& ri, Node& n);
  Result<Bytes> data(const RawInode& ri, const Node& n);
  Status read_dir(const RawInode& ri, Node& dir, uint32_t depth);
  Result<NodePtr> load(uint64_t nid, uint32_t depth);
  Status parse_xattr_entry(uint64_t off, uint64_t end, Node& n, uint64_t* entry_size, uint64_t nid);

  ByteSpan img_;
  ReadLimits limits_;
  SuperInfo si_;
  std::unordered_map<uint64_t, NodePtr> seen_;
  uint64_t entries_ = 0;
  uint64_t data_read_ = 0;
};

Result<RawInode> Reader::inode(uint64_t nid, Node& n) {
  RawInode ri;
  ri.nid = nid;
  auto off = checked_add<uint64_t>(uint64_t{si_.meta_blkaddr} * kBlockSize, nid * kSlotSize);
  if (!off || nid > (uint64_t{1} << 48)) return input_error("inode nid {} out of range", nid);
  ri.offset = *off;
  ByteReader r(img_);
  ByteSpan head = BS_TRY_CTX(r.at(ri.offset, kInodeCompactSize, "inode"), "nid {}", nid);
  uint16_t format = load_inode_format(head.data());
  ri.compact = (format & 1) == kInodeLayoutCompact;
  ri.layout = (format >> 1) & 7;
  if (format & ~0xfu) return input_error("nid {}: unknown inode format bits {:#x}", nid, format);
  ri.isize = ri.compact ? kInodeCompactSize : kInodeExtendedSize;
  ByteSpan p = BS_TRY_CTX(r.at(ri.offset, ri.isize, "inode"), "nid {}", nid);
  InodeHeader h = load_inode(p.data());
  ri.xattr_size = xattr_ibody_size(h.xattr_icount);
  n.mode = h.mode;
  ri.i_u = h.i_u;
  ri.size = h.size;
  n.nlink = h.nlink;
  n.uid = h.uid;
  n.gid = h.gid;
  if (ri.compact) {
    n.mtime_sec = si_.build_time;
    n.mtime_nsec = si_.build_time_nsec;
  } else {
    n.mtime_sec = static_cast<int64_t>(h.mtime);
    n.mtime_nsec = h.mtime_nsec;
  }
  if (!fstree::valid_mode(n.mode)) return input_error("nid {}: invalid file mode {:o}", nid, n.mode);
  n.size = ri.size;
  uint32_t type = n.mode & base::kIfMt;
  if (type == base::kIfChr || type == base::kIfBlk) n.rdev = ri.i_u;
  if (!in_bounds(ri.offset + ri.isize, ri.xattr_size, img_.size()))
    return input_error("nid {}: xattrs run past the end of the image", nid);
  if (ri.layout != kFlatPlain && ri.layout != kFlatInline && ri.layout != kChunkBased)
    return unsupported_error("nid {}: data layout {} (compressed) is not supported", nid, ri.layout);
  if (ri.layout == kChunkBased && type != base::kIfReg)
    return input_error("nid {}: chunk-based data on a non-regular file", nid);
  return ri;
}

Status Reader::parse_xattr_entry(uint64_t off, uint64_t end, Node& n, uint64_t* entry_size, uint64_t nid) {
  if (off + kXattrEntrySize > end) return input_error("nid {}: truncated xattr entry", nid);
  const uint8_t* e = img_.data() + off;
  XattrEntryHeader eh = load_xattr_entry_header(e);
  uint8_t name_len = eh.name_len, index = eh.name_index;
  uint16_t value_size = eh.value_size;
  uint64_t len = kXattrEntrySize + uint64_t{name_len} + value_size;
  if (off + len > end) return input_error("nid {}: xattr entry runs past its area", nid);
  if (index & kXattrLongPrefix) return unsupported_error("nid {}: long xattr name prefixes are not supported", nid);
  if (index >= std::size(kXattrPrefixes)) return input_error("nid {}: unknown xattr prefix index {}", nid, index);
  std::string name(kXattrPrefixes[index]);
  name.append(reinterpret_cast<const char*>(e + xattr_entry::e_name), name_len);
  if (name.empty()) return input_error("nid {}: empty xattr name", nid);
  std::string value(reinterpret_cast<const char*>(e + xattr_entry::e_name + name_len), value_size);
  if (limits_.redirect_overread && value_size > 1 && value[0] == '/' && name == "trusted.overlay.redirect") {
    uint64_t after = off + len;
    for (uint64_t i = after; i < after + 2 && i < img_.size(); i++) value.push_back(static_cast<char>(img_[i]));
  }
  n.xattrs.push_back(fstree::Xattr{std::move(name), std::move(value)});
  *entry_size = round_up(len, 4);
  return {};
}

Status Reader::xattrs(const RawInode& ri, Node& n) {
  if (ri.xattr_size == 0) return {};
  uint64_t start = ri.offset + ri.isize;
  uint64_t end = start + ri.xattr_size;
  const uint8_t* h = img_.data() + start;
  uint8_t shared = h[xattr_ibody::h_shared_count];
  uint64_t pos = start + kXattrIbodyHeaderSize + uint64_t{shared} * 4;
  if (pos > end) return input_error("nid {}: {} shared xattr ids do not fit", ri.nid, shared);
  // Inline entries first, then shared ones (composefs-info's order).
  while (pos + kXattrEntrySize < end) {
    uint64_t sz = 0;
    BS_TRY(parse_xattr_entry(pos, end, n, &sz, ri.nid));
    pos += sz;
  }
  uint64_t table = uint64_t{si_.xattr_blkaddr} * kBlockSize;
  for (uint32_t i = 0; i < shared; i++) {
    uint32_t id = load_le<uint32_t>(h + xattr_ibody::h_shared_xattrs + 4 * i);
    uint64_t off = table + uint64_t{id} * 4;
    if (off >= img_.size()) return input_error("nid {}: shared xattr id {} out of range", ri.nid, id);
    uint64_t sz = 0;
    BS_TRY(parse_xattr_entry(off, img_.size(), n, &sz, ri.nid));
  }
  if (n.xattrs.size() > 65535) return input_error("nid {}: too many xattrs", ri.nid);
  return {};
}

// The flat data of an inode: full blocks at raw_blkaddr, then (inline layout)
// the tail right after the xattrs.
Result<Bytes> Reader::data(const RawInode& ri, const Node& n) {
  (void)n;
  if (ri.size > img_.size() * 2 + kBlockSize) return input_error("nid {}: size {} is larger than the image", ri.nid, ri.size);
  data_read_ += ri.size;
  if (data_read_ > std::max<uint64_t>(img_.size(), 1 << 20) * limits_.max_data_factor)
    return input_error("nid {}: data blocks are shared implausibly often", ri.nid);
  uint64_t tail = ri.layout == kFlatInline ? ri.size % kBlockSize : 0;
  uint64_t outside = ri.size - tail;
  Bytes out;
  out.reserve(ri.size);
  ByteReader r(img_);
  if (outside > 0) {
    ByteSpan b = BS_TRY_CTX(r.at(uint64_t{ri.i_u} * kBlockSize, outside, "data blocks"), "nid {}", ri.nid);
    out.insert(out.end(), b.begin(), b.end());
  }
  if (tail > 0) {
    uint64_t toff = ri.offset + ri.isize + ri.xattr_size;
    ByteSpan b = BS_TRY_CTX(r.at(toff, tail, "inline data"), "nid {}", ri.nid);
    if (toff / kBlockSize != (toff + tail - 1) / kBlockSize) return input_error("nid {}: inline data crosses a block", ri.nid);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

Status Reader::read_dir(const RawInode& ri, Node& dir, uint32_t depth) {
  if (ri.layout == kChunkBased) return input_error("nid {}: chunk-based directory", ri.nid);
  Bytes d = BS_TRY(data(ri, dir));
  bool saw_dot = false;
  for (uint64_t boff = 0; boff < d.size(); boff += kBlockSize) {
    uint64_t bsize = std::min<uint64_t>(kBlockSize, d.size() - boff);
    const uint8_t* b = d.data() + boff;
    if (bsize < kDirentSize) return input_error("nid {}: directory block too small", ri.nid);
    uint16_t first_off = load_dirent_nameoff(b);
    if (first_off % kDirentSize != 0 || first_off == 0 || first_off > bsize)
      return input_error("nid {}: corrupt directory block (nameoff {})", ri.nid, first_off);
    size_t count = first_off / kDirentSize;
    std::string_view prev;
    for (size_t i = 0; i < count; i++) {
      const uint8_t* e = b + i * kDirentSize;
      uint64_t nid = load_dirent_nid(e);
      uint16_t off = load_dirent_nameoff(e);
      uint64_t end;
      if (i + 1 < count) {
        end = load_dirent_nameoff(e + kDirentSize);
      } else {
        end = off;
        while (end < bsize && b[end] != 0) end++;
      }
      if (off < first_off || end > bsize || end <= off || end - off > kMaxNameLength)
        return input_error("nid {}: corrupt directory entry {}", ri.nid, i);
      std::string_view name(reinterpret_cast<const char*>(b + off), end - off);
      if (!prev.empty() && name <= prev) return input_error("nid {}: directory entries not sorted", ri.nid);
      prev = name;
      if (name == ".") {
        if (nid != ri.nid) return input_error("nid {}: '.' points elsewhere", ri.nid);
        saw_dot = true;
        continue;
      }
      if (name == "..") continue;
      if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
        return input_error("nid {}: invalid name in directory", ri.nid);
      if (++entries_ > limits_.max_entries) return input_error("more than {} entries", limits_.max_entries);
      auto it = seen_.find(nid);
      if (it != seen_.end()) {
        if (it->second->is_dir()) return input_error("nid {}: directory {} reached twice", ri.nid, nid);
        BS_TRY(dir.add_child(std::string(name), it->second, true));
        continue;
      }
      NodePtr child = BS_TRY_CTX(load(nid, depth + 1), "{}", name);
      BS_TRY(dir.add_child(std::string(name), child, false));
    }
  }
  if (!saw_dot) return input_error("nid {}: directory without '.'", ri.nid);
  return {};
}

Result<NodePtr> Reader::load(uint64_t nid, uint32_t depth) {
  if (depth > limits_.max_depth) return input_error("directories nested deeper than {}", limits_.max_depth);
  auto n = std::make_shared<Node>();
  seen_[nid] = n;
  RawInode ri = BS_TRY(inode(nid, *n));
  BS_TRY(xattrs(ri, *n));
  switch (n->mode & base::kIfMt) {
    case base::kIfDir:
      BS_TRY(read_dir(ri, *n, depth));
      break;
    case base::kIfLnk: {
      if (ri.size == 0 || ri.size >= 4096) return input_error("nid {}: symlink target of {} bytes", nid, ri.size);
      if (ri.layout == kChunkBased) return input_error("nid {}: chunk-based symlink", nid);
      Bytes t = BS_TRY(data(ri, *n));
      std::string target(as_string(t));
      if (target.find('\0') != std::string::npos) return input_error("nid {}: NUL in symlink target", nid);
      n->payload = std::move(target);
      break;
    }
    case base::kIfReg:
      if (ri.size > 0 && ri.layout != kChunkBased) n->content = BS_TRY(data(ri, *n));
      break;
    default:
      break;
  }
  return n;
}

Result<fstree::Tree> Reader::run() {
  si_ = BS_TRY(read_super(img_));
  NodePtr root = BS_TRY_CTX(load(si_.root_nid, 0), "root");
  if (!root->is_dir()) return input_error("the root inode is not a directory");
  return fstree::Tree{root};
}

}  // namespace

Result<fstree::Tree> read_image(ByteSpan image, const ReadLimits& limits) {
  Reader r(image, limits);
  return r.run();
}

}  // namespace bootseal::erofs
