#include "fat/fat.h"

#include <algorithm>

namespace bootseal::fat {
namespace {

bool power_of_two(uint32_t v) { return v && !(v & (v - 1)); }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string utf16_to_utf8(const std::vector<uint16_t>& u) {
  std::string out;
  for (size_t i = 0; i < u.size(); i++) {
    uint32_t c = u[i];
    if (c == 0) break;
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < u.size() && u[i + 1] >= 0xDC00 && u[i + 1] < 0xE000) {
      c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00);
      i++;
    } else if (c >= 0xD800 && c < 0xE000) {
      c = 0xFFFD;
    }
    append_utf8(out, c);
  }
  return out;
}

uint8_t short_name_checksum(const uint8_t* name11) {
  uint8_t sum = 0;
  for (int i = 0; i < 11; i++) sum = static_cast<uint8_t>(((sum & 1) ? 0x80 : 0) + (sum >> 1) + name11[i]);
  return sum;
}

std::string short_name(const uint8_t* e) {
  auto part = [](const uint8_t* p, size_t n, bool lower) {
    std::string s(reinterpret_cast<const char*>(p), n);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (lower)
      for (char& c : s) c = ascii_lower(c);
    return s;
  };
  uint8_t nt = e[12];
  std::string base = part(e, 8, nt & 0x08);
  if (!base.empty() && static_cast<uint8_t>(base[0]) == 0x05) base[0] = static_cast<char>(0xE5);
  std::string ext = part(e + 8, 3, nt & 0x10);
  return ext.empty() ? base : base + "." + ext;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') i++;
    size_t j = i;
    while (j < path.size() && path[j] != '/') j++;
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

Result<std::vector<DirEntry>> parse_directory(ByteSpan raw) {
  std::vector<DirEntry> out;
  std::vector<uint16_t> lfn;  // long name being collected, in order
  int lfn_expect = 0;         // next sequence number expected (counting down), 0 = none
  uint8_t lfn_sum = 0;
  for (size_t off = 0; off + 32 <= raw.size(); off += 32) {
    const uint8_t* e = raw.data() + off;
    if (e[0] == 0x00) break;
    if (e[0] == 0xE5) {
      lfn_expect = 0;
      continue;
    }
    uint8_t attr = e[11];
    if ((attr & 0x3F) == 0x0F) {  // long name entry
      uint8_t seq = e[0];
      int n = seq & 0x1F;
      if (n == 0) {
        lfn_expect = 0;
        continue;
      }
      std::vector<uint16_t> chars;
      for (int i : {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30}) chars.push_back(load_le<uint16_t>(e + i));
      if (seq & 0x40) {
        lfn.assign(static_cast<size_t>(n) * 13, 0xFFFF);
        lfn_expect = n;
        lfn_sum = e[13];
      } else if (n != lfn_expect || e[13] != lfn_sum) {
        lfn_expect = 0;  // orphaned or out of order: ignore the long name
        continue;
      }
      if (lfn_expect != n) {
        lfn_expect = 0;
        continue;
      }
      std::copy(chars.begin(), chars.end(), lfn.begin() + (n - 1) * 13);
      lfn_expect = n - 1 == 0 ? -1 : n - 1;  // -1: complete, waiting for the short entry
      continue;
    }
    bool have_lfn = lfn_expect == -1 && short_name_checksum(e) == lfn_sum;
    lfn_expect = 0;
    if (attr & 0x08) continue;  // volume label
    DirEntry d;
    if (have_lfn) {
      std::vector<uint16_t> u;
      for (uint16_t c : lfn) {
        if (c == 0 || c == 0xFFFF) break;
        u.push_back(c);
      }
      d.name = utf16_to_utf8(u);
    }
    if (d.name.empty()) d.name = short_name(e);
    if (d.name == "." || d.name == "..") continue;
    d.is_dir = attr & 0x10;
    d.first_cluster = (static_cast<uint32_t>(load_le<uint16_t>(e + 20)) << 16) | load_le<uint16_t>(e + 26);
    d.size = load_le<uint32_t>(e + 28);
    out.push_back(std::move(d));
  }
  return out;
}

Result<Volume> Volume::open(ByteSpan data) {
  if (data.size() < 512) return input_error("FAT boot sector: truncated ({} bytes)", data.size());
  const uint8_t* b = data.data();
  if (b[510] != 0x55 || b[511] != 0xAA) return input_error("FAT boot sector: no 0x55AA signature");
  Volume v;
  v.data_ = data;
  uint32_t bps = load_le<uint16_t>(b + 11);
  uint32_t spc = b[13];
  uint32_t reserved = load_le<uint16_t>(b + 14);
  uint32_t nfats = b[16];
  uint32_t root_entries = load_le<uint16_t>(b + 17);
  uint64_t total = load_le<uint16_t>(b + 19);
  if (total == 0) total = load_le<uint32_t>(b + 32);
  uint64_t fatsz = load_le<uint16_t>(b + 22);
  if (fatsz == 0) fatsz = load_le<uint32_t>(b + 36);
  if (!power_of_two(bps) || bps < 512 || bps > 4096) return input_error("FAT BPB: bytes per sector {} is not 512..4096", bps);
  if (!power_of_two(spc) || spc > 128) return input_error("FAT BPB: sectors per cluster {} is not a power of two", spc);
  if (reserved == 0) return input_error("FAT BPB: no reserved sectors");
  if (nfats == 0) return input_error("FAT BPB: no FATs");
  if (fatsz == 0) return input_error("FAT BPB: FAT size 0");
  uint64_t root_sectors = (uint64_t{root_entries} * 32 + bps - 1) / bps;
  uint64_t meta = reserved + uint64_t{nfats} * fatsz + root_sectors;
  if (total <= meta) return input_error("FAT BPB: {} total sectors leave no data region", total);
  uint64_t clusters = (total - meta) / spc;
  if (total * bps > data.size())
    return input_error("FAT BPB: the filesystem is {} bytes but only {} are there (truncated)", total * bps, data.size());
  v.bits_ = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  if (v.bits_ == 32 && root_entries != 0) return input_error("FAT32 BPB: root entry count {} is not 0", root_entries);
  if (v.bits_ != 32 && root_entries == 0) return input_error("FAT{} BPB: root entry count 0", v.bits_);
  if (clusters > 0x0FFFFFF5) return input_error("FAT BPB: {} clusters is too many", clusters);
  v.clusters_ = static_cast<uint32_t>(clusters);
  v.bytes_per_sector_ = bps;
  v.cluster_size_ = bps * spc;
  v.fat_offset_ = uint64_t{reserved} * bps;
  v.fat_bytes_ = fatsz * bps;
  uint64_t need_fat = v.bits_ == 12 ? (uint64_t{v.clusters_} + 2) * 3 / 2 + 1 : (uint64_t{v.clusters_} + 2) * (v.bits_ / 8);
  if (v.fat_bytes_ < need_fat)
    return input_error("FAT BPB: the FAT ({} bytes) is too small for {} clusters", v.fat_bytes_, v.clusters_);
  v.root_offset_ = v.fat_offset_ + uint64_t{nfats} * v.fat_bytes_;
  v.root_bytes_ = root_sectors * bps;
  v.data_offset_ = v.root_offset_ + v.root_bytes_;
  if (v.bits_ == 32) {
    v.root_cluster_ = load_le<uint32_t>(b + 44) & 0x0FFFFFFF;
    if (v.root_cluster_ < 2 || v.root_cluster_ >= v.clusters_ + 2)
      return input_error("FAT32 BPB: root directory cluster {} is out of range", v.root_cluster_);
    v.label_ = std::string(reinterpret_cast<const char*>(b + 71), 11);
  } else {
    v.label_ = std::string(reinterpret_cast<const char*>(b + 43), 11);
  }
  while (!v.label_.empty() && (v.label_.back() == ' ' || v.label_.back() == '\0')) v.label_.pop_back();
  return v;
}

Result<uint32_t> Volume::next_cluster(uint32_t c) const {
  const uint8_t* fat = data_.data() + fat_offset_;
  if (bits_ == 12) {
    uint64_t off = uint64_t{c} + c / 2;
    if (off + 2 > fat_bytes_) return input_error("FAT: entry {} is past the FAT", c);
    uint16_t v = load_le<uint16_t>(fat + off);
    v = (c & 1) ? static_cast<uint16_t>(v >> 4) : static_cast<uint16_t>(v & 0x0FFF);
    return v >= 0xFF8 ? 0x0FFFFFFFu : v == 0xFF7 ? 0x0FFFFFF7u : v;
  }
  if (bits_ == 16) {
    uint64_t off = uint64_t{c} * 2;
    if (off + 2 > fat_bytes_) return input_error("FAT: entry {} is past the FAT", c);
    uint16_t v = load_le<uint16_t>(fat + off);
    return v >= 0xFFF8 ? 0x0FFFFFFFu : v == 0xFFF7 ? 0x0FFFFFF7u : v;
  }
  uint64_t off = uint64_t{c} * 4;
  if (off + 4 > fat_bytes_) return input_error("FAT: entry {} is past the FAT", c);
  uint32_t v = load_le<uint32_t>(fat + off) & 0x0FFFFFFF;
  return v >= 0x0FFFFFF8 ? 0x0FFFFFFFu : v;
}

Result<std::vector<uint32_t>> Volume::chain(uint32_t first, uint64_t max_clusters) const {
  std::vector<uint32_t> out;
  uint64_t limit = max_clusters ? std::min<uint64_t>(max_clusters, clusters_) : clusters_;
  uint32_t c = first;
  std::vector<bool> seen;  // a cluster twice in one chain is a loop
  while (true) {
    if (c < 2 || c >= clusters_ + 2) return input_error("FAT: cluster chain from {} reaches cluster {}, out of range", first, c);
    if (seen.empty()) seen.resize(size_t{clusters_} + 2);
    if (seen[c]) return input_error("FAT: cluster chain from {} loops at cluster {}", first, c);
    seen[c] = true;
    out.push_back(c);
    if (out.size() >= limit) break;
    uint32_t n = BS_TRY(next_cluster(c));
    if (n == 0x0FFFFFFF) break;
    if (n == 0x0FFFFFF7) return input_error("FAT: cluster chain from {} reaches bad cluster {}", first, c);
    if (n == 0) return input_error("FAT: cluster chain from {} reaches free cluster after {}", first, c);
    c = n;
  }
  return out;
}

ByteSpan Volume::cluster_bytes(uint32_t c) const {
  uint64_t off = data_offset_ + uint64_t{c - 2} * cluster_size_;
  if (off + cluster_size_ > data_.size()) return {};
  return data_.subspan(off, cluster_size_);
}

Result<std::vector<DirEntry>> Volume::read_dir(const std::optional<DirEntry>& dir) const {
  Bytes raw;
  if (!dir && bits_ != 32) {
    if (root_offset_ + root_bytes_ > data_.size()) return input_error("FAT: root directory is past the end");
    auto s = data_.subspan(root_offset_, root_bytes_);
    raw.assign(s.begin(), s.end());
  } else {
    uint32_t first = dir ? dir->first_cluster : root_cluster_;
    if (dir && first == 0) return std::vector<DirEntry>{};  // ".." of a root child, or empty
    // A directory holds at most 65536 entries (2 MiB).
    uint64_t max = (uint64_t{65536} * 32 + cluster_size_ - 1) / cluster_size_;
    auto clusters = BS_TRY_CTX(chain(first, max + 1), "directory {}", dir ? dir->name : "/");
    if (clusters.size() > max) return input_error("FAT: directory {} is larger than 65536 entries", dir ? dir->name : "/");
    for (uint32_t c : clusters) {
      ByteSpan s = cluster_bytes(c);
      if (s.empty()) return input_error("FAT: directory cluster {} is past the end", c);
      raw.insert(raw.end(), s.begin(), s.end());
    }
  }
  return parse_directory(raw);
}

Result<std::vector<DirEntry>> Volume::list(std::string_view path) const {
  auto e = BS_TRY(lookup(path));
  if (!e) return input_error("FAT: no directory {}", path);
  if (!e->is_dir) return input_error("FAT: {} is not a directory", path);
  if (components(path).empty()) return read_dir(std::nullopt);
  return read_dir(e);
}

Result<std::optional<DirEntry>> Volume::lookup(std::string_view path) const {
  std::optional<DirEntry> cur;  // nullopt = the root
  auto parts = components(path);
  if (parts.empty()) {
    DirEntry root;
    root.name = "/";
    root.is_dir = true;
    root.first_cluster = root_cluster_;
    return std::optional<DirEntry>(root);
  }
  for (size_t i = 0; i < parts.size(); i++) {
    auto entries = BS_TRY(read_dir(cur));
    auto it = std::find_if(entries.begin(), entries.end(), [&](const DirEntry& d) { return iequal(d.name, parts[i]); });
    if (it == entries.end()) return std::optional<DirEntry>();
    if (i + 1 < parts.size() && !it->is_dir) return std::optional<DirEntry>();
    cur = *it;
  }
  return cur;
}

Result<Bytes> Volume::read(const DirEntry& f) const {
  if (f.is_dir) return input_error("FAT: {} is a directory", f.name);
  Bytes out;
  if (f.size == 0) return out;
  if (f.first_cluster == 0) return input_error("FAT: file {} of {} bytes has no clusters", f.name, f.size);
  uint64_t need = (uint64_t{f.size} + cluster_size_ - 1) / cluster_size_;
  auto clusters = BS_TRY_CTX(chain(f.first_cluster, need), "file {}", f.name);
  if (clusters.size() < need)
    return input_error("FAT: file {} of {} bytes has a cluster chain of only {} clusters", f.name, f.size, clusters.size());
  out.reserve(f.size);
  for (uint32_t c : clusters) {
    ByteSpan s = cluster_bytes(c);
    if (s.empty()) return input_error("FAT: file {}: cluster {} is past the end", f.name, c);
    size_t n = std::min<size_t>(s.size(), f.size - out.size());
    out.insert(out.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

Result<Bytes> Volume::read_file(std::string_view path) const {
  auto e = BS_TRY(lookup(path));
  if (!e) return input_error("FAT: no file {}", path);
  return read(*e);
}

}  // namespace bootseal::fat
