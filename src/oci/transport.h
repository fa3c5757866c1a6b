// Image source names in skopeo's transport syntax (containers-transports(5)):
//   oci:DIR[:TAG]            an OCI image layout directory
//   oci-archive:FILE[:TAG]   a tar of an OCI image layout
//   docker-archive:FILE[:NAME[:TAG]|:@N]  docker/podman save output
//   dir:PATH or PATH         a plain root directory (an unpacked tree)
//   docker://HOST[:PORT]/NAME[:TAG|@DIGEST]  a registry (oci/reference.h)
// Only the name is parsed here; reading is done by store/source.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "oci/reference.h"

namespace bootseal::oci {

enum class Transport { kOciLayout, kOciArchive, kDockerArchive, kDirectory, kDocker, kContainersStorage };

struct SourceName {
  Transport transport = Transport::kDirectory;
  std::string path;
  // oci: and oci-archive: the tag; docker-archive: the image's docker
  // reference (NAME[:TAG]) or "@N".
  std::optional<std::string> tag;
  // docker:// the parsed reference (path is empty).
  std::optional<DockerReference> docker;
};

// A bare path is a directory source; containers-storage:NAME keeps NAME in
// `path` (the image is read through `podman image save`, store/source.h); an
// unknown transport (docker-daemon:) is an error.
Result<SourceName> parse_source_name(const std::string& s);
std::string transport_name(Transport t);

// `s` with a relative local path made absolute against `cwd` (what origin files
// and image records store, so `upgrade` works from any directory); the
// transport prefix and tag are kept as given. Pure: `cwd` comes from the caller.
Result<std::string> absolute_source_name(const std::string& s, const std::string& cwd);

}  // namespace bootseal::oci
