// "2G", "512M", "64K" or plain bytes, for size options.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace bootseal::cli {

// Empty means 0 ("not given").
Result<uint64_t> parse_size(const std::string& s, std::string_view option);

}  // namespace bootseal::cli
