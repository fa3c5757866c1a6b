// Fuzzes the OCI JSON parsers (image index, manifest, config, docker-archive
// manifest.json), digest parsing and manifest selection.
#include <cstdint>
#include <string>

#include "oci/json.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  if (auto idx = oci::parse_index(in); idx.ok()) {
    (void)oci::select_manifest(*idx, std::nullopt, oci::host_platform());
    (void)oci::select_manifest(*idx, std::string("latest"), oci::Platform{"arm64", "linux", "v8"});
    for (auto& d : idx->manifests)
      if (d.digest.hex.size() != 64 && d.digest.hex.size() != 128) __builtin_trap();
  }
  if (auto m = oci::parse_manifest(in); m.ok()) {
    for (auto& l : m->layers) (void)oci::is_layer_media_type(l.media_type);
  }
  (void)oci::parse_config(in);
  (void)oci::parse_docker_manifest(in);
  std::string s(reinterpret_cast<const char*>(data), std::min<size_t>(size, 300));
  (void)oci::parse_digest(s);
  (void)oci::parse_platform(s);
  return 0;
}
