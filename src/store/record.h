// Records kept in the repository as objects, named by stream symlinks:
//
// Layer record (streams/bootseal-layer-<alg>-<hex>): the layer's tar entries
// as applied, in archive order, with regular-file data resolved to inline
// bytes or object digests. Re-importing an image replays these instead of
// reading the layer again. Text, one entry per line, fields separated by one
// space, strings escaped as composefs dumpfiles escape them ("-" = empty):
//
//   bootseal-layer-record 1
//   TYPE PATH MODE UID GID MTIME_SEC MTIME_NSEC SIZE LINK MAJOR MINOR DATA [NAME=VALUE]...
//
// TYPE is one of f d l h c b p (regular, directory, symlink, hardlink, char,
// block, fifo); MODE octal permission bits; DATA "-", "i:<hex bytes>" (inline)
// or "o:<hex digest>" (object).
//
// Image record (streams/bootseal-image-<hex>): JSON, see ImageRecord.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "oci/apply.h"
#include "tar/reader.h"

namespace bootseal::store {

inline constexpr const char* kLayerRecordMagic = "bootseal-layer-record 1";
inline constexpr const char* kLayerStreamPrefix = "bootseal-layer-";
inline constexpr const char* kImageStreamPrefix = "bootseal-image-";
// Deployment record (streams/bootseal-deploy-<hex>): JSON {"image": hex,
// "source": reference}; a GC root for a deployed image and every object it
// references, named by the ref "deploy/<hex>".
inline constexpr const char* kDeployStreamPrefix = "bootseal-deploy-";
inline constexpr const char* kDeployRefPrefix = "deploy/";

struct DeployRecord {
  std::string image;   // hex digest of images/<hex>
  std::string source;  // container-image-reference
};
std::string serialize_deploy_record(const DeployRecord& r);
Result<DeployRecord> parse_deploy_record(ByteSpan json);

struct RecordEntry {
  tar::Entry entry;
  oci::FileData data;
};

std::string serialize_layer_record(const std::vector<RecordEntry>& entries);
Result<std::vector<RecordEntry>> parse_layer_record(ByteSpan text);
// Object digests (hex) a layer record references.
Result<std::vector<std::string>> layer_record_objects(ByteSpan text);

struct ImageRecord {
  std::string source;
  std::string manifest_digest;  // empty for directories / docker-archive
  std::string config_digest;
  std::vector<std::string> layers;  // layer stream names, in order
  std::string architecture, os, created, version;
  std::string image;     // images/<hex>
  uint32_t format = 1;   // EROFS format (1 = V1, 2 = V2)
  std::string hash;      // "sha256" | "sha512"
  std::string xattrs;    // "allowlist" | "keep-user"
  std::vector<std::string> transforms;  // "oci", "boot"
  std::string tree;      // object holding the merged tree's dumpfile (before transforms)
};

std::string serialize_image_record(const ImageRecord& r);
Result<ImageRecord> parse_image_record(ByteSpan json);

// Layer stream name for a layer digest: "bootseal-layer-sha256-<hex>".
std::string layer_stream_name(const std::string& algorithm, const std::string& hex);

}  // namespace bootseal::store
