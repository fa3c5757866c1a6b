#include "erofs/dump.h"

#include <algorithm>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "erofs/format.h"

namespace bootseal::erofs {
namespace {

const char* layout_name(uint16_t layout) {
  switch (layout) {
    case kFlatPlain: return "flat_plain";
    case kFlatInline: return "flat_inline";
    case kChunkBased: return "chunk_based";
    default: return "compressed";
  }
}

// Printable bytes as a quoted string, others as \xNN; long runs cut.
std::string quote(ByteSpan b, size_t max = 64) {
  std::string s = "\"";
  for (size_t i = 0; i < b.size() && i < max; i++) {
    uint8_t c = b[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      s += static_cast<char>(c);
    else
      s += fmt::format("\\x{:02x}", c);
  }
  s += '"';
  if (b.size() > max) s += fmt::format("...({} bytes)", b.size());
  return s;
}

class Dumper {
 public:
  explicit Dumper(ByteSpan img) : img_(img) {}
  Result<std::string> run();

 private:
  void line(uint64_t off, std::string text) { order_.push_back({off, std::move(text)}); }
  Result<ByteSpan> at(uint64_t off, uint64_t len, std::string_view what) const {
    if (off > img_.size() || len > img_.size() - off)
      return input_error("{} at {} (+{}) runs past the end of the image ({} bytes)", what, off, len, img_.size());
    return img_.subspan(off, len);
  }
  Status inode(uint64_t nid);
  Status xattr_entry(uint64_t off, uint64_t end, const std::string& region, uint64_t* size);
  Status dirents(uint64_t off, uint64_t len, const std::string& region);

  ByteSpan img_;
  std::vector<std::pair<uint64_t, std::string>> order_;
  uint32_t meta_blkaddr_ = 0, xattr_blkaddr_ = 0;
  std::set<uint64_t> seen_, queued_;
  std::vector<uint64_t> todo_;
  std::set<uint32_t> shared_ids_;
};

Status Dumper::xattr_entry(uint64_t off, uint64_t end, const std::string& region, uint64_t* size) {
  ByteSpan h = BS_TRY(at(off, kXattrEntrySize, region));
  XattrEntryHeader e = load_xattr_entry_header(h.data());
  uint64_t len = kXattrEntrySize + uint64_t{e.name_len} + e.value_size;
  if (off + len > end) return input_error("{} at {} runs past its area", region, off);
  ByteSpan name = BS_TRY(at(off + xattr_entry::e_name, e.name_len, region));
  ByteSpan value = BS_TRY(at(off + xattr_entry::e_name + e.name_len, e.value_size, region));
  std::string full(e.name_index < std::size(kXattrPrefixes) ? kXattrPrefixes[e.name_index] : "?");
  full.append(reinterpret_cast<const char*>(name.data()), name.size());
  line(off, fmt::format("{} e_name_len = {}, e_name_index = {}, e_value_size = {}: {} = {}", region, e.name_len,
                        e.name_index, e.value_size, quote(as_bytes(full)), quote(value)));
  *size = xattr_entry_size(e.name_len, e.value_size);
  return {};
}

Status Dumper::dirents(uint64_t off, uint64_t len, const std::string& region) {
  ByteSpan b = BS_TRY(at(off, len, region));
  if (len < kDirentSize) return input_error("{}: {} bytes are no dirent block", region, len);
  uint16_t first = load_dirent_nameoff(b.data());
  if (first == 0 || first % kDirentSize || first > len) return input_error("{}: bad first nameoff {}", region, first);
  size_t count = first / kDirentSize;
  for (size_t i = 0; i < count; i++) {
    const uint8_t* e = b.data() + i * kDirentSize;
    uint64_t nid = load_dirent_nid(e);
    uint16_t nameoff = load_dirent_nameoff(e);
    uint64_t end = i + 1 < count ? load_dirent_nameoff(e + kDirentSize) : len;
    if (i + 1 == count)
      for (end = nameoff; end < len && b[end] != 0;) end++;
    if (nameoff > end || end > len) return input_error("{}: bad dirent {}", region, i);
    std::string name(reinterpret_cast<const char*>(b.data() + nameoff), end - nameoff);
    line(off + i * kDirentSize, fmt::format("{} dirent[{}] nid = {}, nameoff = {}, file_type = {}: {}", region, i,
                                            nid, nameoff, e[dirent::file_type], name));
    if (name != "." && name != ".." && queued_.insert(nid).second) todo_.push_back(nid);
  }
  return {};
}

Status Dumper::inode(uint64_t nid) {
  uint64_t off = uint64_t{meta_blkaddr_} * kBlockSize + nid * kSlotSize;
  std::string r = fmt::format("inode[{}]", nid);
  ByteSpan head = BS_TRY(at(off, kInodeCompactSize, r));
  bool compact = (load_inode_format(head.data()) & 1) == kInodeLayoutCompact;
  uint64_t isize = compact ? kInodeCompactSize : kInodeExtendedSize;
  InodeHeader h = load_inode(BS_TRY(at(off, isize, r)).data());
  uint32_t type = h.mode & base::kIfMt;
  line(off, fmt::format("{} {} i_format = {:#x} ({}), i_xattr_icount = {}, i_mode = {:o}, i_nlink = {}, "
                        "i_size = {}, i_u = {:#x}, i_ino = {}, i_uid = {}, i_gid = {}{}",
                        r, compact ? "compact" : "extended", h.format, layout_name(h.layout()), h.xattr_icount,
                        h.mode, h.nlink, h.size, h.i_u, h.ino, h.uid, h.gid,
                        compact ? "" : fmt::format(", i_mtime = {}.{:09}", h.mtime, h.mtime_nsec)));
  uint64_t pos = off + isize;
  uint64_t xsize = xattr_ibody_size(h.xattr_icount);
  if (xsize) {
    ByteSpan xh = BS_TRY(at(pos, kXattrIbodyHeaderSize, r + ".xattrs"));
    uint8_t shared = xh[xattr_ibody::h_shared_count];
    line(pos, fmt::format("{}.xattrs h_name_filter = {:#010x}, h_shared_count = {}", r,
                          load_le<uint32_t>(xh.data() + xattr_ibody::h_name_filter), shared));
    uint64_t end = pos + xsize;
    uint64_t p = pos + kXattrIbodyHeaderSize;
    for (uint32_t i = 0; i < shared; i++, p += 4) {
      uint32_t id = load_le<uint32_t>(BS_TRY(at(p, 4, r)).data());
      line(p, fmt::format("{}.xattrs shared[{}] = {} (offset {})", r, i, id,
                          uint64_t{xattr_blkaddr_} * kBlockSize + uint64_t{id} * 4));
      shared_ids_.insert(id);
    }
    while (p + kXattrEntrySize < end) {
      uint64_t sz = 0;
      BS_TRY(xattr_entry(p, end, r + ".xattrs", &sz));
      p += sz;
    }
    pos = end;
  }
  uint16_t layout = h.layout();
  uint64_t blocks = 0, tail = 0;
  if (type == base::kIfDir || type == base::kIfReg || type == base::kIfLnk) {
    if (layout == kFlatInline) {
      blocks = h.size / kBlockSize;
      tail = h.size % kBlockSize;
    } else if (layout == kFlatPlain) {
      blocks = div_round_up(h.size, kBlockSize);
    } else if (layout == kChunkBased) {
      uint32_t bits = kBlockBits + (h.i_u & kChunkFormatBlkbitsMask);
      uint64_t chunks = bits >= 64 ? 1 : div_round_up(h.size, uint64_t{1} << bits);
      line(pos, fmt::format("{}.chunks {} chunk(s) of 2^{} bytes, {} bytes of block map", r, chunks, bits, chunks * 4));
    }
  }
  if (tail) {
    if (type == base::kIfDir) {
      BS_TRY(dirents(pos, tail, r + ".inline"));
    } else {
      line(pos, fmt::format("{}.inline {} bytes: {}", r, tail, quote(BS_TRY(at(pos, tail, r)))));
    }
  }
  for (uint64_t b = 0; b < blocks; b++) {
    uint64_t boff = (uint64_t{h.i_u} + b) * kBlockSize;
    uint64_t len = std::min<uint64_t>(kBlockSize, h.size - b * kBlockSize);
    std::string br = fmt::format("{}.block[{}]", r, b);
    if (type == base::kIfDir)
      BS_TRY(dirents(boff, len, br));
    else
      line(boff, fmt::format("{} {} bytes: {}", br, len, quote(BS_TRY(at(boff, len, br)), 32)));
  }
  return {};
}

Result<std::string> Dumper::run() {
  ByteSpan ch = BS_TRY(at(0, kComposefsHeaderSize, "composefs header"));
  line(0, fmt::format("composefs_header magic = {:#x}, version = {}, flags = {}, composefs_version = {}",
                      load_le<uint32_t>(ch.data() + cfs_header::magic), load_le<uint32_t>(ch.data() + cfs_header::version),
                      load_le<uint32_t>(ch.data() + cfs_header::flags),
                      load_le<uint32_t>(ch.data() + cfs_header::composefs_version)));
  ByteSpan s = BS_TRY(at(kSuperOffset, kSuperSize, "superblock"));
  if (load_le<uint32_t>(s.data() + sb::magic) != kSuperMagic) return input_error("not an EROFS image (bad superblock magic)");
  uint16_t root = load_le<uint16_t>(s.data() + sb::root_nid);
  meta_blkaddr_ = load_le<uint32_t>(s.data() + sb::meta_blkaddr);
  xattr_blkaddr_ = load_le<uint32_t>(s.data() + sb::xattr_blkaddr);
  line(kSuperOffset,
       fmt::format("superblock magic = {:#x}, feature_compat = {:#x}, blkszbits = {}, root_nid = {}, inos = {}, "
                   "build_time = {}.{:09}, blocks = {}, meta_blkaddr = {}, xattr_blkaddr = {}, feature_incompat = {:#x}",
                   load_le<uint32_t>(s.data() + sb::magic), load_le<uint32_t>(s.data() + sb::feature_compat),
                   s[sb::blkszbits], root, load_le<uint64_t>(s.data() + sb::inos),
                   load_le<uint64_t>(s.data() + sb::build_time), load_le<uint32_t>(s.data() + sb::build_time_nsec),
                   load_le<uint32_t>(s.data() + sb::blocks), meta_blkaddr_, xattr_blkaddr_,
                   load_le<uint32_t>(s.data() + sb::feature_incompat)));
  todo_.push_back(root);
  queued_.insert(root);
  while (!todo_.empty()) {
    uint64_t nid = todo_.front();
    todo_.erase(todo_.begin());
    if (!seen_.insert(nid).second) continue;
    if (seen_.size() > 100000) return input_error("more than 100000 inodes: not a small image");
    BS_TRY(inode(nid));
  }
  for (uint32_t id : shared_ids_) {
    uint64_t off = uint64_t{xattr_blkaddr_} * kBlockSize + uint64_t{id} * 4;
    uint64_t sz = 0;
    BS_TRY(xattr_entry(off, img_.size(), fmt::format("shared_xattr[{}]", id), &sz));
  }
  line(img_.size(), fmt::format("end ({} blocks)", img_.size() / kBlockSize));
  std::stable_sort(order_.begin(), order_.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::string out;
  for (auto& [off, text] : order_) out += fmt::format("{:08x} {}\n", off, text);
  return out;
}

}  // namespace

Result<std::string> dump_image(ByteSpan image) { return Dumper(image).run(); }

}  // namespace bootseal::erofs
