// Free space of a filesystem (statvfs), for the checks that refuse a change
// before anything is written.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace bootseal::sys {

// Bytes an unprivileged writer may still use on the filesystem holding `path`.
// $BOOTSEAL_TEST_FREE_<NAME> (tests only; NAME is "ESP" or "ROOT" as passed in
// `test_name`) overrides the answer so "no space" refusals can be tested.
Result<uint64_t> free_bytes(const std::string& path, const char* test_name = nullptr);

// Size in bytes of a file (stat, following symlinks).
Result<uint64_t> file_size(const std::string& path);

}  // namespace bootseal::sys
