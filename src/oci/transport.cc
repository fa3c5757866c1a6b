#include "oci/transport.h"

namespace bootseal::oci {

std::string transport_name(Transport t) {
  switch (t) {
    case Transport::kOciLayout: return "oci";
    case Transport::kOciArchive: return "oci-archive";
    case Transport::kDockerArchive: return "docker-archive";
    case Transport::kDirectory: return "dir";
  }
  return "?";
}

Result<SourceName> parse_source_name(const std::string& s) {
  if (s.empty()) return input_error("empty image source");
  SourceName n;
  auto split_tag = [&](std::string rest) {
    // oci:DIR:TAG — the tag is after the last ':' unless that is part of the path.
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find('/', colon) == std::string::npos && colon + 1 < rest.size()) {
      n.tag = rest.substr(colon + 1);
      rest.resize(colon);
    }
    n.path = rest;
  };
  if (s.starts_with("oci:")) {
    n.transport = Transport::kOciLayout;
    split_tag(s.substr(4));
  } else if (s.starts_with("oci-archive:")) {
    n.transport = Transport::kOciArchive;
    split_tag(s.substr(12));
  } else if (s.starts_with("docker-archive:")) {
    n.transport = Transport::kDockerArchive;
    // docker-archive:FILE[:NAME[:TAG]|:@N]: as skopeo, the path ends at the
    // first ':'; the rest names one image of an archive holding several.
    std::string rest = s.substr(15);
    auto colon = rest.find(':');
    n.path = rest.substr(0, colon);
    if (colon != std::string::npos) {
      n.tag = rest.substr(colon + 1);
      if (n.tag->empty()) return input_error("image source \"{}\": empty image name after the path", s);
    }
  } else if (s.starts_with("dir:")) {
    n.transport = Transport::kDirectory;
    n.path = s.substr(4);
  } else if (s.starts_with("docker://") || s.starts_with("containers-storage:") || s.starts_with("docker-daemon:")) {
    return unsupported_error("image source \"{}\": transport not supported (use skopeo copy to oci: or oci-archive: first)", s);
  } else {
    n.transport = Transport::kDirectory;
    n.path = s;
  }
  if (n.path.empty()) return input_error("image source \"{}\": empty path", s);
  return n;
}

}  // namespace bootseal::oci
