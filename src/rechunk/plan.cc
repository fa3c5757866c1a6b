#include "rechunk/plan.h"
#include "base/text.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <set>
#include <unordered_map>

namespace bootseal::rechunk {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A path resolved from the root with every symlink among its parents
// followed (inside the tree); the last component is not followed.
std::optional<std::string> canonical(const fstree::Tree& tree, std::string_view path) {
  std::deque<std::string> todo;
  auto push_front_path = [&](std::string_view p) {
    std::vector<std::string> comps;
    size_t i = 0;
    while (i <= p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      if (j > i) comps.emplace_back(p.substr(i, j - i));
      i = j + 1;
    }
    todo.insert(todo.begin(), comps.begin(), comps.end());
  };
  push_front_path(path);
  std::vector<std::string> names;
  std::vector<const fstree::Node*> nodes{tree.root.get()};
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!names.empty()) {
        names.pop_back();
        nodes.pop_back();
      }
      continue;
    }
    const fstree::Node* dir = nodes.back();
    if (!dir->is_dir()) return std::nullopt;
    const fstree::Entry* e = dir->find_child(c);
    if (!e) return std::nullopt;
    if (e->node->is_symlink() && !todo.empty()) {
      if (++links > 40 || !e->node->payload) return std::nullopt;
      const std::string& target = *e->node->payload;
      if (target.starts_with("/")) {
        names.clear();
        nodes.resize(1);
      }
      push_front_path(target);
      continue;
    }
    names.push_back(std::move(c));
    nodes.push_back(e->node.get());
  }
  std::string out;
  for (auto& n : names) out += "/" + n;
  return out.empty() ? std::string("/") : out;
}

uint64_t tar_size(const fstree::Node& n) {
  uint64_t s = 512;
  if (n.is_reg()) s += (n.size + 511) / 512 * 512;
  return s;
}

std::string dir_key(std::string_view rel) {
  // Up to 4 leading directories of the file's parent.
  size_t slash = rel.rfind('/');
  std::string_view parent = slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
  size_t pos = 0;
  int n = 0;
  while (pos < parent.size() && n < 4) {
    size_t j = parent.find('/', pos);
    if (j == std::string_view::npos) {
      pos = parent.size();
      break;
    }
    pos = j + 1;
    n++;
  }
  std::string_view key = n < 4 ? parent : parent.substr(0, pos - 1);
  return "dir:" + std::string(key.empty() ? "/" : key);
}

}  // namespace

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<DpkgPackage> parse_dpkg_status(std::string_view text) {
  std::vector<DpkgPackage> out;
  DpkgPackage cur;
  bool installed = false;
  auto flush = [&]() {
    if (!cur.name.empty() && installed) {
      if (cur.source.empty()) cur.source = cur.name;
      out.push_back(cur);
    }
    cur = {};
    installed = false;
  };
  for (std::string_view l : split_lines(text)) {
    if (trim(l).empty()) {
      flush();
      continue;
    }
    if (l.front() == ' ' || l.front() == '\t') continue;  // continuation
    size_t colon = l.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = l.substr(0, colon), value = trim(l.substr(colon + 1));
    if (key == "Package") cur.name = value;
    else if (key == "Architecture") cur.arch = value;
    else if (key == "Version") cur.version = value;
    else if (key == "Status") installed = value.ends_with(" installed");
    else if (key == "Source") {
      size_t sp = value.find(' ');
      cur.source = trim(value.substr(0, sp));
    }
  }
  flush();
  return out;
}

