// Registry image references (docker://HOST[:PORT]/NAME[:TAG|@DIGEST]) and the
// pure parts of the OCI distribution protocol: WWW-Authenticate challenges,
// registry error bodies, auth.json credentials, token responses.
// Nothing here does I/O; the HTTP client is src/registry/.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "oci/json.h"

namespace bootseal::oci {

// As containers/image (docker/reference ParseNormalizedNamed, as skopeo
// parses docker://): the first path component is a registry host if it
// contains '.' or ':' or is "localhost" (or has upper-case letters);
// otherwise the registry is docker.io. On docker.io a one-component name
// gets "library/" ("busybox" -> docker.io/library/busybox). No tag and no
// digest means ":latest"; a tag and a digest together are refused, as
// skopeo's docker transport refuses them.
struct DockerReference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string repository;  // "library/busybox"
  std::optional<std::string> tag;
  std::optional<Digest> digest;
  // The host:port to connect to (docker.io's API host is registry-1.docker.io).
  std::string api_host() const;
  // "registry/repository:tag" or "registry/repository@digest".
  std::string str() const;
  // The tag or the digest, as the manifest endpoint takes it.
  std::string manifest_ref() const { return digest ? digest->str() : *tag; }
};
// `s` without the "docker://" prefix (with "//" it is an error, as skopeo's).
Result<DockerReference> parse_docker_reference(std::string_view s);

// RFC 7235 challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
struct AuthChallenge {
  std::string scheme;  // lower-cased: "basic", "bearer"
  std::map<std::string, std::string> params;  // keys lower-cased
};
// The challenges of one WWW-Authenticate header value (several may be listed).
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header);

// The distribution-spec error body {"errors":[{code,message,detail}]} as
// containers/image prints it: "unauthorized: authentication required"
// (code lower-cased, '_' as ' ', then the message); several joined by "; ".
// Empty when the body is not such a document.
std::string registry_error_text(ByteSpan body);

struct Credentials {
  std::string username, password;
  std::string identity_token;  // auth.json "identitytoken" (OAuth2 refresh token)
};
// "user[:password]" as --creds takes it.
Result<Credentials> parse_creds(std::string_view s);
// Credentials for `registry`/`repository` from an auth.json / docker
// config.json document: the most specific key wins ("reg/ns/repo", "reg/ns",
// "reg"); docker's legacy keys ("https://index.docker.io/v1/",
// "http://host/…") match their host. nullopt when none matches.
Result<std::optional<Credentials>> find_credentials(ByteSpan auth_json, const std::string& registry,
                                                    const std::string& repository);

// A token endpoint's answer: "token" or "access_token", "expires_in" (s).
struct TokenResponse {
  std::string token;
  int64_t expires_in = 60;
};
Result<TokenResponse> parse_token_response(ByteSpan json);

// The Accept list for manifests (OCI and Docker schema 2, images and indexes).
inline constexpr const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
bool is_manifest_media_type(std::string_view media_type);
// The manifest's own "mediaType" field ("" if absent); errors if it is not JSON.
Result<std::string> manifest_document_media_type(ByteSpan json);

// "bytes START-END/TOTAL" -> START (the Content-Range of a 206).
std::optional<uint64_t> parse_content_range_start(std::string_view v);

}  // namespace bootseal::oci
