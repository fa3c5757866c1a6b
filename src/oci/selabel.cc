#include "oci/selabel.h"

#include <optional>
#include <memory>
#include <unordered_map>

#include <re2/re2.h>

namespace bootseal::oci {

using fstree::Node;

namespace {

constexpr size_t kMaxPolicyFile = 64u << 20;  // bytes per policy file
constexpr size_t kMaxSpecs = 1u << 20;        // lines over all spec files
constexpr int64_t kMaxRegexMemory = 1 << 20;  // per compiled regex; bigger ones are refused
constexpr const char* kNoLabel = "<<none>>";

struct Spec {
  std::string prefix;  // literal prefix every match of the regex starts with (a prefilter)
  std::shared_ptr<const re2::RE2> re;  // RE2: linear-time matching, Rust regex syntax
  std::string context;
};

struct Policy {
  std::vector<Spec> specs;  // in file order; searched from the end
  std::unordered_map<std::string, std::string> aliases;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string> split_ws(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) i++;
    size_t s = i;
    while (i < line.size() && !is_space(line[i])) i++;
    if (i > s) out.emplace_back(line.substr(s, i - s));
  }
  return out;
}

template <typename Fn>
void for_lines(std::string_view text, Fn fn) {
  size_t pos = 0, nr = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    fn(nr++, text.substr(pos, end - pos));
    pos = end + 1;
  }
}

// The literal text every match of `re` must start with: characters up to
// the first metacharacter, minus the last one if a quantifier follows it.
// Any '|' makes it empty (an alternative could start anywhere).
std::string literal_prefix(std::string_view re) {
  if (re.find('|') != std::string_view::npos) return {};
  std::string out;
  size_t i = 0;
  while (i < re.size()) {
    char c = re[i];
    size_t len = 1;
    char lit;
    if (c == '\\') {
      if (i + 1 >= re.size()) break;
      char n = re[i + 1];
      if (std::isalnum(static_cast<unsigned char>(n))) break;  // \d, \w, \b ...
      lit = n;
      len = 2;
    } else if (std::string_view(".[]()*+?{}^$").find(c) != std::string_view::npos) {
      break;
    } else {
      lit = c;
    }
    size_t next = i + len;
    if (next < re.size() && (re[next] == '*' || re[next] == '?' || re[next] == '{')) break;
    out.push_back(lit);
    i = next;
  }
  return out;
}

// Calls fn(line number, fields) for each line with fields that is not a
// comment; stops at the first error.
template <typename Fn>
Status for_fields(std::string_view text, Fn fn) {
  Status st;
  for_lines(text, [&](size_t nr, std::string_view line) {
    if (!st.ok()) return;
    auto parts = split_ws(line);
    if (parts.empty() || parts[0].starts_with("#")) return;
    st = fn(nr + 1, parts);
  });
  return st;
}

Status parse_spec_file(std::string_view text, const std::string& name, Policy& p) {
  return for_fields(text, [&](size_t nr, const std::vector<std::string>& parts) -> Status {
    if (parts.size() < 2) {
      return input_error("{} line {}: missing separator after regex", name, nr);
    }
    std::string type = ".";
    size_t ctx = 1;
    if (parts[1].starts_with("-")) {
      std::string t = parts[1].substr(1);
      if (t.size() != 1 || std::string_view("bcdpls-").find(t[0]) == std::string_view::npos) {
        return input_error("{} line {}: invalid type code {}", name, nr, parts[1]);
      }
      if (parts.size() < 3) {
        return input_error("{} line {}: missing context field", name, nr);
      }
      type = t;
      ctx = 2;
    }
    if (parts.size() > ctx + 1) {
      return input_error("{} line {}: trailing data", name, nr);
    }
    if (p.specs.size() >= kMaxSpecs) {
      return input_error("{}: more than {} lines", name, kMaxSpecs);
    }
    Spec s;
    s.prefix = literal_prefix(parts[0]);
    re2::RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_encoding(re2::RE2::Options::EncodingLatin1);  // bytes, Unicode off
    opts.set_dot_nl(true);
    opts.set_max_mem(kMaxRegexMemory);
    auto re = std::make_shared<const re2::RE2>("(" + parts[0] + ")" + type, opts);
    if (!re->ok()) {
      return input_error("{} line {}: bad regex {}: {}", name, nr, parts[0], re->error());
    }
    s.re = std::move(re);
    s.context = parts[ctx];
    p.specs.push_back(std::move(s));
    return {};
  });
}

Status parse_subs_file(std::string_view text, const std::string& name, Policy& p) {
  return for_fields(text, [&](size_t nr, const std::vector<std::string>& parts) -> Status {
    if (parts.size() < 2) return input_error("{} line {}: missing original path", name, nr);
    if (parts.size() > 2) return input_error("{} line {}: trailing data", name, nr);
    p.aliases[parts[0]] = parts[1];
    return {};
  });
}

// A regular file's content; nullopt if absent. `dir` is the tree path of `d`.
Result<std::optional<Bytes>> open_file(const Node& d, const std::string& dir, const std::string& name,
                                       const ReadFileFn& read) {
  const fstree::Entry* e = d.find_child(name);
  if (!e) return std::optional<Bytes>();
  std::string path = dir + "/" + name;
  const Node& n = *e->node;
  if (!n.is_reg()) return input_error("{}: not a regular file", path);
  if (!n.content.empty() || n.size == 0) return std::optional<Bytes>(n.content);
  if (!read) return input_error("{}: content is not available (external object)", path);
  if (n.size > kMaxPolicyFile) return input_error("{}: larger than {} bytes", path, kMaxPolicyFile);
  Bytes b = BS_TRY_CTX(read(path, n), "{}", path);
  return std::optional<Bytes>(std::move(b));
}

