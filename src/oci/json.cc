#include "oci/json.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace bootseal::oci {

using nlohmann::json;

namespace {

Result<json> parse_json(ByteSpan data, const char* what) {
  if (data.size() > kMaxJsonSize) return input_error("{}: larger than {} bytes", what, kMaxJsonSize);
  json j = json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return input_error("{}: not valid JSON", what);
  if (!j.is_object() && !j.is_array()) return input_error("{}: not a JSON object", what);
  return j;
}

Result<std::string> get_string(const json& j, const char* key, const char* what, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return input_error("{}: missing \"{}\"", what, key);
    return std::string();
  }
  if (!it->is_string()) return input_error("{}: \"{}\" is not a string", what, key);
  return it->get<std::string>();
}

Result<std::map<std::string, std::string>> get_string_map(const json& j, const char* key, const char* what) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return input_error("{}: \"{}\" is not an object", what, key);
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return input_error("{}: \"{}\".\"{}\" is not a string", what, key, k);
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<Descriptor> parse_descriptor(const json& j, const char* what) {
  if (!j.is_object()) return input_error("{}: descriptor is not an object", what);
  Descriptor d;
  d.media_type = BS_TRY(get_string(j, "mediaType", what, false));
  std::string dg = BS_TRY(get_string(j, "digest", what, true));
  d.digest = BS_TRY_CTX(parse_digest(dg), "{}", what);
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0)
    return input_error("{}: descriptor {} has no valid \"size\"", what, dg);
  d.size = sz->get<uint64_t>();
  auto p = j.find("platform");
  if (p != j.end() && !p->is_null()) {
    if (!p->is_object()) return input_error("{}: \"platform\" is not an object", what);
    Platform pl;
    pl.architecture = BS_TRY(get_string(*p, "architecture", what, false));
    pl.os = BS_TRY(get_string(*p, "os", what, false));
    pl.variant = BS_TRY(get_string(*p, "variant", what, false));
    d.platform = pl;
  }
  d.annotations = BS_TRY(get_string_map(j, "annotations", what));
  return d;
}

}  // namespace

Result<Digest> parse_digest(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return input_error("bad digest \"{}\": no algorithm", s);
  Digest d{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
  size_t want = 0;
  if (d.algorithm == "sha256")
    want = 64;
  else if (d.algorithm == "sha512")
    want = 128;
  else
    return input_error("bad digest \"{}\": unsupported algorithm", s.substr(0, 80));
  if (d.hex.size() != want) return input_error("bad digest \"{}\": wrong length", s.substr(0, 160));
  for (char c : d.hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return input_error("bad digest \"{}\": not lowercase hex", s.substr(0, 160));
  return d;
}

Result<Index> parse_index(ByteSpan data) {
  json j = BS_TRY(parse_json(data, "image index"));
  if (!j.is_object()) return input_error("image index: not a JSON object");
  auto sv = j.find("schemaVersion");
  if (sv != j.end() && (!sv->is_number_integer() || sv->get<int64_t>() != 2))
    return input_error("image index: schemaVersion is not 2");
  auto m = j.find("manifests");
  if (m == j.end() || !m->is_array()) return input_error("image index: missing \"manifests\" array");
  if (m->size() > kMaxManifests) return input_error("image index: more than {} manifests", kMaxManifests);
  Index idx;
  for (auto& e : *m) idx.manifests.push_back(BS_TRY(parse_descriptor(e, "image index")));
  return idx;
}

Result<Manifest> parse_manifest(ByteSpan data) {
  json j = BS_TRY(parse_json(data, "image manifest"));
  if (!j.is_object()) return input_error("image manifest: not a JSON object");
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2)
    return input_error("image manifest: schemaVersion is not 2");
  Manifest m;
  m.media_type = BS_TRY(get_string(j, "mediaType", "image manifest", false));
  if (m.media_type == kMediaTypeIndex || m.media_type == kMediaTypeDockerList)
    return input_error("image manifest: is an image index ({})", m.media_type);
  auto c = j.find("config");
  if (c == j.end()) return input_error("image manifest: missing \"config\"");
  m.config = BS_TRY(parse_descriptor(*c, "image manifest config"));
  auto l = j.find("layers");
  if (l == j.end() || !l->is_array()) return input_error("image manifest: missing \"layers\" array");
  if (l->size() > kMaxLayers) return input_error("image manifest: more than {} layers", kMaxLayers);
  for (auto& e : *l) m.layers.push_back(BS_TRY(parse_descriptor(e, "image manifest layer")));
  return m;
}

Result<Config> parse_config(ByteSpan data) {
  json j = BS_TRY(parse_json(data, "image config"));
  if (!j.is_object()) return input_error("image config: not a JSON object");
  Config c;
  c.architecture = BS_TRY(get_string(j, "architecture", "image config", false));
  c.os = BS_TRY(get_string(j, "os", "image config", false));
  c.variant = BS_TRY(get_string(j, "variant", "image config", false));
  c.created = BS_TRY(get_string(j, "created", "image config", false));
  auto cfg = j.find("config");
  if (cfg != j.end() && cfg->is_object()) c.labels = BS_TRY(get_string_map(*cfg, "Labels", "image config"));
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object()) return input_error("image config: missing \"rootfs\"");
  auto type = BS_TRY(get_string(*rootfs, "type", "image config rootfs", false));
  if (!type.empty() && type != "layers") return input_error("image config: rootfs type \"{}\" is not \"layers\"", type);
  auto ids = rootfs->find("diff_ids");
  if (ids == rootfs->end() || !ids->is_array()) return input_error("image config: missing \"rootfs.diff_ids\"");
  if (ids->size() > kMaxLayers) return input_error("image config: more than {} layers", kMaxLayers);
  for (auto& d : *ids) {
    if (!d.is_string()) return input_error("image config: diff_id is not a string");
    c.diff_ids.push_back(BS_TRY_CTX(parse_digest(d.get<std::string>()), "image config diff_ids"));
  }
  return c;
}

