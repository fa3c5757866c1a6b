// Rechunking plan (pure): which files of an image's flat tree go into which
// layer, so that an update re-downloads only the layers whose content
// changed (the chunkah idea, docs/rechunk.md).
//
//   1. Components: every non-directory entry is claimed by one component:
//      "deb:<source package>" from dpkg's database (var/lib/dpkg/status for
//      Package -> Source, info/<pkg>[:<arch>].list for paths, with parent
//      symlinks of the merged /usr resolved; info/<pkg>.* go with the
//      package), "state" for volatile files (dpkg status, logs, caches,
//      ld.so.cache, passwd/group/shadow), "big:<path>" for unowned files of
//      kBigFile bytes or more, else "dir:<up to 4 leading directories>".
//      Hardlinked names stay with their first name's component.
//   2. Packing into at most N layers: the last layer is always the state
//      layer (state files plus every directory with its real metadata, so
//      the merged tree is exactly the original's). The other N-1 bins: size
//      outliers (>= median + 1.5 MAD, at most 60% of the bins) alone, the
//      rest by stability tier (bins shared by bytes), within a tier by
//      FNV-1a(name) mod bins; empty bins take the largest item of a crowded
//      bin. Layers are ordered most stable first. The plan depends only on
//      the tree, never on a previous build or the clock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "fstree/tree.h"

namespace bootseal::rechunk {

inline constexpr uint64_t kBigFile = 1ull << 20;
inline constexpr const char* kStateComponent = "state";

struct DpkgPackage {
  std::string name, arch, source, version;
};
// Installed packages ("Status: ... installed") of a dpkg status file; Source
// without its "(version)", defaulting to the package name.
std::vector<DpkgPackage> parse_dpkg_status(std::string_view text);

// True for paths (relative, "var/log/x") whose content changes with every
// package operation or boot: they go into the state layer.
bool is_volatile_path(std::string_view path);

struct Component {
  std::string name;
  double stability = 0.5;      // higher = changes less often
  uint64_t size = 0;           // tar bytes: 512 per entry plus data rounded up to 512
  std::vector<std::string> paths;  // tree paths ("/usr/bin/x"), walk order
};

// Reads a regular file's content (inline or from the object store).
using ReadFn = std::function<Result<Bytes>(const std::string& path, const fstree::Node& node)>;

// Step 1. `notes` receives one line per thing skipped (a .list naming a
// missing file is normal and not noted).
Result<std::vector<Component>> components(const fstree::Tree& tree, const ReadFn& read,
                                          std::vector<std::string>* notes = nullptr);

struct Plan {
  std::vector<Component> components;
  // Component indices per layer, most stable first; the last layer holds the
  // state component (if any) and the directories.
  std::vector<std::vector<size_t>> layers;
};
// Step 2. max_layers >= 1 (1: everything in one layer).
Plan pack(std::vector<Component> comps, size_t max_layers);

// FNV-1a 64 (the bin hash).
uint64_t fnv1a(std::string_view s);

// Layer-wise update cost: bytes of NEW's layers whose digest OLD lacks.
struct BlobRef {
  std::string digest;
  uint64_t size = 0;
};
struct DiffSize {
  uint64_t total_bytes = 0, download_bytes = 0;
  size_t total_layers = 0, download_layers = 0;
  std::vector<bool> reused;  // per NEW layer
};
DiffSize diff_size(const std::vector<BlobRef>& old_layers, const std::vector<BlobRef>& new_layers);

}  // namespace bootseal::rechunk
