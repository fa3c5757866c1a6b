#include "cli/version.h"

#include <fmt/format.h>

#include "bootseal_git.h"
#include "crypto/hash.h"
#include "tar/reader.h"

namespace bootseal::cli {

std::string version_line() { return fmt::format("bootseal {} (git {})", BOOTSEAL_VERSION, BOOTSEAL_GIT_COMMIT); }

std::string version_text() {
  return fmt::format("{}\n{}\n{}", version_line(), crypto::library_version(), tar::library_version());
}

}  // namespace bootseal::cli
