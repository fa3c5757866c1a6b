#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"

namespace bootseal {

// Lower-case hex of `data`.
std::string to_hex(ByteSpan data);
// Parses hex (either case); errors on odd length or a non-hex character.
Result<Bytes> from_hex(std::string_view hex);
// True if `s` is non-empty and all hex digits.
bool is_hex(std::string_view s);

}  // namespace bootseal