bool is_volatile_path(std::string_view p) {
  static const char* const kExact[] = {
      "etc/ld.so.cache", "etc/passwd", "etc/passwd-", "etc/group", "etc/group-", "etc/shadow", "etc/shadow-",
      "etc/gshadow", "etc/gshadow-", "etc/subuid", "etc/subuid-", "etc/subgid", "etc/subgid-", "etc/machine-id",
      "var/lib/dbus/machine-id"};
  for (const char* e : kExact)
    if (p == e) return true;
  static const char* const kDpkgState[] = {"status", "status-old", "available", "available-old", "diversions",
                                           "diversions-old", "statoverride", "statoverride-old", "lock",
                                           "lock-frontend", "cmethopt"};
  if (p.starts_with("var/lib/dpkg/")) {
    std::string_view rest = p.substr(13);
    for (const char* e : kDpkgState)
      if (rest == e) return true;
    if (rest.starts_with("triggers/") || rest.starts_with("updates/") || rest.starts_with("alternatives/")) return true;
  }
  // apt's package caches (var/cache/apt/*.bin), not its archives/ (.debs: their package's).
  if (p.starts_with("var/cache/apt/") && p.find('/', 14) == std::string_view::npos) return true;
  static const char* const kTrees[] = {"var/log/", "var/cache/debconf/", "var/cache/ldconfig/",
                                       "var/lib/apt/", "var/lib/systemd/", "var/lib/ucf/", "run/", "tmp/", "var/tmp/"};
  for (const char* t : kTrees)
    if (p.starts_with(t)) return true;
  return false;
}

Result<std::vector<Component>> components(const fstree::Tree& tree, const ReadFn& read, std::vector<std::string>* notes) {
  auto note = [&](std::string s) {
    if (notes) notes->push_back(std::move(s));
  };
  std::unordered_map<std::string, std::string> claims;  // canonical path -> component
  std::map<std::string, std::string> source_of;         // package name -> "deb:<source>"
  auto read_text = [&](const std::string& path) -> Result<std::optional<std::string>> {
    fstree::NodePtr n = fstree::lookup(tree, path);
    if (!n || !n->is_reg()) return std::optional<std::string>();
    Bytes b = BS_TRY_CTX(read(path, *n), "{}", path);
    return std::optional<std::string>(std::string(b.begin(), b.end()));
  };
  auto status = BS_TRY(read_text("/var/lib/dpkg/status"));
  if (status) {
    auto pkgs = parse_dpkg_status(*status);
    std::sort(pkgs.begin(), pkgs.end(), [](auto& a, auto& b) { return a.name != b.name ? a.name < b.name : a.arch < b.arch; });
    for (auto& p : pkgs) {
      std::string comp = "deb:" + p.source;
      source_of.emplace(p.name, comp);
      std::optional<std::string> list;
      if (!p.arch.empty()) list = BS_TRY(read_text("/var/lib/dpkg/info/" + p.name + ":" + p.arch + ".list"));
      if (!list) list = BS_TRY(read_text("/var/lib/dpkg/info/" + p.name + ".list"));
      if (!list) {
        note("dpkg: no file list for installed package " + p.name);
        continue;
      }
      for (std::string_view l : split_lines(*list)) {
        l = trim(l);
        if (l.empty() || l == "/." || l == "/") continue;
        auto c = canonical(tree, l);
        if (!c) continue;
        claims.emplace(*c, comp);
      }
    }
    if (fstree::NodePtr info = fstree::lookup(tree, "/var/lib/dpkg/info"); info && info->is_dir()) {
      for (auto& e : info->children) {
        size_t dot = e.name.rfind('.');
        if (dot == std::string::npos) continue;
        std::string pkg = e.name.substr(0, dot);
        if (size_t colon = pkg.find(':'); colon != std::string::npos) pkg.resize(colon);
        auto it = source_of.find(pkg);
        if (it != source_of.end()) claims.emplace("/var/lib/dpkg/info/" + e.name, it->second);
      }
    }
    // Downloaded packages kept in apt's cache (<pkg>_<version>_<arch>.deb): their package's.
    if (fstree::NodePtr arch = fstree::lookup(tree, "/var/cache/apt/archives"); arch && arch->is_dir()) {
      for (auto& e : arch->children) {
        if (!e.name.ends_with(".deb")) continue;
        auto it = source_of.find(e.name.substr(0, e.name.find('_')));
        if (it != source_of.end()) claims.emplace("/var/cache/apt/archives/" + e.name, it->second);
      }
    }
  } else {
    note("no dpkg database (var/lib/dpkg/status): files grouped by directory and size");
  }
  if (fstree::lookup(tree, "/var/lib/rpm") || fstree::lookup(tree, "/usr/lib/sysimage/rpm"))
    note("rpm database present but not read (no rpmdb claimer yet): files grouped by directory and size");

  std::vector<Component> out;
  std::map<std::string, size_t> index;
  std::unordered_map<const fstree::Node*, size_t> node_comp;
  auto add = [&](const std::string& name, const std::string& path, const fstree::Node& n) {
    auto [it, fresh] = index.emplace(name, out.size());
    if (fresh) {
      Component c;
      c.name = name;
      c.stability = name == kStateComponent ? 0.0 : name.starts_with("deb:") ? 0.9 : 0.6;
      out.push_back(std::move(c));
    }
    Component& c = out[it->second];
    c.paths.push_back(path);
    c.size += tar_size(n);
    return it->second;
  };
  // Each inode's component: the first package claim among its names (walk
  // order), else what its first name gets; every name of it goes there.
  std::unordered_map<const fstree::Node*, std::string> node_name;
  std::vector<std::pair<std::string, const fstree::Node*>> order;
  fstree::walk(tree, [&](const std::string& path, const fstree::Entry* entry, const fstree::Node& node) {
    if (!entry || node.is_dir()) return true;
    order.emplace_back(path, &node);
    std::string rel = path.substr(1);
    std::string name;
    bool claimed = false;
    if (is_volatile_path(rel)) name = kStateComponent;
    else if (auto it = claims.find(path); it != claims.end()) name = it->second, claimed = true;
    else if (rel.starts_with("usr/lib/modules/") && rel.find("/kernel/") != std::string::npos) name = dir_key(rel);  // one kernel's modules change together
    else if (node.is_reg() && node.size >= kBigFile) name = "big:" + path;
    else name = dir_key(rel);
    auto [it, fresh] = node_name.emplace(&node, name);
    if (!fresh && claimed && !it->second.starts_with("deb:")) it->second = name;
    return true;
  });
  for (auto& [path, node] : order) {
    if (auto it = node_comp.find(node); it != node_comp.end()) {
      // A further name of a hardlinked inode: no data.
      Component& c = out[it->second];
      c.paths.push_back(path);
      c.size += 512;
      continue;
    }
    node_comp[node] = add(node_name.at(node), path, *node);
  }
  return out;
}

