// Reading /proc and /sys files: their stat size is 0 or a page whatever they hold,
// so they are read to end of file (up to a cap), not by their size.
#pragma once

#include <string>

#include "base/error.h"

namespace bootseal::sys {

Result<std::string> read_pseudo_file(const std::string& path, size_t max_bytes = 1 << 20);

}  // namespace bootseal::sys
