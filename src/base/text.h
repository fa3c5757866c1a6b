// Bytes shown as text where the format demands Unicode (JSON): the one rule
// every --json output and every JSON record follows (docs/cli.md, "Bytes in
// JSON"). File names, section contents and paths are bytes; valid UTF-8 is kept
// as it is, and each byte that is not part of a valid UTF-8 sequence is read as
// Latin-1 (byte 0xXX becomes U+00XX). Where the exact bytes matter, a
// base64 companion (`<key>_b64`) carries them. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace bootseal {

// True if `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), the rule JSON libraries check.
bool is_utf8(std::string_view s);

// `s` with every byte outside a valid UTF-8 sequence replaced by the UTF-8 of
// U+00XX (its Latin-1 reading). Identity on valid UTF-8.
std::string utf8_or_latin1(std::string_view s);

// Standard base64 (RFC 4648, padded, no line breaks) and its inverse.
std::string to_base64(std::string_view data);
Result<std::string> from_base64(std::string_view text);

// The lines of `text`, split at '\n' (the '\n' dropped; a last line without one
// kept; no empty line after a final '\n'). Views into `text`.
std::vector<std::string_view> split_lines(std::string_view text);

}  // namespace bootseal