Plan pack(std::vector<Component> comps, size_t max_layers) {
  Plan plan;
  if (max_layers < 1) max_layers = 1;
  std::vector<size_t> state, rest;
  for (size_t i = 0; i < comps.size(); i++) (comps[i].name == kStateComponent ? state : rest).push_back(i);
  auto by_stability = [&](std::vector<std::vector<size_t>>& layers) {
    // Most stable first; ties by the first component's name (all deterministic).
    auto key = [&](const std::vector<size_t>& l) {
      double s = 1;
      std::string first;
      for (size_t i : l) {
        s = std::min(s, comps[i].stability);
        if (first.empty() || comps[i].name < first) first = comps[i].name;
      }
      return std::make_pair(-s, first);
    };
    std::stable_sort(layers.begin(), layers.end(), [&](auto& a, auto& b) { return key(a) < key(b); });
  };
  if (max_layers == 1) {
    std::vector<size_t> all;
    for (size_t i = 0; i < comps.size(); i++) all.push_back(i);
    plan.layers.push_back(all);
    plan.components = std::move(comps);
    return plan;
  }
  const size_t bins = max_layers - 1;
  std::vector<std::vector<size_t>> layers;
  if (rest.size() <= bins) {
    for (size_t i : rest) layers.push_back({i});
  } else {
    // Size outliers alone.
    std::vector<uint64_t> sizes;
    for (size_t i : rest) sizes.push_back(comps[i].size);
    std::sort(sizes.begin(), sizes.end());
    double median = static_cast<double>(sizes[sizes.size() / 2]);
    std::vector<double> dev;
    for (uint64_t s : sizes) dev.push_back(std::fabs(static_cast<double>(s) - median));
    std::sort(dev.begin(), dev.end());
    double mad = dev[dev.size() / 2];
    double threshold = median + 1.5 * mad;
    std::vector<size_t> outliers, normal;
    for (size_t i : rest) (static_cast<double>(comps[i].size) >= threshold && comps[i].size > 0 ? outliers : normal).push_back(i);
    std::sort(outliers.begin(), outliers.end(), [&](size_t a, size_t b) {
      return comps[a].size != comps[b].size ? comps[a].size > comps[b].size : comps[a].name < comps[b].name;
    });
    size_t cap = bins * 6 / 10;
    // Keep at least one bin for the others.
    if (!normal.empty() && cap >= bins) cap = bins - 1;
    if (outliers.size() > cap) {
      normal.insert(normal.end(), outliers.begin() + static_cast<long>(cap), outliers.end());
      outliers.resize(cap);
    }
    for (size_t i : outliers) layers.push_back({i});
    size_t left = bins - outliers.size();
    // Stability tiers, bins shared out by count (at least one each while there are bins).
    std::map<double, std::vector<size_t>, std::greater<double>> tiers;
    for (size_t i : normal) tiers[comps[i].stability].push_back(i);
    if (tiers.size() > left) {
      std::vector<size_t> all;
      for (auto& tier : tiers) all.insert(all.end(), tier.second.begin(), tier.second.end());
      tiers.clear();
      tiers[0.0] = all;
    }
    // Bins per tier by the tier's share of the bytes (at least one each).
    uint64_t normal_bytes = 0;
    for (size_t i : normal) normal_bytes += comps[i].size;
    std::vector<size_t> share;
    size_t given = 0;
    for (auto& tier : tiers) {
      uint64_t tb = 0;
      for (size_t i : tier.second) tb += comps[i].size;
      size_t n = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(left) * static_cast<double>(tb) /
                                                         static_cast<double>(std::max<uint64_t>(1, normal_bytes))));
      share.push_back(n);
      given += n;
    }
    // Fix the total: the remainder to the biggest tier, any excess taken from the biggest.
    size_t t = 0;
    auto biggest = [&]() {
      size_t b = 0;
      for (size_t k = 0; k < share.size(); k++)
        if (share[k] > share[b]) b = k;
      return b;
    };
    while (given < left) {
      share[biggest()]++;
      given++;
    }
    while (given > left && share[biggest()] > 1) {
      share[biggest()]--;
      given--;
    }
    t = 0;
    for (auto& tier : tiers) {
      const auto& v = tier.second;
      size_t nb = std::min(share[t++], v.size());
      std::vector<std::vector<size_t>> tb(nb);
      std::vector<size_t> sorted = v;
      std::sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) { return comps[a].name < comps[b].name; });
      for (size_t i : sorted) tb[fnv1a(comps[i].name) % nb].push_back(i);
      // Empty bins take the largest component of a bin holding several.
      for (auto& bin : tb) {
        if (!bin.empty()) continue;
        size_t from = tb.size(), pos = 0;
        for (size_t b = 0; b < tb.size(); b++) {
          if (tb[b].size() < 2) continue;
          for (size_t k = 0; k < tb[b].size(); k++) {
            size_t c = tb[b][k];
            if (from == tb.size() || comps[c].size > comps[tb[from][pos]].size ||
                (comps[c].size == comps[tb[from][pos]].size && comps[c].name < comps[tb[from][pos]].name)) {
              from = b;
              pos = k;
            }
          }
        }
        if (from == tb.size()) break;
        bin.push_back(tb[from][pos]);
        tb[from].erase(tb[from].begin() + static_cast<long>(pos));
      }
      for (auto& bin : tb)
        if (!bin.empty()) layers.push_back(bin);
    }
  }
  for (auto& l : layers)
    std::sort(l.begin(), l.end(), [&](size_t a, size_t b) { return comps[a].name < comps[b].name; });
  by_stability(layers);
  layers.push_back(state);  // the state layer: state files and every directory
  plan.layers = std::move(layers);
  plan.components = std::move(comps);
  return plan;
}

DiffSize diff_size(const std::vector<BlobRef>& old_layers, const std::vector<BlobRef>& new_layers) {
  std::set<std::string> have;
  for (auto& b : old_layers) have.insert(b.digest);
  DiffSize d;
  std::set<std::string> counted;
  for (auto& b : new_layers) {
    d.total_layers++;
    d.total_bytes += b.size;
    bool reused = have.count(b.digest) > 0;
    d.reused.push_back(reused);
    // A blob listed twice is downloaded once.
    if (!reused && counted.insert(b.digest).second) {
      d.download_layers++;
      d.download_bytes += b.size;
    }
  }
  return d;
}

}  // namespace bootseal::rechunk
