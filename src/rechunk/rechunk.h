// bootseal rechunk: an image's merged tree (already in the repository)
// re-layered by rechunk::pack and written as an OCI image: reproducible tar
// layers (walk order, numeric ids, no user or group names, the tree's own
// mtimes; parent directories in content layers with the clamp mtime, every
// directory with its real metadata in the last layer), each gzipped by zlib
// at level 6 with a zero header mtime, so the same input gives the same
// layer digests. The merged tree of the result equals the input's, and so
// does its boot digest.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "fstree/tree.h"
#include "oci/json.h"
#include "oci/transport.h"
#include "rechunk/plan.h"
#include "store/repository.h"

namespace bootseal::rechunk {

inline constexpr const char* kAnnotationComponents = "org.bootseal.rechunk.components";
inline constexpr int kGzipLevel = 6;

struct Options {
  size_t max_layers = 64;
  int64_t clamp_mtime = 0;     // mtime of the parent directories in content layers
  std::string created;         // config "created" (kept from the source when empty)
};

struct WrittenLayer {
  oci::Digest digest, diff_id;
  uint64_t size = 0;  // compressed
  uint64_t tar_size = 0;
  std::vector<std::string> components;
};

struct RechunkResult {
  oci::Digest manifest_digest;
  uint64_t manifest_size = 0;
  std::vector<WrittenLayer> layers;
  std::vector<std::string> notes;
};

// Writes the rechunked image to `out` (oci:DIR[:TAG], oci-archive:FILE[:TAG]).
// `config_json` is the source's config (kept except rootfs and history), or
// empty for a directory source (a minimal config for the host platform).
Result<RechunkResult> rechunk(const store::Repository& repo, const fstree::Tree& tree, ByteSpan config_json,
                        const oci::SourceName& out, const Options& o);

}  // namespace bootseal::rechunk