Result<std::vector<DockerArchiveEntry>> parse_docker_manifest(ByteSpan data) {
  json j = BS_TRY(parse_json(data, "docker-archive manifest.json"));
  if (!j.is_array()) return input_error("docker-archive manifest.json: not a JSON array");
  if (j.size() > kMaxManifests) return input_error("docker-archive manifest.json: too many entries");
  std::vector<DockerArchiveEntry> out;
  for (auto& e : j) {
    if (!e.is_object()) return input_error("docker-archive manifest.json: entry is not an object");
    DockerArchiveEntry d;
    d.config = BS_TRY(get_string(e, "Config", "docker-archive manifest.json", true));
    auto tags = e.find("RepoTags");
    if (tags != e.end() && tags->is_array())
      for (auto& t : *tags)
        if (t.is_string()) d.repo_tags.push_back(t.get<std::string>());
    auto layers = e.find("Layers");
    if (layers == e.end() || !layers->is_array())
      return input_error("docker-archive manifest.json: missing \"Layers\"");
    if (layers->size() > kMaxLayers) return input_error("docker-archive manifest.json: too many layers");
    for (auto& l : *layers) {
      if (!l.is_string()) return input_error("docker-archive manifest.json: layer is not a string");
      d.layers.push_back(l.get<std::string>());
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string normalize_docker_reference(std::string_view ref) {
  std::string r(ref);
  size_t slash = r.find('/');
  std::string first = slash == std::string::npos ? "" : r.substr(0, slash);
  bool has_host = !first.empty() && (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                                     first == "localhost");
  if (!has_host) r = (slash == std::string::npos ? "docker.io/library/" : "docker.io/") + r;
  size_t last = r.rfind('/');
  if (r.find('@') == std::string::npos && r.find(':', last == std::string::npos ? 0 : last) == std::string::npos)
    r += ":latest";
  return r;
}

Result<size_t> select_docker_archive_entry(const std::vector<DockerArchiveEntry>& entries,
                                           const std::optional<std::string>& ref) {
  if (entries.empty()) return input_error("docker-archive manifest.json lists no images");
  auto tags = [&] {
    std::string have;
    for (size_t i = 0; i < entries.size(); i++) {
      std::string t;
      for (auto& x : entries[i].repo_tags) t += (t.empty() ? "" : " ") + x;
      have += fmt::format("{}@{}: {}", have.empty() ? "" : ", ", i, t.empty() ? "untagged" : t);
    }
    return have;
  };
  if (!ref) {
    if (entries.size() == 1) return size_t{0};
    return input_error("holds {} images ({}); choose one with :NAME:TAG or :@N", entries.size(), tags());
  }
  if (ref->starts_with("@")) {
    std::string n = ref->substr(1);
    if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos)
      return input_error("bad image index \"{}\" (expected @N)", *ref);
    size_t i = std::stoul(n);
    if (i >= entries.size()) return input_error("no image {} ({} images: {})", *ref, entries.size(), tags());
    return i;
  }
  std::string want = normalize_docker_reference(*ref);
  for (size_t i = 0; i < entries.size(); i++)
    for (auto& t : entries[i].repo_tags)
      if (normalize_docker_reference(t) == want) return i;
  return input_error("no image tagged \"{}\" ({})", *ref, tags());
}

bool is_layer_media_type(std::string_view t) {
  static constexpr std::string_view kKnown[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      // containers/image's uncompressed schema 2 layers (skopeo copy --format v2s2
      // with decompression) and the uncompressed foreign variant.
      "application/vnd.docker.image.rootfs.diff.tar",
      "application/vnd.docker.image.rootfs.foreign.diff.tar",
  };
  for (auto k : kKnown)
    if (t == k) return true;
  return false;
}

bool is_index_media_type(std::string_view t) { return t == kMediaTypeIndex || t == kMediaTypeDockerList; }

bool is_index_document(ByteSpan data) {
  auto j = parse_json(data, "image manifest");
  if (!j.ok() || !j->is_object()) return false;
  auto mt = j->find("mediaType");
  if (mt != j->end() && mt->is_string()) {
    if (is_index_media_type(mt->get<std::string>())) return true;
    if (!mt->get<std::string>().empty()) return false;
  }
  auto m = j->find("manifests");
  return m != j->end() && m->is_array() && j->find("layers") == j->end();
}

Platform host_platform() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
  p.variant = "v8";
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#else
  p.architecture = "unknown";
#endif
  return p;
}

Result<Platform> parse_platform(std::string_view s) {
  Platform p;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    parts.emplace_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (auto& x : parts)
    if (x.empty()) return input_error("bad platform \"{}\": expected OS/ARCH[/VARIANT]", s);
  if (parts.size() == 1) {
    p.os = "linux";
    p.architecture = parts[0];
  } else if (parts.size() <= 3) {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  } else {
    return input_error("bad platform \"{}\": expected OS/ARCH[/VARIANT]", s);
  }
  return p;
}

std::string platform_string(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

Result<Descriptor> select_manifest(const Index& index, const std::optional<std::string>& tag, const Platform& want) {
  if (index.manifests.empty()) return input_error("image index lists no manifests");
  if (tag) {
    for (auto& d : index.manifests) {
      auto it = d.annotations.find(kAnnotationRefName);
      if (it != d.annotations.end() && it->second == *tag) return d;
    }
    std::string have;
    for (auto& d : index.manifests) {
      auto it = d.annotations.find(kAnnotationRefName);
      if (it != d.annotations.end()) have += (have.empty() ? "" : ", ") + it->second;
    }
    return input_error("no image tagged \"{}\" (tags: {})", *tag, have.empty() ? "none" : have);
  }
  std::vector<const Descriptor*> matches;
  bool any_platform = false;
  for (auto& d : index.manifests) {
    if (!d.platform) continue;
    any_platform = true;
    if (d.platform->architecture != want.architecture || d.platform->os != want.os) continue;
    if (!want.variant.empty() && !d.platform->variant.empty() && d.platform->variant != want.variant) continue;
    matches.push_back(&d);
  }
  if (!matches.empty()) return *matches.front();
  if (index.manifests.size() == 1 && !any_platform) return index.manifests.front();
  if (!any_platform)
    return input_error("image index lists {} images without platforms; name one with :TAG", index.manifests.size());
  std::string have;
  for (auto& d : index.manifests)
    if (d.platform) have += (have.empty() ? "" : ", ") + platform_string(*d.platform);
  return input_error("no image for platform {} (available: {}); choose one with --platform", platform_string(want), have);
}

}  // namespace bootseal::oci
