#include "bls/cmdline.h"

namespace bootseal::bls {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0'; }
}  // namespace

std::vector<CmdlineArg> cmdline_args(std::string_view s) {
  std::vector<CmdlineArg> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) i++;
    if (i >= s.size()) break;
    // Scan one argument: spaces inside double quotes do not end it.
    std::string raw;
    bool in_quote = false;
    size_t eq = std::string::npos;
    for (; i < s.size(); i++) {
      char c = s[i];
      if (!in_quote && is_space(c)) break;
      if (c == '"') {
        in_quote = !in_quote;
        continue;  // the kernel drops the quotes
      }
      if (c == '=' && eq == std::string::npos && !in_quote) eq = raw.size();
      raw.push_back(c);
    }
    CmdlineArg a;
    if (eq == std::string::npos) {
      a.key = raw;
    } else {
      a.key = raw.substr(0, eq);
      a.value = raw.substr(eq + 1);
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view key) {
  std::optional<std::string> v;
  for (auto& a : cmdline_args(cmdline))
    if (a.key == key && a.value) v = a.value;
  return v;
}

std::string normalize_cmdline(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) i++;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) i++;
    if (i > start) {
      if (!out.empty()) out.push_back(' ');
      out.append(s.substr(start, i - start));
    }
  }
  return out;
}

}  // namespace bootseal::bls
