// Reading images from the skopeo-style transports (oci/transport.h):
// OCI image layouts, oci-archive and docker-archive tarballs. Every blob is
// checked against its digest (and size) as it streams past; a mismatch is
// an error naming the blob. Metadata blobs are capped at oci::kMaxJsonSize.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/json.h"
#include "oci/transport.h"
#include "registry/client.h"
#include "tar/reader.h"

namespace bootseal::store {

struct LayerInfo {
  oci::Digest digest;      // what the blob is checked against (docker-archive: the diff_id)
  std::string media_type;  // empty for docker-archive
  uint64_t size = 0;       // 0 = unknown
  std::optional<oci::Digest> diff_id;  // sha256 of the uncompressed tar, checked too
};

struct ResolvedImage {
  std::string source;  // as given by the user
  // The digest of the image manifest's bytes as stored or served (never of a
  // re-serialization): the image's identity (status "imageDigest").
  std::optional<oci::Digest> manifest_digest;
  oci::Digest config_digest;
  oci::Config config;
  Bytes config_json;  // the config blob's bytes as stored or served
  std::vector<LayerInfo> layers;
  // The manifest and config exactly as stored or served (OCI layouts and
  // registries; empty for docker-archive:), for writers of derived images.
  Bytes manifest_bytes, config_bytes;
};

// A layer opened for reading: `reader` yields its tar entries; finish()
// reads whatever the tar reader left (end padding) and checks the digest.
class LayerStream {
 public:
  virtual ~LayerStream() = default;
  tar::Reader& reader() { return *reader_; }
  virtual Status finish() = 0;
  // After reading the layer failed (bad compressed or tar data, a hostile
  // entry): reads the rest of the blob past the tar reader and checks its
  // digest, so a corrupted blob is reported as a digest mismatch rather than
  // as whatever its damage looked like. `failure` is returned when the blob
  // is intact. The reader is gone afterwards.
  virtual Error explain_failure(Error failure) { return failure; }

 protected:
  std::unique_ptr<tar::Reader> reader_;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual Result<ResolvedImage> resolve(const oci::Platform& platform) = 0;
  virtual Result<std::unique_ptr<LayerStream>> open_layer(const LayerInfo& layer) = 0;
  // Streams a layer's blob as stored (compressed), checked against its digest
  // and size as it passes: `sink` gets every chunk; a mismatch is an error after
  // the last one (the caller discards what it wrote). OCI layouts and registries.
  using SinkFn = std::function<Status(ByteSpan)>;
  virtual Status read_blob(const LayerInfo& layer, const SinkFn& sink);
};

// Copies an OCI layout (oci:DIR[:TAG]) or oci-archive: to a registry, bytes
// unchanged (the manifest digest stays the same): blobs first (a HEAD finds
// those already there; `mount_from` tries a cross-repository mount; chunked
// PATCH uploads of `chunk` bytes when not 0, else one PUT), then child
// manifests of an index by digest, then the top manifest under `tag`.
// Every blob read is checked against its digest as it streams.
struct PushOptions {
  std::string tag;         // the destination tag (or a digest reference)
  std::string mount_from;  // a repository of the same registry, or empty
  uint64_t chunk = 0;
};
struct PushResult {
  oci::Digest manifest_digest;
  std::string media_type;
  uint64_t blobs_uploaded = 0, blobs_existing = 0, blobs_mounted = 0, bytes_uploaded = 0;
};
Result<PushResult> push_layout(const oci::SourceName& name, registry::Client& dest, const PushOptions& o);

// Opens an image source (not kDirectory: directories are scanned instead).
// `ro` configures docker:// sources (credentials, TLS, retries, progress).
Result<std::unique_ptr<ImageSource>> open_source(const oci::SourceName& name, const std::string& original,
                                                 const registry::Options& ro = {});

}  // namespace bootseal::store
