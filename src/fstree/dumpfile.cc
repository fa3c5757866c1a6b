#include "fstree/dumpfile.h"

#include <array>
#include <cstring>
#include <map>
#include <unordered_map>

#include "base/hex.h"

namespace bootseal::fstree {

namespace {

constexpr int kFixedFields = 11;  // PATH .. DIGEST
constexpr size_t kMaxXattrText = 65535;
constexpr size_t kXattrHeaderSize = 12;  // erofs_xattr_ibody_header
constexpr size_t kXattrEntrySize = 4;    // erofs_xattr_entry

// Hex digit values by byte, -1 for anything else.
constexpr auto kHexValues = [] {
  std::array<int8_t, 256> t{};
  for (int c = 0; c < 256; c++)
    t[c] = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  return t;
}();

int hexval(char c) { return kHexValues[static_cast<unsigned char>(c)]; }

// Splits off the text up to `sep` (consumed); the rest of `s` if none.
std::string_view split_at(std::string_view& s, char sep) {
  size_t i = s.find(sep);
  std::string_view part;
  if (i == std::string_view::npos) {
    part = s;
    s = {};
  } else {
    part = s.substr(0, i);
    s.remove_prefix(i + 1);
  }
  return part;
}

// strtoull() on `s`: optional leading whitespace and sign, digits of `base`; a '-'
// negates modulo 2^64, overflow saturates. `whole`: at least one digit and nothing
// after them (what a field must be).
struct UintScan {
  uint64_t value = 0;
  bool whole = false;
};
UintScan scan_uint(std::string_view s, int base) {
  while (!s.empty() && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))) s.remove_prefix(1);
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  uint64_t v = 0;
  bool overflow = false;
  size_t i = 0;
  for (; i < s.size(); i++) {
    int d = hexval(s[i]);
    if (d < 0 || d >= base) break;
    uint64_t nv;
    if (__builtin_mul_overflow(v, static_cast<uint64_t>(base), &nv) ||
        __builtin_add_overflow(nv, static_cast<uint64_t>(d), &nv))
      overflow = true;
    v = nv;
  }
  return {overflow ? UINT64_MAX : (neg ? (~v + 1) : v), i > 0 && i == s.size()};
}

// strtoull()'s value for the longest numeric prefix of `s` (0 when there is none).
uint64_t leading_uint(std::string_view s, int base) { return scan_uint(s, base).value; }

// A whole field with strtoull() semantics; an empty or partly numeric field is an error.
Result<uint64_t> parse_uint(std::string_view s, int base, std::string_view field) {
  // Fast path: up to 19 plain decimal digits cannot overflow.
  if (base == 10 && !s.empty() && s.size() <= 19) {
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++) v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (i == s.size()) return v;
  }
  UintScan r = scan_uint(s, base);
  if (!r.whole) return input_error("invalid {} '{}'", field, escape(s, Escape::kStandard));
  return r.value;
}

Result<std::optional<std::string>> unescape_optional(std::string_view s) {
  if (s == "-") return std::optional<std::string>();
  return std::optional<std::string>(BS_TRY(unescape(s)));
}

struct PendingLink {
  Node* parent;  // owned by the tree
  std::string name;
  std::string target;
  size_t line;
};

class Parser {
 public:
  Status line(std::string_view text, size_t lineno);
  Result<Tree> finish();

 private:
  Status add(const std::string& path, const NodePtr& node, bool hardlink, std::string* name_out,
             Node** parent_out);
  Status set_xattr(Node& node, size_t& budget, std::string name, std::string value);

  // Directories by canonical path ("" = root, "/a/b"): a line whose parent is
  // one of them and whose name sorts after the parent's last child is added
  // without walking the path (the common case: dumpfiles in tree order).
  struct PathHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, Node*, PathHash, std::equal_to<>> dirs_;
  NodePtr root_;
  std::vector<PendingLink> links_;
};

