#include "cpio/cpio.h"

#include <fmt/format.h>

namespace bootseal::cpio {
namespace {

void put_hex8(ByteWriter& w, uint32_t v) { w.bytes(fmt::format("{:08X}", v)); }

void write_member(ByteWriter& w, const Entry& e, std::string_view name) {
  size_t start = w.size();
  w.bytes(kMagicNewc);
  put_hex8(w, e.ino);
  put_hex8(w, e.mode);
  put_hex8(w, e.uid);
  put_hex8(w, e.gid);
  put_hex8(w, e.nlink);
  put_hex8(w, e.mtime);
  put_hex8(w, static_cast<uint32_t>(e.data.size()));
  put_hex8(w, 0);  // devmajor
  put_hex8(w, 0);  // devminor
  put_hex8(w, e.rdev_major);
  put_hex8(w, e.rdev_minor);
  put_hex8(w, static_cast<uint32_t>(name.size() + 1));
  put_hex8(w, 0);  // check
  w.bytes(name);
  w.u8(0);
  w.buffer().resize(start + round_up(w.size() - start, kAlign), 0);
  w.bytes(e.data);
  w.pad_to(kAlign);
}

int hex_digit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<uint32_t> parse_hex8(ByteSpan s, std::string_view field, size_t offset) {
  uint32_t v = 0;
  for (size_t i = 0; i < 8; i++) {
    int d = hex_digit(s[i]);
    if (d < 0) return input_error("cpio header at offset {}: field {} is not hex", offset, field);
    v = v << 4 | static_cast<uint32_t>(d);
  }
  return v;
}

}  // namespace

Result<std::string> normalize_path(std::string_view path) {
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (comp == "..") return input_error("path '{}': '..' is not allowed", path);
    if (comp == "." && !out.empty()) return input_error("path '{}': '.' component in the middle", path);
    if (!comp.empty() && comp != ".") {
      if (!out.empty()) out += '/';
      out += comp;
    }
    i = j + 1;
  }
  if (out.empty()) return input_error("path '{}' names the archive root", path);
  if (out.size() + 1 > kMaxNameSize) return input_error("path '{}' is too long", path);
  return out;
}

bool Writer::contains(const std::string& path) const {
  auto p = normalize_path(path);
  return p.ok() && entries_.count(*p);
}

Status Writer::ensure_parents(const std::string& path) {
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string parent = path.substr(0, slash);
    auto it = entries_.find(parent);
    if (it == entries_.end()) {
      Entry d;
      d.path = parent;
      d.mode = kTypeDir | 0755;
      entries_.emplace(parent, std::move(d));
    } else if ((it->second.mode & kTypeMask) != kTypeDir) {
      return input_error("'{}': parent '{}' is not a directory", path, parent);
    }
  }
  return {};
}

Status Writer::add(Entry e) {
  e.path = BS_TRY(normalize_path(e.path));
  uint32_t type = e.mode & kTypeMask;
  if (type != kTypeReg && type != kTypeDir && type != kTypeLnk && type != kTypeChr && type != kTypeBlk &&
      type != kTypeFifo && type != kTypeSock)
    return input_error("'{}': invalid file type in mode {:o}", e.path, e.mode);
  if ((type != kTypeReg && type != kTypeLnk) && !e.data.empty())
    return input_error("'{}': only regular files and symlinks carry data", e.path);
  if (type == kTypeLnk && e.data.empty()) return input_error("'{}': empty symlink target", e.path);
  if (e.data.size() > kMaxFileSize) return input_error("'{}': {} bytes is too large for cpio newc", e.path, e.data.size());
  BS_TRY(ensure_parents(e.path));
  e.nlink = type == kTypeDir ? 2 : 1;
  auto it = entries_.find(e.path);
  if (it != entries_.end()) {
    const Entry& o = it->second;
    // An implicit parent directory may be replaced by an explicit one.
    if (type == kTypeDir && (o.mode & kTypeMask) == kTypeDir) {
      it->second = std::move(e);
      return {};
    }
    if (o.mode == e.mode && o.data == e.data && o.uid == e.uid && o.gid == e.gid) return {};
    return input_error("'{}' added twice with different content", e.path);
  }
  if (type != kTypeDir) {
    // A non-directory must not already have children.
    auto next = entries_.lower_bound(e.path + "/");
    if (next != entries_.end() && next->first.compare(0, e.path.size() + 1, e.path + "/") == 0)
      return input_error("'{}' is a directory in the archive already", e.path);
  }
  std::string key = e.path;
  entries_.emplace(std::move(key), std::move(e));
  return {};
}

Status Writer::add_file(std::string path, Bytes data, uint32_t mode, uint32_t uid, uint32_t gid) {
  Entry e;
  e.path = std::move(path);
  e.mode = kTypeReg | (mode & 07777);
  e.uid = uid;
  e.gid = gid;
  e.data = std::move(data);
  return add(std::move(e));
}

