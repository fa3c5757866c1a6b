// Small path operations: existence checks and removal.
#pragma once

#include <string>

#include "base/error.h"
#include "sys/tree.h"  // path_exists

namespace bootseal::sys {

// unlink(2); a missing file is not an error.
Status remove_file(const std::string& path);

}  // namespace bootseal::sys
