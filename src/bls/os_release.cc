#include "bls/os_release.h"

namespace bootseal::bls {

namespace {

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Unquotes a shell-style value. Returns nullopt on an unterminated quote.
std::optional<std::string> unquote(std::string_view v) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    char c = v[i];
    if (c == '"') {
      i++;
      bool closed = false;
      while (i < v.size()) {
        char d = v[i++];
        if (d == '"') {
          closed = true;
          break;
        }
        if (d == '\\' && i < v.size() && (v[i] == '"' || v[i] == '\\' || v[i] == '$' || v[i] == '`')) d = v[i++];
        out.push_back(d);
      }
      if (!closed) return std::nullopt;
    } else if (c == '\'') {
      size_t end = v.find('\'', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      out.append(v.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c == '\\' && i + 1 < v.size()) {
      out.push_back(v[i + 1]);
      i += 2;
    } else if (c == ' ' || c == '\t') {
      // Unquoted whitespace ends the value (trailing blanks, comments).
      break;
    } else {
      out.push_back(c);
      i++;
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> OsRelease::get(std::string_view key) const {
  std::optional<std::string> v;
  for (auto& [k, val] : fields)
    if (k == key) v = val;
  return v;
}

std::string OsRelease::pretty_name() const {
  if (auto v = get("PRETTY_NAME"); v && !v->empty()) return *v;
  if (auto v = get("NAME"); v && !v->empty()) return *v;
  return "Linux";
}

OsRelease parse_os_release(std::string_view text) {
  OsRelease r;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == 0 || eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    bool ok = true;
    for (char c : key) ok = ok && is_key_char(c);
    if (!ok) continue;
    auto value = unquote(line.substr(eq + 1));
    if (!value) continue;
    r.fields.emplace_back(std::string(key), std::move(*value));
  }
  return r;
}

}  // namespace bootseal::bls