Status Writer::add_dir(std::string path, uint32_t mode, uint32_t uid, uint32_t gid) {
  Entry e;
  e.path = std::move(path);
  e.mode = kTypeDir | (mode & 07777);
  e.uid = uid;
  e.gid = gid;
  return add(std::move(e));
}

Status Writer::add_symlink(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.mode = kTypeLnk | 0777;
  e.data.assign(target.begin(), target.end());
  return add(std::move(e));
}

Status Writer::add_device(std::string path, bool block, uint32_t major, uint32_t minor, uint32_t mode) {
  Entry e;
  e.path = std::move(path);
  e.mode = (block ? kTypeBlk : kTypeChr) | (mode & 07777);
  e.rdev_major = major;
  e.rdev_minor = minor;
  return add(std::move(e));
}

Result<Bytes> Writer::finish() const {
  ByteWriter w;
  uint32_t ino = 1;
  for (const auto& [path, e0] : entries_) {
    Entry e = e0;
    e.ino = ino++;
    e.mtime = mtime_;
    write_member(w, e, path);
  }
  Entry trailer;
  trailer.nlink = 1;
  write_member(w, trailer, kTrailer);
  return w.take();
}

Result<std::vector<Entry>> read_archive(ByteSpan data, size_t* end, const ReadOptions& opts) {
  std::vector<Entry> out;
  ByteReader r(data);
  uint64_t total = 0;
  for (;;) {
    size_t start = r.pos();
    ByteSpan h = BS_TRY_CTX(r.bytes(kHeaderSize, "cpio header"), "cpio member {}", out.size());
    std::string_view magic = as_string(h.subspan(0, 6));
    if (magic != kMagicNewc && magic != kMagicNewcCrc) {
      if (magic == "070707") return unsupported_error("cpio at offset {}: old binary/odc format, only newc is supported", start);
      return input_error("cpio at offset {}: bad magic (not a newc archive)", start);
    }
    static constexpr const char* kFields[] = {"c_ino",      "c_mode",     "c_uid",      "c_gid",
                                              "c_nlink",    "c_mtime",    "c_filesize", "c_devmajor",
                                              "c_devminor", "c_rdevmajor", "c_rdevminor", "c_namesize",
                                              "c_check"};
    uint32_t f[13];
    for (size_t i = 0; i < 13; i++) f[i] = BS_TRY(parse_hex8(h.subspan(6 + 8 * i, 8), kFields[i], start));
    uint32_t namesize = f[11], filesize = f[6];
    if (namesize == 0 || namesize > kMaxNameSize)
      return input_error("cpio header at offset {}: name size {} out of range (1..{})", start, namesize, kMaxNameSize);
    ByteSpan name = BS_TRY_CTX(r.bytes(namesize, "name"), "cpio member at offset {}", start);
    if (name[namesize - 1] != 0) return input_error("cpio member at offset {}: name is not NUL-terminated", start);
    std::string path(as_string(name.subspan(0, namesize - 1)));
    if (path.find('\0') != std::string::npos)
      return input_error("cpio member at offset {}: name contains a NUL byte", start);
    // Padding is to absolute 4-byte offsets in the archive.
    BS_TRY_CTX(r.skip(round_up(r.pos(), kAlign) - r.pos()), "cpio member '{}'", path);
    if (path == kTrailer) {
      if (end) *end = r.pos();
      return out;
    }
    if (out.size() >= opts.max_entries) return input_error("cpio: more than {} members", opts.max_entries);
    total += filesize;
    if (total > opts.max_total) return input_error("cpio: content exceeds {} bytes", opts.max_total);
    ByteSpan content = BS_TRY_CTX(r.bytes(filesize, "data"), "cpio member '{}'", path);
    size_t pad = round_up(r.pos(), kAlign) - r.pos();
    if (pad > r.remaining()) return input_error("cpio member '{}': truncated padding", path);
    BS_TRY(r.skip(pad));
    Entry e;
    e.path = std::move(path);
    e.ino = f[0];
    e.mode = f[1];
    e.uid = f[2];
    e.gid = f[3];
    e.nlink = f[4];
    e.mtime = f[5];
    e.rdev_major = f[9];
    e.rdev_minor = f[10];
    uint32_t type = e.mode & kTypeMask;
    if (type != kTypeReg && type != kTypeLnk && filesize != 0)
      return input_error("cpio member '{}': type {:o} carries {} data bytes", e.path, type, filesize);
    if (magic == kMagicNewcCrc) {
      uint32_t sum = 0;
      for (uint8_t b : content) sum += b;
      if (sum != f[12]) return input_error("cpio member '{}': checksum mismatch", e.path);
    }
    e.data.assign(content.begin(), content.end());
    out.push_back(std::move(e));
  }
}

}  // namespace bootseal::cpio