Result<const Node*> subdir(const Node& d, const std::string& dir, const std::string& name) {
  const fstree::Entry* e = d.find_child(name);
  if (!e) return input_error("{}/{}: no such directory", dir, name);
  if (!e->node->is_dir()) return input_error("{}/{}: not a directory", dir, name);
  return e->node.get();
}

std::string_view as_text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// The policy name from etc/selinux/config, if any.
std::optional<std::string> parse_config(std::string_view text) {
  std::optional<std::string> out;
  for_lines(text, [&](size_t, std::string_view line) {
    if (out) return;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return;
    auto trim = [](std::string_view s) {
      while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
      while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
      return s;
    };
    std::string key(trim(line.substr(0, eq)));
    for (auto& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (key == "SELINUXTYPE") out = std::string(trim(line.substr(eq + 1)));
  });
  return out;
}

Result<std::optional<Policy>> load_policy(const fstree::Tree& tree, const ReadFileFn& read) {
  const Node* etc_n = nullptr;
  if (const fstree::Entry* e = tree.root->find_child("etc"); e && e->node->is_dir()) etc_n = e->node.get();
  if (!etc_n) return std::optional<Policy>();
  const fstree::Entry* se = etc_n->find_child("selinux");
  if (!se || !se->node->is_dir()) return std::optional<Policy>();
  const Node& selinux = *se->node;
  auto config = BS_TRY(open_file(selinux, "/etc/selinux", "config", read));
  if (!config) return std::optional<Policy>();
  auto type = parse_config(as_text(*config));
  if (!type) return std::optional<Policy>();

  std::string dir = "/etc/selinux";
  const Node* d = &selinux;
  for (const std::string& c : {*type, std::string("contexts"), std::string("files")}) {
    d = BS_TRY_CTX(subdir(*d, dir, c), "SELinux policy {}", *type);
    dir += "/" + c;
  }
  Policy p;
  for (const char* suffix : {"", ".local", ".homedirs"}) {
    std::string name = std::string("file_contexts") + suffix;
    auto f = BS_TRY(open_file(*d, dir, name, read));
    if (!f) {
      if (!*suffix) return input_error("{}/file_contexts: missing (SELINUXTYPE={})", dir, *type);
      continue;
    }
    BS_TRY(parse_spec_file(as_text(*f), dir + "/" + name, p));
  }
  for (const char* suffix : {".subs", ".subs_dist"}) {
    std::string name = std::string("file_contexts") + suffix;
    auto f = BS_TRY(open_file(*d, dir, name, read));
    if (f) BS_TRY(parse_subs_file(as_text(*f), dir + "/" + name, p));
  }
  return std::optional<Policy>(std::move(p));
}

char type_char(const Node& n) {
  switch (n.type()) {
    case fstree::FileType::kDirectory: return 'd';
    case fstree::FileType::kRegular: return '-';
    case fstree::FileType::kSymlink: return 'l';
    case fstree::FileType::kFifo: return 'p';
    case fstree::FileType::kSocket: return 's';
    case fstree::FileType::kBlockDev: return 'b';
    case fstree::FileType::kCharDev: return 'c';
  }
  return '-';
}

struct Labeler {
  const Policy& p;
  std::unordered_map<const Node*, std::optional<std::string>> labeled;

  const std::string* lookup(const std::string& path, char t) const {
    std::string key = path + t;
    for (size_t i = p.specs.size(); i-- > 0;) {
      const Spec& s = p.specs[i];
      if (!key.starts_with(s.prefix)) continue;
      if (!re2::RE2::FullMatch(key, *s.re)) continue;
      if (s.context == kNoLabel) return nullptr;
      return &s.context;
    }
    return nullptr;
  }

  static void apply(Node& n, const std::string* label) {
    if (label)
      n.set_xattr(kSelinuxXattr, *label);
    else
      n.remove_xattr(kSelinuxXattr);
  }

  void dir(Node& d, const std::string& path) {
    apply(d, lookup(path, 'd'));
    for (auto& e : d.children) {
      std::string child = path.ends_with('/') ? path + e.name : path + "/" + e.name;
      if (auto it = p.aliases.find(child); it != p.aliases.end()) child = it->second;
      if (e.node->is_dir()) {
        dir(*e.node, child);
        continue;
      }
      const std::string* label = lookup(child, type_char(*e.node));
      if (auto it = labeled.find(e.node.get()); it != labeled.end()) {
        bool same = it->second ? (label && *label == *it->second) : !label;
        if (!same) e.node = std::make_shared<Node>(*e.node);  // split the hardlink
      }
      apply(*e.node, label);
      labeled.emplace(e.node.get(), label ? std::optional<std::string>(*label) : std::nullopt);
    }
  }
};

void strip(Node& n) {
  n.remove_xattr(kSelinuxXattr);
  for (auto& c : n.children) strip(*c.node);
}

}  // namespace

Result<bool> selinux_relabel(fstree::Tree& tree, const ReadFileFn& read) {
  auto policy = BS_TRY_CTX(load_policy(tree, read), "SELinux relabel");
  if (!policy) {
    strip(*tree.root);
    return false;
  }
  Labeler l{*policy, {}};
  l.dir(*tree.root, "/");
  return true;
}

}  // namespace bootseal::oci
