#include "initramfs/modules.h"
#include "base/text.h"

#include <fmt/format.h>

namespace bootseal::initramfs {
namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') j++;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

constexpr int kMaxDepth = 64;

}  // namespace

std::string module_name(std::string_view s) {
  size_t slash = s.rfind('/');
  if (slash != std::string_view::npos) s.remove_prefix(slash + 1);
  size_t ko = s.find(".ko");
  if (ko != std::string_view::npos) s = s.substr(0, ko);
  std::string out(s);
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

Result<ModuleIndex> ModuleIndex::parse(std::string_view dep, std::string_view softdep, std::string_view alias,
                                       std::string_view builtin) {
  ModuleIndex ix;
  size_t n = 0;
  for (std::string_view l : split_lines(dep)) {
    n++;
    if (l.empty() || l[0] == '#') continue;
    size_t colon = l.find(':');
    if (colon == std::string_view::npos) return input_error("modules.dep line {}: no ':'", n);
    std::string path(l.substr(0, colon));
    std::string name = module_name(path);
    ix.path_[name] = path;
    ix.deps_[name] = words(l.substr(colon + 1));
  }
  if (ix.path_.empty()) return input_error("modules.dep lists no modules");
  for (std::string_view l : split_lines(softdep)) {
    auto w = words(l);
    if (w.size() < 2 || w[0] != "softdep") continue;
    std::string name = module_name(w[1]);
    std::vector<std::string>* into = nullptr;
    for (size_t i = 2; i < w.size(); i++) {
      if (w[i] == "pre:") into = &ix.pre_[name];
      else if (w[i] == "post:") into = &ix.post_[name];
      else if (into) into->push_back(w[i]);
    }
  }
  for (std::string_view l : split_lines(alias)) {
    auto w = words(l);
    if (w.size() == 3 && w[0] == "alias") ix.alias_.emplace(w[1], module_name(w[2]));
  }
  for (std::string_view l : split_lines(builtin))
    if (!l.empty()) ix.builtin_.insert(module_name(l));
  return ix;
}

std::vector<std::string> ModuleIndex::alias_targets(const std::string& name) const {
  std::vector<std::string> out;
  std::string n = module_name(name);
  if (path_.count(n) || builtin_.count(n)) return {n};
  auto [b, e] = alias_.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

Status ModuleIndex::visit(const std::string& name, bool soft, std::vector<std::string>& out,
                          std::set<std::string>& done, std::set<std::string>& active, int depth) const {
  if (depth > kMaxDepth) return input_error("module dependencies nest deeper than {} at '{}'", kMaxDepth, name);
  std::string n = module_name(name);
  if (done.count(n) || active.count(n)) return {};
  if (builtin_.count(n) && !path_.count(n)) {
    done.insert(n);
    return {};
  }
  auto it = path_.find(n);
  if (it == path_.end()) {
    if (soft) return {};
    return input_error("kernel module '{}' not found (neither in modules.dep nor in modules.builtin)", name);
  }
  active.insert(n);
  if (auto p = pre_.find(n); p != pre_.end())
    for (auto& s : p->second)
      for (auto& t : alias_targets(s)) BS_TRY(visit(t, true, out, done, active, depth + 1));
  // modules.dep lists the deepest dependency last: load from the end.
  if (auto d = deps_.find(n); d != deps_.end())
    for (auto r = d->second.rbegin(); r != d->second.rend(); ++r) BS_TRY(visit(*r, false, out, done, active, depth + 1));
  active.erase(n);
  done.insert(n);
  out.push_back(it->second);
  if (auto p = post_.find(n); p != post_.end())
    for (auto& s : p->second)
      for (auto& t : alias_targets(s)) BS_TRY(visit(t, true, out, done, active, depth + 1));
  return {};
}

Result<std::vector<std::string>> ModuleIndex::resolve(const std::vector<std::string>& names) const {
  std::vector<std::string> out;
  std::set<std::string> done, active;
  for (auto& n : names) BS_TRY(visit(n, false, out, done, active, 0));
  return out;
}

}  // namespace bootseal::initramfs
