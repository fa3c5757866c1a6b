// Boot Loader Specification type 1 entries (UAPI.1, "Type #1 Boot Loader
// Entry Keys"): one "key value" per line, the key up to the first whitespace,
// the value the rest of the line with surrounding whitespace removed; lines
// starting with '#' and blank lines are ignored. Keys may repeat (options,
// initrd); get() returns the last, as systemd-boot does for single-valued keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace bootseal::bls {

inline constexpr size_t kMaxEntrySize = 64 * 1024;

struct Entry {
  std::vector<std::pair<std::string, std::string>> fields;  // in file order
  std::optional<std::string> get(std::string_view key) const;
};

// Errors on text larger than kMaxEntrySize or with NUL bytes.
Result<Entry> parse_entry(std::string_view text);

}  // namespace bootseal::bls