Status Parser::add(const std::string& path, const NodePtr& node, bool hardlink, std::string* name_out,
                   Node** parent_out) {
  if (path == "/") {
    if (!node->is_dir()) return input_error("root must be a directory");
    if (hardlink) return input_error("root cannot be a hardlink");
    if (root_) return input_error("multiple roots");
    root_ = node;
    dirs_.emplace("", root_.get());
    return {};
  }
  if (!root_) return input_error("root directory must come first");
  if (path.size() > 1 && path[0] == '/') {
    size_t slash = path.rfind('/');
    std::string_view name = std::string_view(path).substr(slash + 1);
    if (!name.empty() && name != "." && name != "..") {
      auto it = dirs_.find(std::string_view(path).substr(0, slash));
      if (it != dirs_.end()) {
        Node* parent = it->second;
        if (parent->children.empty() || parent->children.back().name < name) {
          *name_out = name;
          *parent_out = parent;
          BS_TRY(parent->add_child(std::string(name), node, hardlink));
          if (node->is_dir() && !hardlink) dirs_.emplace(path, node.get());
          return {};
        }
      }
    }
  }
  if (!path.empty() && path.back() == '/') return input_error("path '{}' ends with '/'", escape(path, Escape::kStandard));
  auto comps = BS_TRY(split_path(path));
  if (comps.empty()) return input_error("invalid path '{}'", escape(path, Escape::kStandard));
  Node* parent = root_.get();
  for (size_t i = 0; i + 1 < comps.size(); i++) {
    Entry* e = parent->find_child(comps[i]);
    if (!e) return input_error("parent directory missing for {}", escape(path, Escape::kStandard));
    parent = e->node.get();
  }
  if (!parent->is_dir()) return input_error("parent of {} is not a directory", escape(path, Escape::kStandard));
  if (parent->find_child(comps.back()))
    return input_error("path {} already exists", escape(path, Escape::kStandard));
  *name_out = comps.back();
  *parent_out = parent;
  BS_TRY(parent->add_child(comps.back(), node, hardlink));
  if (node->is_dir() && !hardlink) {
    std::string canonical;
    for (auto& c : comps) canonical += "/" + c;
    dirs_.emplace(std::move(canonical), node.get());
  }
  return {};
}

Status Parser::set_xattr(Node& node, size_t& budget, std::string name, std::string value) {
  if (name.empty() || name.size() > kMaxXattrNameLength)
    return input_error("xattr name of {} bytes (must be 1..{})", name.size(), kMaxXattrNameLength);
  if (name.find('\0') != std::string::npos) return input_error("xattr name contains a NUL byte");
  if (value.size() > kMaxXattrValueLength) return input_error("xattr value longer than {} bytes", kMaxXattrValueLength);
  // libcomposefs accounts twice the entry header minus one (worst-case
  // alignment) per xattr, plus the ibody header once.
  if (const Xattr* old = node.find_xattr(name)) {
    budget -= 2 * kXattrEntrySize - 1 + old->name.size() + old->value.size();
    if (node.xattrs.size() == 1) budget = 0;
  }
  size_t entry = 2 * kXattrEntrySize - 1 + name.size() + value.size();
  bool first = node.xattrs.empty() || (node.xattrs.size() == 1 && node.xattrs[0].name == name);
  if (first) entry += kXattrHeaderSize;
  if (budget + entry > kMaxXattrBudget)
    return input_error("xattrs exceed the per-inode limit of {} bytes", kMaxXattrBudget);
  budget += entry;
  node.set_xattr(std::move(name), std::move(value));
  return {};
}

