// The import pipeline: image source -> layers (stored as objects plus layer
// records, or only digested) -> merged tree -> transforms -> composefs image.
// Regular-file contents stream from the tar straight into objects while
// being hashed (fsverity::StreamDigester); files of 64 bytes or less stay
// inline. Layers already recorded in the repository are replayed from their
// record without reading the blob again.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "fstree/tree.h"
#include "oci/json.h"
#include "oci/transform.h"
#include "store/record.h"
#include "store/repository.h"
#include "store/source.h"

namespace bootseal::store {

struct ImageOptions {
  oci::Platform platform = oci::host_platform();
  uint32_t format = 1;                               // EROFS format: 1 = V1, 2 = V2
  crypto::HashAlg hash = crypto::HashAlg::kSha512;   // object and image digests
  oci::XattrMode xattrs = oci::XattrMode::kAllowlist;
};

struct ImportStats {
  uint64_t layers_read = 0, layers_reused = 0;
  uint64_t entries = 0, files = 0, bytes = 0;  // regular files and their bytes read from layers
};

struct MergedImage {
  ResolvedImage meta;
  fstree::Tree tree;                       // merged, before transforms
  std::vector<std::string> layer_streams;  // with a repository
  // Without a repository: the content of external files under etc/selinux/
  // by digest hex, so the boot transform can read the SELinux policy.
  std::map<std::string, Bytes> kept_files;
};

// Readers of external file contents for the SELinux relabel: objects of a
// repository (by digest), files under a scanned directory (by tree path),
// or MergedImage::kept_files (by digest).
oci::ReadFileFn repo_reader(const Repository& repo);
oci::ReadFileFn dir_reader(const std::string& root);
oci::ReadFileFn kept_reader(std::map<std::string, Bytes> kept);

// Merges an image's layers. With `repo`, contents are stored and layers
// recorded (or replayed); without, contents are only digested with `hash`.
Result<MergedImage> merge_image(ImageSource& src, const ImageOptions& o, Repository* repo, ImportStats* stats);

// Which transforms to apply.
enum class Transforms {
  kAuto,  // the OCI transform if /usr exists, the boot transform if /boot and /sysroot also do
  kBoot,  // both, required (the boot digest)
  kNone,
};
// A transformed copy of the tree, ready for the image writer (hardlink
// primaries and nlink set). `applied` lists "oci"/"boot".
// `read` reads external files (SELinux policy) for the boot transform.
Result<fstree::Tree> transform_tree(const fstree::Tree& tree, Transforms t, oci::XattrMode x,
                                    std::vector<std::string>* applied = nullptr, const oci::ReadFileFn& read = {});

// The composefs EROFS image of an already-transformed tree: format 1 (V1,
// the C mkcomposefs layout) or 2 (V2, composefs-rs's legacy layout).
Result<Bytes> make_image(const fstree::Tree& transformed, uint32_t format);

// Objects a tree references (hex), for trees from directories: copies each
// external file under `root` into the repository, checking its digest.
Status store_tree_files(Repository& repo, const fstree::Tree& tree, const std::string& root, ImportStats* stats);

struct ImportResult {
  std::string image;   // hex digest of images/<hex>
  std::string stream;  // image record stream name
  ImageRecord record;
  std::vector<std::string> extra_images;  // images in meta.json's erofs_formats.extra formats
};

// Stores the merged tree's dumpfile, the transformed image and its record,
// and sets `ref` if given. A repository whose meta.json lists extra EROFS
// formats (erofs_formats.extra, composefs-rs) also gets the image in each of
// them, each with its own record.
Result<ImportResult> commit_image(Repository& repo, const MergedImage& m, const ImageOptions& o,
                                  const std::string& ref);

// RefsFn for fsck/gc over bootseal's record formats (other streams: none).
Repository::RefsFn record_refs(const Repository& repo);

// Deployments as GC roots: streams/bootseal-deploy-<hex> and the ref
// "deploy/<hex>" keep images/<hex> and every object it references.
Status pin_deployment(Repository& repo, const std::string& image_hex, const std::string& source);
Status unpin_deployment(Repository& repo, const std::string& image_hex);
// Object digests (hex) an EROFS image references through its redirects.
Result<std::vector<std::string>> image_objects(const Repository& repo, const std::string& image_hex);

// Resolves REF (a reference name, an image digest, or a unique prefix of
// one) to its image record.
Result<std::pair<std::string, ImageRecord>> find_image(const Repository& repo, const std::string& ref);
// The merged tree of a stored image (from its dumpfile object).
Result<fstree::Tree> stored_tree(const Repository& repo, const ImageRecord& r);

}  // namespace bootseal::store
