#include "store/meta.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace bootseal::store {

using nlohmann::json;

std::string algorithm_string(crypto::HashAlg alg) {
  return fmt::format("fsverity-{}-{}", crypto::hash_name(alg), kLogBlockSize);
}

RepoMeta new_meta(crypto::HashAlg alg, uint32_t erofs_format) {
  RepoMeta m;
  m.algorithm = alg;
  m.erofs_default = erofs_format;
  if (erofs_format == 1) m.ro_compatible.push_back(kFeatureV1Erofs);
  return m;
}

static Result<std::vector<std::string>> string_list(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) return input_error("meta.json: features.{} is not an array", key);
  for (auto& v : *it) {
    if (!v.is_string()) return input_error("meta.json: features.{} holds a non-string", key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<RepoMeta> parse_meta(ByteSpan data) {
  if (data.size() > 65536) return input_error("meta.json: too large");
  json j = json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("meta.json: not a JSON object");
  RepoMeta m;
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer()) return input_error("meta.json: missing \"version\"");
  if (v->get<int64_t>() != kMetaVersion)
    return unsupported_error("meta.json: repository format version {} (this bootseal knows {})", v->dump(), kMetaVersion);
  auto a = j.find("algorithm");
  if (a == j.end() || !a->is_string()) return input_error("meta.json: missing \"algorithm\"");
  std::string alg = a->get<std::string>();
  if (alg == algorithm_string(crypto::HashAlg::kSha256))
    m.algorithm = crypto::HashAlg::kSha256;
  else if (alg == algorithm_string(crypto::HashAlg::kSha512))
    m.algorithm = crypto::HashAlg::kSha512;
  else
    return unsupported_error("meta.json: algorithm \"{}\" (supported: fsverity-sha256-12, fsverity-sha512-12)", alg);
  auto f = j.find("features");
  if (f != j.end()) {
    if (!f->is_object()) return input_error("meta.json: \"features\" is not an object");
    m.compatible = BS_TRY(string_list(*f, "compatible"));
    m.ro_compatible = BS_TRY(string_list(*f, "read-only-compatible"));
    m.incompatible = BS_TRY(string_list(*f, "incompatible"));
  }
  if (!m.incompatible.empty())
    return unsupported_error("meta.json: unknown incompatible feature \"{}\": refusing to open the repository",
                             m.incompatible.front());
  for (auto& r : m.ro_compatible)
    if (r != kFeatureV1Erofs) m.read_only = true;
  auto e = j.find("erofs_formats");
  if (e == j.end() || e->is_null()) {
    m.erofs_formats_present = false;
    m.erofs_default = 2;
  } else {
    if (!e->is_object()) return input_error("meta.json: \"erofs_formats\" is not an object");
    auto d = e->find("default");
    if (d == e->end() || !d->is_number_unsigned()) return input_error("meta.json: missing erofs_formats.default");
    m.erofs_default = d->get<uint32_t>();
    auto x = e->find("extra");
    if (x != e->end()) {
      if (!x->is_array()) return input_error("meta.json: erofs_formats.extra is not an array");
      for (auto& i : *x) {
        if (!i.is_number_unsigned()) return input_error("meta.json: erofs_formats.extra holds a non-number");
        m.erofs_extra.push_back(i.get<uint32_t>());
      }
    }
  }
  for (uint32_t fmt_v : m.erofs_extra)
    if (fmt_v != 1 && fmt_v != 2) return unsupported_error("meta.json: unknown EROFS format {}", fmt_v);
  if (m.erofs_default != 1 && m.erofs_default != 2)
    return unsupported_error("meta.json: unknown EROFS format {}", m.erofs_default);
  bool has_v1_flag = std::find(m.ro_compatible.begin(), m.ro_compatible.end(), kFeatureV1Erofs) != m.ro_compatible.end();
  if (m.erofs_formats_present && (m.erofs_default == 1) != has_v1_flag)
    return input_error("meta.json: feature \"v1_erofs\" must be listed exactly when erofs_formats.default is 1");
  return m;
}

std::string serialize_meta(const RepoMeta& m) {
  // Key order as composefs-rs's serde struct: version, algorithm, features, erofs_formats.
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["version"] = kMetaVersion;
  j["algorithm"] = algorithm_string(m.algorithm);
  nlohmann::ordered_json f = nlohmann::ordered_json::object();
  f["compatible"] = m.compatible;
  f["read-only-compatible"] = m.ro_compatible;
  f["incompatible"] = m.incompatible;
  j["features"] = f;
  if (m.erofs_formats_present) {
    nlohmann::ordered_json e = {{"default", m.erofs_default}};
    if (!m.erofs_extra.empty()) e["extra"] = m.erofs_extra;
    j["erofs_formats"] = e;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace bootseal::store
