// The repository's meta.json, in composefs-rs's schema
// (crates/composefs/src/repository_format.rs, RepoMetadata):
//
//   {"version":1,"algorithm":"fsverity-sha512-12",
//    "features":{"compatible":[],"read-only-compatible":["v1_erofs"],"incompatible":[]},
//    "erofs_formats":{"default":1,"extra":[2]}}
//
// - algorithm: "fsverity-<sha256|sha512>-<lg block size>"; only lg 12 (4 KiB).
// - "v1_erofs" is listed (read-only-compatible) exactly when default is 1.
// - no erofs_formats (repositories made by bootc <= 1.16.3): V2.
// - "extra" is left out when empty.
// Unknown incompatible features refuse the repository; unknown
// read-only-compatible ones allow reading only.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/hash.h"

namespace bootseal::store {

inline constexpr int kMetaVersion = 1;
inline constexpr uint32_t kLogBlockSize = 12;
inline constexpr const char* kFeatureV1Erofs = "v1_erofs";

struct RepoMeta {
  crypto::HashAlg algorithm = crypto::HashAlg::kSha512;
  uint32_t erofs_default = 1;         // 1 = V1, 2 = V2
  std::vector<uint32_t> erofs_extra;  // further formats written alongside
  bool erofs_formats_present = true;  // false: legacy (V2) repository
  std::vector<std::string> compatible, ro_compatible, incompatible;
  // Set by parse_meta when a read-only-compatible feature is unknown.
  bool read_only = false;
};

// A new repository's metadata.
RepoMeta new_meta(crypto::HashAlg alg, uint32_t erofs_format);
Result<RepoMeta> parse_meta(ByteSpan json);
std::string serialize_meta(const RepoMeta& m);
std::string algorithm_string(crypto::HashAlg alg);  // "fsverity-sha512-12"

}  // namespace bootseal::store
