#include "oci/transport.h"

#include <vector>

namespace bootseal::oci {

std::string transport_name(Transport t) {
  switch (t) {
    case Transport::kOciLayout: return "oci";
    case Transport::kOciArchive: return "oci-archive";
    case Transport::kDockerArchive: return "docker-archive";
    case Transport::kDirectory: return "dir";
    case Transport::kDocker: return "docker";
    case Transport::kContainersStorage: return "containers-storage";
  }
  return "?";
}

Result<SourceName> parse_source_name(const std::string& s) {
  if (s.empty()) return input_error("empty image source");
  SourceName n;
  // oci:DIR[:REF] and oci-archive:FILE[:REF]: as skopeo (containers/image
  // SplitPathAndImage), the path ends at the first ':' and the rest, colons
  // included, is the reference (e.g. oci:dir:docker.io/library/foo:1.0).
  auto split_tag = [&](const std::string& rest) -> Status {
    auto colon = rest.find(':');
    n.path = rest.substr(0, colon);
    if (colon != std::string::npos) {
      n.tag = rest.substr(colon + 1);
      if (n.tag->empty()) return input_error("image source \"{}\": empty reference after the path", s);
    }
    return {};
  };
  if (s.starts_with("oci:")) {
    n.transport = Transport::kOciLayout;
    BS_TRY(split_tag(s.substr(4)));
  } else if (s.starts_with("oci-archive:")) {
    n.transport = Transport::kOciArchive;
    BS_TRY(split_tag(s.substr(12)));
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
  } else if (s.starts_with("docker://")) {
    n.transport = Transport::kDocker;
    n.docker = BS_TRY(parse_docker_reference(s.substr(9)));
    return n;
  } else if (s.starts_with("docker:")) {
    return input_error("image source \"{}\": the docker transport is docker://HOST/NAME[:TAG]", s);
  } else if (s.starts_with("containers-storage:")) {
    // containers-storage:[[storage-specifier]]NAME: the name as podman takes it.
    n.transport = Transport::kContainersStorage;
    n.path = s.substr(19);
    if (n.path.starts_with("[")) return unsupported_error("image source \"{}\": a storage specifier ([driver@root]) is not supported", s);
  } else if (s.starts_with("docker-daemon:")) {
    return unsupported_error("image source \"{}\": transport not supported (use skopeo copy to oci: or oci-archive: first)", s);
  } else {
    n.transport = Transport::kDirectory;
    n.path = s;
  }
  if (n.path.empty()) return input_error("image source \"{}\": empty path", s);
  return n;
}

Result<std::string> absolute_source_name(const std::string& s, const std::string& cwd) {
  SourceName n = BS_TRY(parse_source_name(s));
  if (n.path.starts_with("/")) return s;
  size_t prefix = 0;
  bool local = false;
  for (const char* t : {"oci:", "oci-archive:", "docker-archive:", "dir:"})
    if (s.starts_with(t)) prefix = std::string_view(t).size(), local = true;
  // Only local transports name a path (a registry reference, docker://, is kept).
  if (!local && (s.find("://") != std::string::npos || n.transport == Transport::kContainersStorage)) return s;
  // cwd + "/" + path with "." and ".." folded (lexically: symlinks are kept).
  std::vector<std::string> parts;
  std::string joined = cwd + "/" + n.path;
  size_t pos = 0;
  while (pos <= joined.size()) {
    size_t e = joined.find('/', pos);
    if (e == std::string::npos) e = joined.size();
    std::string c = joined.substr(pos, e - pos);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    pos = e + 1;
  }
  std::string abs;
  for (auto& c : parts) abs += "/" + c;
  if (abs.empty()) abs = "/";
  return s.substr(0, prefix) + abs + s.substr(prefix + n.path.size());
}

}  // namespace bootseal::oci
