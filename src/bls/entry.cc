#include "bls/entry.h"

namespace bootseal::bls {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> Entry::get(std::string_view key) const {
  for (auto it = fields.rbegin(); it != fields.rend(); ++it)
    if (it->first == key) return it->second;
  return std::nullopt;
}

Result<Entry> parse_entry(std::string_view text) {
  if (text.size() > kMaxEntrySize) return input_error("boot entry larger than {} bytes", kMaxEntrySize);
  if (text.find('\0') != std::string_view::npos) return input_error("boot entry contains a NUL byte");
  Entry e;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    size_t sp = 0;
    while (sp < line.size() && !is_blank(line[sp])) sp++;
    e.fields.emplace_back(std::string(line.substr(0, sp)), std::string(trim(line.substr(sp))));
  }
  return e;
}

}  // namespace bootseal::bls
