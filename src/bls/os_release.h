// os-release files (os-release(5)): newline-separated KEY=VALUE assignments in
// a subset of shell syntax. Values may be unquoted, "double-quoted" (backslash
// escapes \" \\ \$ \`) or 'single-quoted'; lines starting with # are comments.
// Parsing is lenient, as systemd's parse_env_file() is: lines that are not
// assignments are skipped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bootseal::bls {

struct OsRelease {
  // In file order; a key assigned twice keeps both (the last one wins in get()).
  std::vector<std::pair<std::string, std::string>> fields;

  std::optional<std::string> get(std::string_view key) const;
  // PRETTY_NAME, else NAME, else "Linux" (the fallback os-release(5) gives).
  std::string pretty_name() const;
};

OsRelease parse_os_release(std::string_view text);

}  // namespace bootseal::bls
