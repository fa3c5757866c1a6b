// OCI image-spec JSON documents (image-layout index.json, image index,
// image manifest, image config) and the docker-archive manifest.json.
// Parsers are pure: they take bytes and check every field they use; unknown
// fields are ignored as the spec requires. Digests are validated (algorithm
// sha256 or sha512, lowercase hex of the right length) before anyone turns
// them into a path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::oci {

// Media types (OCI image-spec media-types.md and Docker's schema 2).
inline constexpr const char* kMediaTypeIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kMediaTypeManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kMediaTypeConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kMediaTypeDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kMediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kAnnotationRefName = "org.opencontainers.image.ref.name";
inline constexpr const char* kLabelVersion = "org.opencontainers.image.version";

// Metadata documents are small; anything bigger is refused before parsing.
inline constexpr uint64_t kMaxJsonSize = 4 * 1024 * 1024;
inline constexpr size_t kMaxLayers = 1000;
inline constexpr size_t kMaxManifests = 10000;

// "algorithm:hex". Only sha256 and sha512 are accepted.
struct Digest {
  std::string algorithm;
  std::string hex;
  std::string str() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;
};
Result<Digest> parse_digest(std::string_view s);

struct Platform {
  std::string architecture;
  std::string os;
  std::string variant;
};

// The OCI content descriptor (descriptor.md).
struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

// image-layout index.json and image indexes (image-index.md).
struct Index {
  std::vector<Descriptor> manifests;
};

// image-manifest.md.
struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

// The parts of the image config (config.md) that import uses.
struct Config {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string created;
  std::map<std::string, std::string> labels;
  std::vector<Digest> diff_ids;
};

// docker save / docker-archive manifest.json entries.
struct DockerArchiveEntry {
  std::string config;                  // path inside the archive
  std::vector<std::string> repo_tags;  // "name:tag"
  std::vector<std::string> layers;     // paths inside the archive
};

Result<Index> parse_index(ByteSpan json);
Result<Manifest> parse_manifest(ByteSpan json);
Result<Config> parse_config(ByteSpan json);
Result<std::vector<DockerArchiveEntry>> parse_docker_manifest(ByteSpan json);

// A docker reference in its fully qualified form, as docker and skopeo
// compare them: "busybox" -> "docker.io/library/busybox:latest",
// "foo/bar:v1" -> "docker.io/foo/bar:v1"; a registry host ("a.b/x", "h:5000/x",
// "localhost/x") is kept.
std::string normalize_docker_reference(std::string_view ref);
// Picks the image of a docker-archive: by `ref` (a docker reference matched
// against RepoTags, or "@N", the N-th image counting from 0, as skopeo's
// docker-archive:FILE:REF and :@N), else the only one. Errors list the tags.
Result<size_t> select_docker_archive_entry(const std::vector<DockerArchiveEntry>& entries,
                                           const std::optional<std::string>& ref);

// True for media types whose blobs are (possibly compressed) tar layers we can
// apply: OCI tar, tar+gzip, tar+zstd (also the nondistributable variants) and
// Docker's rootfs.diff.tar.gzip and rootfs.diff.tar (also foreign).
bool is_layer_media_type(std::string_view media_type);
bool is_index_media_type(std::string_view media_type);
// True when a manifest-or-index blob is an image index: its own mediaType is
// an index type, or it has none and holds a "manifests" array and no
// "layers" (descriptors in the wild sometimes omit or mislabel mediaType).
bool is_index_document(ByteSpan json);

// The platform this binary was built for, in OCI terms ("amd64", "arm64", ...).
Platform host_platform();
// Parses "os/arch[/variant]" or "arch".
Result<Platform> parse_platform(std::string_view s);
std::string platform_string(const Platform& p);

// Picks the manifest descriptor from an index: by tag (annotation
// org.opencontainers.image.ref.name) when `tag` is set, else the single entry,
// else the one matching `want` (architecture, os, and variant if given).
// Errors name what was looked for and what is there.
Result<Descriptor> select_manifest(const Index& index, const std::optional<std::string>& tag,
                                   const Platform& want);

}  // namespace bootseal::oci