Status Parser::line(std::string_view text, size_t lineno) {
  if (text.find('\0') != std::string_view::npos) return input_error("embedded NUL character");
  std::string_view f[kFixedFields];
  for (int i = 0; i < kFixedFields; i++) f[i] = split_at(text, ' ');

  std::string path = BS_TRY_CTX(unescape(f[0]), "PATH");
  if (path.empty()) return input_error("empty path");

  bool hardlink = false;
  std::string_view mode_s = f[2];
  if (!mode_s.empty() && mode_s[0] == '@') {
    hardlink = true;
    mode_s.remove_prefix(1);
  }
  // mkcomposefs passes the parsed value to a 32-bit mode_t and checks only its file
  // type bits: higher bits and bits beyond the permissions are kept (the EROFS inode
  // stores the low 16).
  const uint32_t mode = static_cast<uint32_t>(BS_TRY(parse_uint(mode_s, 8, "MODE")));
  if (!valid_mode(mode)) return input_error("invalid mode {:o}", mode);

  NodePtr node = make_node(mode);
  std::string name;
  Node* parent = nullptr;
  BS_TRY(add(path, node, hardlink, &name, &parent));

  if (hardlink) {
    if (node->is_dir()) return input_error("directories can't be hardlinked");
    auto target = BS_TRY_CTX(unescape_optional(f[8]), "PAYLOAD");
    if (!target) return input_error("hardlink {} has no target", escape(path, Escape::kStandard));
    links_.push_back(PendingLink{parent, name, std::move(*target), lineno});
    return {};
  }

  uint64_t size = BS_TRY(parse_uint(f[1], 10, "SIZE"));
  uint64_t nlink = BS_TRY(parse_uint(f[3], 10, "NLINK"));
  uint64_t uid = BS_TRY(parse_uint(f[4], 10, "UID"));
  // mkcomposefs v1.0.8 checks the GID and RDEV parses with `if (uid == 0 && err)`, so
  // when UID is non-zero a malformed GID or RDEV is accepted as the value strtoull()
  // read from its leading digits. Matched, so both tools accept the same files.
  uint64_t gid = uid != 0 ? leading_uint(f[5], 10) : BS_TRY(parse_uint(f[5], 10, "GID"));
  uint64_t rdev = uid != 0 ? leading_uint(f[6], 10) : BS_TRY(parse_uint(f[6], 10, "RDEV"));
  std::string_view mt = f[7];
  std::string_view sec_s = split_at(mt, '.');
  uint64_t sec = BS_TRY(parse_uint(sec_s, 10, "MTIME seconds"));
  uint64_t nsec = BS_TRY(parse_uint(mt, 10, "MTIME nanoseconds"));

  auto payload = BS_TRY_CTX(unescape_optional(f[8]), "PAYLOAD");
  auto content = BS_TRY_CTX(unescape_optional(f[9]), "CONTENT");
  if (content && content->size() != size)
    return input_error("invalid content size {}, must match size {}", content->size(), size);
  auto digest = BS_TRY_CTX(unescape_optional(f[10]), "DIGEST");

  // The reference stores these in 32-bit fields (values wrap).
  node->nlink = static_cast<uint32_t>(nlink);
  node->uid = static_cast<uint32_t>(uid);
  node->gid = static_cast<uint32_t>(gid);
  if (node->type() == FileType::kCharDev || node->type() == FileType::kBlockDev) node->rdev = rdev;
  node->mtime_sec = static_cast<int64_t>(sec);
  node->mtime_nsec = static_cast<uint32_t>(nsec);  // the EROFS field is 32 bits, as mkcomposefs writes it

  if (payload && payload->find('\0') != std::string::npos) return input_error("payload contains a NUL byte");
  if (node->is_symlink()) {
    if (!payload || payload->empty()) return input_error("symlink {} has no target", escape(path, Escape::kStandard));
    if (payload->size() >= kMaxPathLength)
      return input_error("symlink target of {} bytes (at most {})", payload->size(), kMaxPathLength - 1);
    node->size = payload->size();
    node->payload = std::move(payload);
  } else {
    node->size = size;
    if (payload && payload->size() >= kMaxPathLength)
      return input_error("payload of {} bytes (at most {})", payload->size(), kMaxPathLength - 1);
    node->payload = std::move(payload);
    if (content) {
      if (content->size() > kMaxInlineContent)
        return input_error("inline content size {} exceeds maximum {}", content->size(), kMaxInlineContent);
      node->content.assign(content->begin(), content->end());
      node->size = content->size();
    }
  }
  // A missing DIGEST field reads as empty. mkcomposefs then sets a digest from
  // uninitialized memory; an empty digest here means none (the only stable reading).
  if (digest && !digest->empty()) {
    bool ok = digest->size() == 64 || digest->size() == 128;
    node->digest.resize(digest->size() / 2);
    for (size_t i = 0; ok && i < node->digest.size(); i++) {
      int a = hexval((*digest)[2 * i]), b = hexval((*digest)[2 * i + 1]);
      ok = a >= 0 && b >= 0;
      node->digest[i] = static_cast<uint8_t>(a << 4 | b);
    }
    if (!ok) return input_error("invalid digest '{}': expected 64 or 128 hex digits", escape(*digest, Escape::kStandard));
  }

  if (text.size() > kMaxXattrText) return input_error("too many xattrs");
  size_t budget = 0;
  while (!text.empty()) {
    std::string_view x = split_at(text, ' ');
    size_t eq = x.find('=');
    if (eq == std::string_view::npos) return input_error("missing '=' in xattr '{}'", escape(x, Escape::kStandard));
    std::string key = BS_TRY_CTX(unescape(x.substr(0, eq)), "xattr name");
    std::string value = BS_TRY_CTX(unescape(x.substr(eq + 1)), "xattr value");
    BS_TRY_CTX(set_xattr(*node, budget, std::move(key), std::move(value)), "{}", escape(path, Escape::kStandard));
  }
  return {};
}

