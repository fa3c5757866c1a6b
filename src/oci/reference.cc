#include "oci/reference.h"

#include <re2/re2.h>

#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>

#include "crypto/pem.h"

namespace bootseal::oci {

namespace {

constexpr size_t kMaxNameLength = 255;  // docker/reference NameTotalLengthMax

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

std::string DockerReference::api_host() const { return registry == "docker.io" ? "registry-1.docker.io" : registry; }

std::string DockerReference::str() const {
  std::string s = registry + "/" + repository;
  if (digest) return s + "@" + digest->str();
  if (tag) return s + ":" + *tag;
  return s;
}

Result<DockerReference> parse_docker_reference(std::string_view s) {
  std::string in(s);
  if (in.starts_with("//"))
    return input_error("docker://{}: invalid reference (docker:// is followed by HOST/NAME, not another \"//\")", in);
  if (in.empty()) return input_error("docker://: empty image reference");
  DockerReference r;
  std::string rest = in;
  // NAME@DIGEST
  if (auto at = rest.find('@'); at != std::string::npos) {
    auto d = parse_digest(rest.substr(at + 1));
    if (!d.ok()) return input_error("docker://{}: {}", in, d.error().message());
    r.digest = *d;
    rest.resize(at);
  }
  // NAME:TAG (the last ':' after the last '/')
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    std::string tag = rest.substr(colon + 1);
    static const re2::RE2 tag_re("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    if (!re2::RE2::FullMatch(tag, tag_re)) return input_error("docker://{}: invalid tag \"{}\"", in, tag);
    r.tag = tag;
    rest.resize(colon);
  }
  if (r.tag && r.digest)
    return input_error("docker://{}: a reference with both a tag and a digest is not supported (as skopeo)", in);
  // Domain: the first component if it looks like a host.
  auto first = rest.find('/');
  std::string domain, path;
  if (first == std::string::npos ||
      (rest.substr(0, first).find_first_of(".:") == std::string::npos && rest.substr(0, first) != "localhost" &&
       !has_upper(rest.substr(0, first)))) {
    domain = "docker.io";
    path = rest;
  } else {
    domain = rest.substr(0, first);
    path = rest.substr(first + 1);
  }
  if (domain == "index.docker.io") domain = "docker.io";
  static const re2::RE2 host_re(
      "(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
      "|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?");
  if (!re2::RE2::FullMatch(domain, host_re)) return input_error("docker://{}: invalid registry host \"{}\"", in, domain);
  if (domain == "docker.io" && path.find('/') == std::string::npos) path = "library/" + path;
  if (path.empty()) return input_error("docker://{}: no repository name", in);
  if (has_upper(path)) return input_error("docker://{}: repository name must be lowercase", in);
  static const re2::RE2 path_re("[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*");
  if (!re2::RE2::FullMatch(path, path_re)) return input_error("docker://{}: invalid repository name \"{}\"", in, path);
  if (domain.size() + 1 + path.size() > kMaxNameLength)
    return input_error("docker://{}: repository name longer than {} characters", in, kMaxNameLength);
  r.registry = domain;
  r.repository = path;
  if (!r.tag && !r.digest) r.tag = "latest";
  return r;
}

std::vector<AuthChallenge> parse_www_authenticate(std::string_view h) {
  // challenge = scheme 1*SP param *( "," param ); param = token "=" ( token / quoted-string )
  std::vector<AuthChallenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) i++;
  };
  auto token = [&] {
    size_t s = i;
    while (i < h.size() && h[i] != ' ' && h[i] != '\t' && h[i] != '=' && h[i] != ',' && h[i] != '"') i++;
    return std::string(h.substr(s, i - s));
  };
  while (i < h.size()) {
    skip_ws();
    while (i < h.size() && h[i] == ',') {
      i++;
      skip_ws();
    }
    if (i >= h.size()) break;
    AuthChallenge c;
    c.scheme = lower(token());
    if (c.scheme.empty()) break;
    for (;;) {
      skip_ws();
      size_t save = i;
      std::string k = token();
      skip_ws();
      if (k.empty() || i >= h.size() || h[i] != '=') {
        i = save;  // the next challenge's scheme (or the end)
        break;
      }
      i++;
      skip_ws();
      std::string v;
      if (i < h.size() && h[i] == '"') {
        i++;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) i++;
          v += h[i++];
        }
        if (i < h.size()) i++;
      } else {
        v = token();
      }
      c.params[lower(k)] = v;
      skip_ws();
      if (i < h.size() && h[i] == ',') {
        i++;
        continue;
      }
      break;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string registry_error_text(ByteSpan body) {
  auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  auto e = j.find("errors");
  if (e == j.end() || !e->is_array()) return {};
  std::string out;
  for (auto& x : *e) {
    if (!x.is_object()) continue;
    std::string code = x.contains("code") && x["code"].is_string() ? x["code"].get<std::string>() : "";
    std::string msg = x.contains("message") && x["message"].is_string() ? x["message"].get<std::string>() : "";
    std::string c = lower(code);
    for (auto& ch : c)
      if (ch == '_') ch = ' ';
    std::string one = c.empty() ? msg : msg.empty() ? c : c + ": " + msg;
    for (auto& ch : one)
      if (ch == '\n' || ch == '\r') ch = ' ';
    if (one.empty()) continue;
    out += (out.empty() ? "" : "; ") + one;
  }
  return out;
}

Result<Credentials> parse_creds(std::string_view s) {
  if (s.empty()) return input_error("--creds: empty credentials");
  Credentials c;
  auto colon = s.find(':');
  c.username = std::string(s.substr(0, colon));
  if (colon != std::string_view::npos) c.password = std::string(s.substr(colon + 1));
  if (c.username.empty()) return input_error("--creds: empty user name");
  return c;
}

namespace {

// An auth.json key as a "registry[/path]" to compare.
std::string normalize_auth_key(std::string k) {
  bool legacy = false;
  for (const char* p : {"https://", "http://"})
    if (k.starts_with(p)) {
      k = k.substr(strlen(p));
      legacy = true;
    }
  if (legacy) k = k.substr(0, k.find('/'));  // docker's "https://host/v1/": the host only
  while (k.ends_with("/")) k.pop_back();
  for (const char* h : {"index.docker.io", "registry-1.docker.io"}) {
    std::string hs(h);
    if (k == hs || k.starts_with(hs + "/")) k = "docker.io" + k.substr(hs.size());
  }
  return k;
}

}  // namespace

Result<std::optional<Credentials>> find_credentials(ByteSpan data, const std::string& registry,
                                                    const std::string& repository) {
  auto j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("not a JSON object");
  auto a = j.find("auths");
  if (a == j.end()) return std::optional<Credentials>();
  if (!a->is_object()) return input_error("\"auths\" is not an object");
  std::map<std::string, const nlohmann::json*> keys;
  for (auto& [k, v] : a->items()) keys.emplace(normalize_auth_key(k), &v);
  // Most specific first: registry/a/b/c, registry/a/b, registry/a, registry.
  std::vector<std::string> cands;
  std::string p = registry + "/" + repository;
  for (;;) {
    cands.push_back(p);
    auto s = p.rfind('/');
    if (s == std::string::npos) break;
    p.resize(s);
  }
  for (auto& c : cands) {
    auto it = keys.find(c);
    if (it == keys.end()) continue;
    const auto& v = *it->second;
    if (!v.is_object()) return input_error("\"auths\".\"{}\" is not an object", c);
    Credentials cr;
    if (v.contains("identitytoken") && v["identitytoken"].is_string()) cr.identity_token = v["identitytoken"];
    if (v.contains("auth") && v["auth"].is_string() && !v["auth"].get<std::string>().empty()) {
      auto raw = crypto::base64_decode(v["auth"].get<std::string>());
      if (!raw.ok()) return input_error("\"auths\".\"{}\".auth is not base64", c);
      std::string up(raw->begin(), raw->end());
      auto colon = up.find(':');
      if (colon == std::string::npos) return input_error("\"auths\".\"{}\".auth is not \"user:password\"", c);
      cr.username = up.substr(0, colon);
      cr.password = up.substr(colon + 1);
    } else {
      if (v.contains("username") && v["username"].is_string()) cr.username = v["username"];
      if (v.contains("password") && v["password"].is_string()) cr.password = v["password"];
    }
    if (cr.username.empty() && cr.identity_token.empty()) continue;
    return std::optional<Credentials>(cr);
  }
  return std::optional<Credentials>();
}

Result<TokenResponse> parse_token_response(ByteSpan data) {
  auto j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("token response is not a JSON object");
  TokenResponse t;
  for (const char* k : {"token", "access_token"})
    if (j.contains(k) && j[k].is_string() && !j[k].get<std::string>().empty()) {
      t.token = j[k];
      break;
    }
  if (t.token.empty()) return input_error("token response has no \"token\" or \"access_token\"");
  for (char c : t.token)
    if (c < 0x21 || c > 0x7e) return input_error("token response: token has characters not allowed in a header");
  if (j.contains("expires_in") && j["expires_in"].is_number_integer() && j["expires_in"].get<int64_t>() > 0)
    t.expires_in = j["expires_in"];
  return t;
}

bool is_manifest_media_type(std::string_view t) {
  return t == kMediaTypeIndex || t == kMediaTypeManifest || t == kMediaTypeDockerList || t == kMediaTypeDockerManifest;
}

Result<std::string> manifest_document_media_type(ByteSpan data) {
  auto j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("manifest is not a JSON object");
  auto m = j.find("mediaType");
  if (m == j.end()) return std::string();
  if (!m->is_string()) return input_error("manifest \"mediaType\" is not a string");
  return m->get<std::string>();
}

std::optional<uint64_t> parse_content_range_start(std::string_view v) {
  while (v.starts_with(' ')) v.remove_prefix(1);
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  uint64_t n = 0;
  size_t i = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; i++) {
    if (n > (UINT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(v[i] - '0');
  }
  if (i == 0 || i >= v.size() || v[i] != '-') return std::nullopt;
  return n;
}

}  // namespace bootseal::oci
