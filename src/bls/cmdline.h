// The kernel command line as the kernel tokenizes it (lib/cmdline.c
// next_arg()): arguments separated by whitespace; double quotes group spaces
// and are removed ("a b" -> a b, key="a b" -> key=a b).
// The composefs karg grammar (composefs=, composefs.digest=) is bls/karg.h's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bootseal::bls {

struct CmdlineArg {
  std::string key;
  std::optional<std::string> value;  // nullopt for a bare flag such as "quiet"
};

// Splits a command line into key[=value] arguments as the kernel does (quotes
// dropped). For raw tokens with quotes kept, see split_cmdline() in karg.h.
std::vector<CmdlineArg> cmdline_args(std::string_view cmdline);

// The value of the last `key=value` argument, if any.
std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view key);

// Collapses runs of whitespace (and trailing NULs/newlines) into single spaces
// and trims the ends, as ukify does with a --cmdline given as text.
std::string normalize_cmdline(std::string_view cmdline);

}  // namespace bootseal::bls
