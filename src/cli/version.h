// What --version prints: bootseal's version and git commit, and the versions of
// the libraries that matter for its outputs (OpenSSL, libarchive), asked of the
// crypto and tar modules at run time.
#pragma once

#include <string>

namespace bootseal::cli {

// "bootseal 0.1.0 (git 06825b8a1c2d)"
std::string version_line();
// version_line() and one line per library.
std::string version_text();

}  // namespace bootseal::cli
