// An OCI distribution-spec client on libcurl (the only module using it).
// One Client talks to one repository of one registry: it pings /v2/, answers
// the registry's challenge (HTTP Basic from --creds or auth.json, or a
// Bearer token from the realm the challenge names), fetches manifests and
// blobs (redirects followed; transfers retried with backoff and resumed by
// Range requests after an interruption) and uploads them.
//
// Checking: get_manifest() verifies the body against the digest asked for,
// or when fetched by tag against Docker-Content-Digest (when sent), and
// against `want` (an index entry's digest and size). Blob bodies are checked
// by the caller while they stream (store/source.cc); get_blob_small() checks
// small blobs itself.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/error.h"
#include "oci/json.h"
#include "oci/reference.h"

namespace bootseal::registry {

struct Options {
  std::string creds;     // --creds USER[:PASSWORD]; empty: auth.json
  std::string authfile;  // --authfile; empty: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
                         // ~/.config/containers/auth.json, ~/.docker/config.json
  std::string cert_dir;  // --cert-dir: *.crt CAs (added to the system's), *.cert/*.key client pair;
                         // empty: /etc/containers/certs.d/HOST[:PORT], /etc/docker/certs.d/HOST[:PORT]
  bool tls_verify = true;  // false: no certificate checks, and plain HTTP if HTTPS fails (as skopeo)
  int retries = 3;         // --retry-times: per request, backoff 0.25 s doubling
  bool verbose = false;    // requests echoed to stderr
  bool progress = false;   // per-blob progress on stderr
};

struct FetchedManifest {
  Bytes body;              // exactly as served
  std::string media_type;  // Content-Type (checked against the body's mediaType)
  oci::Digest digest;      // of `body`
};

// A blob body as it streams (not checked here; see the caller).
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual Result<size_t> read(uint8_t* buf, size_t n) = 0;  // 0 at the end
  virtual uint64_t resumed() const = 0;                     // how many times the transfer was resumed
};

class Client {
 public:
  // Connects (pings /v2/ and authenticates) for pull, or pull and push.
  static Result<std::unique_ptr<Client>> connect(const oci::DockerReference& ref, const Options& o, bool push = false);
  virtual ~Client() = default;

  // "HOST/NAME" for messages.
  virtual std::string name() const = 0;
  // A manifest or index by tag or digest ("sha256:…"), checked as above.
  virtual Result<FetchedManifest> get_manifest(const std::string& ref, const oci::Descriptor* want = nullptr) = 0;
  // A blob of at most oci::kMaxJsonSize bytes, checked against digest and size.
  virtual Result<Bytes> get_blob_small(const oci::Digest& d, uint64_t size) = 0;
  // A blob streamed; `size` (0 = unknown) is the descriptor's.
  virtual Result<std::unique_ptr<BlobReader>> open_blob(const oci::Digest& d, uint64_t size) = 0;

  // Push. HEAD: does the repository have the blob?
  virtual Result<bool> blob_exists(const oci::Digest& d) = 0;
  // Cross-repository mount from `from` (same registry); false: not mounted.
  virtual Result<bool> mount_blob(const oci::Digest& d, const std::string& from) = 0;
  // Uploads a blob: one PUT (monolithic) or PATCH chunks of `chunk` bytes.
  using ReadFn = std::function<Result<size_t>(uint8_t*, size_t)>;
  virtual Status upload_blob(const oci::Digest& d, uint64_t size, const ReadFn& read, uint64_t chunk = 0) = 0;
  // PUT a manifest under a tag or its digest; returns the digest the registry reports.
  virtual Status put_manifest(const std::string& ref, ByteSpan body, const std::string& media_type) = 0;
};

}  // namespace bootseal::registry
