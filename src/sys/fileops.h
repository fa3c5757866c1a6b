// Small path operations: existence checks and removal.
#pragma once

#include <string>

#include "base/error.h"

namespace bootseal::sys {

// True if `path` exists (any file type; a dangling symlink counts).
bool path_exists(const std::string& path);
// unlink(2); a missing file is not an error.
Status remove_file(const std::string& path);

}  // namespace bootseal::sys