Result<Tree> Parser::finish() {
  if (!root_) return input_error("no root directory");
  Tree tree{root_};
  // Hardlinks are resolved at the end, so targets may appear later. Each "@"
  // line made a placeholder node; a link to another link's path follows the
  // chain to the final node (as libcomposefs's follow_links does).
  std::map<const Node*, const PendingLink*> placeholder;
  for (auto& l : links_) placeholder[l.parent->find_child(l.name)->node.get()] = &l;
  std::vector<NodePtr> resolved(links_.size());
  for (size_t i = 0; i < links_.size(); i++) {
    const PendingLink& l = links_[i];
    auto fail = [&](Error e) { return std::move(e).context(fmt::format("line {}", l.line)); };
    const Node* self = l.parent->find_child(l.name)->node.get();
    std::string target_path = l.target;
    NodePtr target;
    for (size_t steps = 0;; steps++) {
      target = lookup(tree, target_path);
      if (!target) return fail(input_error("no target at {} for hardlink", escape(target_path, Escape::kStandard)));
      if (target.get() == self)
        return fail(input_error("self-referential or cyclic hardlink {}", escape(l.target, Escape::kStandard)));
      auto it = placeholder.find(target.get());
      if (it == placeholder.end()) break;
      if (steps > links_.size()) return fail(input_error("hardlink cycle at {}", escape(l.target, Escape::kStandard)));
      target_path = it->second->target;
    }
    if (target->is_dir()) return fail(input_error("hardlink to directory {}", escape(l.target, Escape::kStandard)));
    resolved[i] = target;
  }
  for (size_t i = 0; i < links_.size(); i++) links_[i].parent->find_child(links_[i].name)->node = resolved[i];
  return tree;
}

}  // namespace

Result<std::string> unescape(std::string_view s) {
  size_t first = s.find('\\');
  if (first == std::string_view::npos) return std::string(s);
  std::string out;
  out.reserve(s.size());
  out.append(s.substr(0, first));
  for (size_t i = first; i < s.size(); i++) {
    char c = s[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) return input_error("no character after escape");
    c = s[i];
    switch (c) {
      case '\\': out.push_back('\\'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'x': {
        if (i + 2 >= s.size()) return input_error("no hex characters after hex escape");
        int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
        if (a < 0 || b < 0) return input_error("invalid hex characters after hex escape");
        out.push_back(static_cast<char>(a << 4 | b));
        i += 2;
        break;
      }
      default:
        return input_error("unsupported escape '\\{}'", c);
    }
  }
  return out;
}

std::string escape(std::string_view s, Escape mode) {
  std::string out;
  if (mode == Escape::kLoneDash && s == "-") return "\\x2d";
  out.reserve(s.size());
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    // isgraph() / isprint() in the C locale.
    bool printable = mode == Escape::kKeepSpace ? (c >= 0x20 && c < 0x7f) : (c > 0x20 && c < 0x7f);
    bool hex = (c == '=' && mode == Escape::kEqual) || !printable;
    if (hex) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

Result<Tree> parse_dumpfile(std::string_view text) {
  Parser p;
  size_t lineno = 0;
  while (!text.empty()) {
    lineno++;
    std::string_view l = split_at(text, '\n');
    BS_TRY_CTX(p.line(l, lineno), "line {}", lineno);
  }
  return p.finish();
}

namespace {

void print_node(std::string& out, const std::string& path, const Entry* entry, const Node& n,
                const std::map<const Node*, std::string>& primary) {
  std::string_view hardlink_path;
  if (entry && entry->hardlink) {
    auto it = primary.find(&n);
    if (it != primary.end()) hardlink_path = it->second;
  }
  bool is_link = entry && entry->hardlink;
  out += escape(path, Escape::kStandard);
  out += fmt::format(" {} {}{:o} {} {} {} {} {}.{} ", n.size, is_link ? "@" : "", n.mode, n.nlink, n.uid, n.gid,
                     n.rdev, n.mtime_sec, n.mtime_nsec);
  if (is_link)
    out += escape(hardlink_path, Escape::kLoneDash);
  else if (n.payload)
    out += escape(*n.payload, Escape::kLoneDash);
  else
    out += "-";
  out += ' ';
  if (n.content.empty())
    out += "-";
  else
    out += escape(as_string(n.content), Escape::kLoneDash);
  out += ' ';
  out += n.digest.empty() ? "-" : to_hex(n.digest);
  for (auto& x : n.xattrs) {
    out += ' ';
    out += escape(x.name, Escape::kEqual);
    out += '=';
    out += escape(x.value, Escape::kEqual);
  }
  out += '\n';
}

}  // namespace

std::string print_dumpfile(const Tree& tree) {
  std::string out;
  // Primary paths first (a link may come before its primary in walk order).
  std::map<const Node*, std::string> primary;
  walk(tree, [&](const std::string& path, const Entry* e, const Node& n) {
    if (!e || !e->hardlink) primary.emplace(&n, path);
    return true;
  });
  walk(tree, [&](const std::string& path, const Entry* e, const Node& n) {
    print_node(out, path, e, n, primary);
    return true;
  });
  return out;
}

}  // namespace bootseal::fstree
