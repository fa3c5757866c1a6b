#include "registry/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "base/hex.h"
#include "crypto/hash.h"
#include "sys/file.h"
#include "sys/tree.h"

namespace bootseal::registry {

namespace {

constexpr uint64_t kMaxErrorBody = 64 * 1024;
constexpr size_t kPauseAt = 4 * 1024 * 1024;  // blob bytes buffered before the transfer pauses
constexpr const char* kUserAgent = "bootseal/0.1";

std::once_flag curl_init_once;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
  return s.substr(i);
}

void backoff(int attempt) {
  auto ms = std::min(250 * (1 << std::min(attempt, 4)), 4000);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

bool retryable_curl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}
bool retryable_status(long s) { return s == 429 || s == 502 || s == 503 || s == 504; }

struct Headers {
  std::map<std::string, std::string> h;  // lower-case name -> last value
  std::string get(const std::string& k) const {
    auto it = h.find(k);
    return it == h.end() ? std::string() : it->second;
  }
};

size_t header_cb(char* p, size_t size, size_t n, void* ud) {
  auto* hd = static_cast<Headers*>(ud);
  std::string line(p, size * n);
  if (line.starts_with("HTTP/")) {
    hd->h.clear();  // a new response (after a redirect or 100-continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos) hd->h[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
  return size * n;
}

struct Response {
  long status = 0;
  Headers headers;
  Bytes body;
  std::string effective_url;
};

struct BodySink {
  Bytes* out;
  uint64_t cap;
  bool overflow = false;
};
size_t body_cb(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<BodySink*>(ud);
  size_t len = size * n;
  if (s->out->size() + len > s->cap) {
    s->overflow = true;
    return 0;
  }
  s->out->insert(s->out->end(), reinterpret_cast<uint8_t*>(p), reinterpret_cast<uint8_t*>(p) + len);
  return len;
}

struct UploadSource {
  const Client::ReadFn* read = nullptr;
  ByteSpan span;
  size_t pos = 0;
  uint64_t limit = 0;  // bytes to send from `read`
  uint64_t sent = 0;
  std::optional<Error> error;
};
size_t upload_cb(char* buf, size_t size, size_t n, void* ud) {
  auto* u = static_cast<UploadSource*>(ud);
  size_t len = size * n;
  if (!u->read) {
    size_t k = std::min(len, u->span.size() - u->pos);
    std::memcpy(buf, u->span.data() + u->pos, k);
    u->pos += k;
    return k;
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(len, u->limit - u->sent));
  if (want == 0) return 0;
  auto r = (*u->read)(reinterpret_cast<uint8_t*>(buf), want);
  if (!r.ok()) {
    u->error = r.error();
    return CURL_READFUNC_ABORT;
  }
  u->sent += *r;
  return *r;
}

std::string curl_text(CURLcode c, const char* errbuf) {
  std::string s = errbuf && *errbuf ? std::string(errbuf) : std::string(curl_easy_strerror(c));
  return trim(s);
}

// TLS settings shared by every handle of a client.
struct TlsConfig {
  bool verify = true;
  std::string ca_blob;  // PEM: the system bundle plus the cert dir's *.crt (empty: curl's default)
  std::string client_cert, client_key;
};

void apply_common(CURL* c, const TlsConfig& tls, char* errbuf) {
  curl_easy_setopt(c, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled for 60 s: a transport error (retried)
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (!tls.verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!tls.ca_blob.empty()) {
    curl_blob b{const_cast<char*>(tls.ca_blob.data()), tls.ca_blob.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
  }
  if (!tls.client_cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls.client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls.client_key.c_str());
  }
}

Result<TlsConfig> load_tls(const oci::DockerReference& ref, const Options& o) {
  TlsConfig t;
  t.verify = o.tls_verify;
  std::vector<std::string> dirs;
  if (!o.cert_dir.empty())
    dirs.push_back(o.cert_dir);
  else
    for (const char* base : {"/etc/containers/certs.d/", "/etc/docker/certs.d/"}) dirs.push_back(base + ref.registry);
  for (auto& d : dirs) {
    auto names = sys::list_dir_names(d);
    if (!names.ok()) {
      if (!o.cert_dir.empty()) return input_error("--cert-dir {}: {}", d, names.error().message());
      continue;
    }
    std::sort(names->begin(), names->end());
    std::string cas;
    for (auto& n : *names) {
      if (n.ends_with(".crt")) {
        cas += BS_TRY(sys::read_text_file(d + "/" + n)) + "\n";
      } else if (n.ends_with(".cert")) {
        std::string key = d + "/" + n.substr(0, n.size() - 5) + ".key";
        if (!sys::path_exists(key)) return input_error("{}/{}: missing client key {}", d, n, key);
        t.client_cert = d + "/" + n;
        t.client_key = key;
      }
    }
    if (!cas.empty()) {
      // Added to the system's trust, as containers/image does.
      for (const char* sysb : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}) {
        auto s = sys::read_text_file(sysb);
        if (s.ok()) {
          t.ca_blob = *s + "\n";
          break;
        }
      }
      t.ca_blob += cas;
    }
    break;  // the first existing directory only
  }
  return t;
}

Result<std::optional<oci::Credentials>> load_credentials(const oci::DockerReference& ref, const Options& o) {
  if (!o.creds.empty()) return std::optional<oci::Credentials>(BS_TRY(oci::parse_creds(o.creds)));
  std::vector<std::string> files;
  auto env = [](const char* n) -> std::string {
    const char* v = std::getenv(n);
    return v ? v : "";
  };
  if (!o.authfile.empty()) {
    files.push_back(o.authfile);
  } else if (!env("REGISTRY_AUTH_FILE").empty()) {
    files.push_back(env("REGISTRY_AUTH_FILE"));
  } else {
    if (!env("XDG_RUNTIME_DIR").empty()) files.push_back(env("XDG_RUNTIME_DIR") + "/containers/auth.json");
    std::string home = env("HOME");
    if (!home.empty()) {
      files.push_back(home + "/.config/containers/auth.json");
      files.push_back(home + "/.docker/config.json");
    }
  }
  for (auto& f : files) {
    if (!sys::path_exists(f)) {
      if (!o.authfile.empty()) return input_error("--authfile {}: no such file", f);
      continue;  // as containers/image: a missing auth file means no credentials
    }
    Bytes data = BS_TRY(sys::read_file(f));
    auto c = oci::find_credentials(data, ref.registry, ref.repository);
    if (!c.ok()) return input_error("{}: {}", f, c.error().message());
    if (*c) return *c;
  }
  return std::optional<oci::Credentials>();
}

class CurlClient;

// Per-blob progress on a terminal: one status line, rewritten, listing the
// blobs in flight ("a1b2c3d4e5f6 12.3/45.6 MiB").
class Progress {
 public:
  static Progress& get() {
    static Progress p;
    return p;
  }
  void update(const std::string& id, uint64_t done, uint64_t total, bool finished) {
    std::lock_guard<std::mutex> l(mu_);
    auto now = std::chrono::steady_clock::now();
    if (finished)
      active_.erase(id);
    else
      active_[id] = {done, total};
    if (!finished && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    std::string line;
    for (auto& [k, v] : active_)
      line += fmt::format("{}{} {:.1f}/{:.1f} MiB", line.empty() ? "" : "  ", k.substr(0, 12), v.first / 1048576.0,
                          v.second / 1048576.0);
    if (finished)
      std::fprintf(stderr, "\r\033[Kblob sha256:%s: %.1f MiB done\n%s", id.substr(0, 12).c_str(), done / 1048576.0,
                   line.c_str());
    else
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> active_;
  std::chrono::steady_clock::time_point last_{};
};

// A blob streamed through curl's multi interface on the reading thread:
// read() drives the transfer until bytes are buffered; the transfer pauses
// when the buffer is full. An interrupted transfer is resumed with a Range
// request from the bytes already delivered.
class CurlBlobReader : public BlobReader {
 public:
  CurlBlobReader(CurlClient* client, std::string url, std::string what, std::string id, uint64_t size, int retries)
      : client_(client), url_(std::move(url)), what_(std::move(what)), id_(std::move(id)), size_(size), retries_(retries) {}
  ~CurlBlobReader() override { stop(); }

  Status start();
  Result<size_t> read(uint8_t* buf, size_t n) override;
  uint64_t resumed() const override { return resumed_; }

 private:
  static size_t write_cb(char* p, size_t size, size_t n, void* ud);
  void stop() {
    if (easy_) {
      if (multi_) curl_multi_remove_handle(multi_, easy_);
      curl_easy_cleanup(easy_);
      easy_ = nullptr;
    }
    if (multi_) {
      curl_multi_cleanup(multi_);
      multi_ = nullptr;
    }
    if (hdrs_) {
      curl_slist_free_all(hdrs_);
      hdrs_ = nullptr;
    }
  }
  Result<bool> finished_transfer(CURLcode rc);  // true: all delivered; false: resumed

  CurlClient* client_;
  std::string url_, what_, id_;
  uint64_t size_;
  int retries_;
  int attempt_ = 0;
  uint64_t resumed_ = 0;
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  curl_slist* hdrs_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  Headers headers_;
  Bytes buf_;
  size_t buf_pos_ = 0;
  bool paused_ = false, done_ = false, eof_ = false;
  uint64_t delivered_ = 0;  // bytes handed to the reader (the blob's offset)
  uint64_t start_at_ = 0;   // the offset this transfer started at
  uint64_t skip_ = 0;       // bytes of a 200 answer to a Range request to drop
  bool checked_status_ = false;
  long status_ = 0;
  Bytes error_body_;
  std::optional<Error> cb_error_;
  bool auth_retried_ = false;
};

class CurlClient : public Client {
 public:
  CurlClient(oci::DockerReference ref, Options o) : ref_(std::move(ref)), o_(std::move(o)) {
    std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    easy_ = curl_easy_init();
  }
  ~CurlClient() override {
    if (easy_) curl_easy_cleanup(easy_);
  }

  Status init(bool push) {
    push_ = push;
    tls_ = BS_TRY(load_tls(ref_, o_));
    creds_ = BS_TRY(load_credentials(ref_, o_));
    return ping();
  }

  std::string name() const override { return ref_.registry + "/" + ref_.repository; }

  // --- requests ---
  struct Req {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;
    ByteSpan body;
    const ReadFn* body_read = nullptr;  // streamed body of body_size bytes
    uint64_t body_size = 0;
    uint64_t max_body = oci::kMaxJsonSize;
    bool auth = true;
  };

  // One request with retries on transport errors and 429/5xx; the caller
  // handles other statuses. Streamed bodies are not retried.
  Result<Response> perform(const Req& rq, const std::string& what) {
    for (int attempt = 0;; attempt++) {
      Response resp;
      // The header first: answering a challenge holds the auth lock and then
      // makes a request (lock order: auth, then request).
      std::string ah = rq.auth ? auth_header() : "";
      CURLcode rc;
      std::string err;
      bool overflow;
      std::optional<Error> upload_error;
      {
        // One shared handle (layers are read on several threads).
        std::lock_guard<std::mutex> l(req_mu_);
        rc = perform_once(rq, resp, ah);
        err = curl_text(rc, errbuf_);
        overflow = overflow_;
        upload_error = std::move(upload_error_);
      }
      bool last = attempt >= o_.retries || (rq.body_read != nullptr);
      if (rc != CURLE_OK) {
        if (rc == CURLE_ABORTED_BY_CALLBACK && upload_error) return std::move(*upload_error);
        if (retryable_curl(rc) && !last) {
          if (o_.verbose) std::fprintf(stderr, "+ retrying %s %s: %s\n", rq.method.c_str(), rq.url.c_str(), err.c_str());
          backoff(attempt);
          continue;
        }
        if (overflow) return input_error("{}: response larger than {} bytes", what, rq.max_body);
        return Error(ErrorKind::kIo, fmt::format("{}: {}", what, err));
      }
      if (retryable_status(resp.status) && !last) {
        backoff(attempt);
        continue;
      }
      return resp;
    }
  }

  CURLcode perform_once(const Req& rq, Response& resp, const std::string& ah) {
    curl_easy_reset(easy_);
    errbuf_[0] = 0;
    overflow_ = false;
    upload_error_.reset();
    apply_common(easy_, tls_, errbuf_);
    curl_easy_setopt(easy_, CURLOPT_URL, rq.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 10L);
    curl_slist* hl = nullptr;
    for (auto& h : rq.headers) hl = curl_slist_append(hl, h.c_str());
    if (!ah.empty()) hl = curl_slist_append(hl, ah.c_str());
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, hl);
    UploadSource up;
    if (rq.method == "HEAD") {
      curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    } else if (rq.method == "PUT" || rq.method == "PATCH" || rq.method == "POST") {
      curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
      if (rq.method != "PUT") curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, rq.method.c_str());
      if (rq.body_read) {
        up.read = rq.body_read;
        up.limit = rq.body_size;
        curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(rq.body_size));
      } else {
        up.span = rq.body;
        curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(rq.body.size()));
      }
      curl_easy_setopt(easy_, CURLOPT_READFUNCTION, upload_cb);
      curl_easy_setopt(easy_, CURLOPT_READDATA, &up);
    } else if (rq.method != "GET") {
      curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, rq.method.c_str());
    }
    BodySink sink{&resp.body, rq.max_body};
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &resp.headers);
    if (o_.verbose) std::fprintf(stderr, "+ %s %s\n", rq.method.c_str(), rq.url.c_str());
    CURLcode rc = curl_easy_perform(easy_);
    curl_slist_free_all(hl);
    overflow_ = sink.overflow;
    if (up.error) upload_error_ = std::move(up.error);
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &resp.status);
    char* eff = nullptr;
    curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &eff);
    if (eff) resp.effective_url = eff;
    return rc;
  }

  // "HTTP 401 (unauthorized: authentication required)": the registry's own words.
  static std::string status_text(const Response& r) {
    std::string t = oci::registry_error_text(r.body);
    if (t.empty() && r.status == 401) t = "unauthorized";
    if (t.empty() && !r.body.empty() && r.body.size() < 200) {
      t = trim(std::string(r.body.begin(), r.body.end()));
      for (auto& c : t)
        if (c == '\n' || c == '\r') c = ' ';
    }
    return t.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("{} (HTTP {})", t, r.status);
  }

  std::string base() const { return scheme_url_ + "/v2/" + ref_.repository; }

  // --- authentication ---
  std::string auth_header() {
    std::lock_guard<std::mutex> l(auth_mu_);
    if (scheme_ == "bearer" && !token_.empty()) return "Authorization: Bearer " + token_;
    if (scheme_ == "basic" && creds_)
      return "Authorization: Basic " +
             crypto_b64(creds_->username + ":" + creds_->password);
    return "";
  }
  static std::string crypto_b64(const std::string& s);

  Status ping() {
    std::vector<std::string> schemes = {"https"};
    if (!o_.tls_verify) schemes.push_back("http");
    std::optional<Error> first;
    for (auto& sch : schemes) {
      scheme_url_ = sch + "://" + ref_.api_host();
      Req rq;
      rq.url = scheme_url_ + "/v2/";
      rq.auth = false;
      auto r = perform(rq, fmt::format("pinging container registry {}", ref_.registry));
      if (!r.ok()) {
        if (!first) first = r.error();
        continue;
      }
      if (r->status == 200) return {};
      if (r->status == 401) return answer_challenge(*r, "");
      if (!first)
        first = Error(ErrorKind::kIo, fmt::format("pinging container registry {}: {}", ref_.registry, status_text(*r)));
    }
    return std::move(*first);
  }

  std::string scope(const std::string& extra) const {
    std::string s = "repository:" + ref_.repository + (push_ ? ":pull,push" : ":pull");
    return extra.empty() ? s : s + " " + extra;
  }

  // A 401 with a challenge: Basic uses the credentials; Bearer fetches a token.
  Status answer_challenge(const Response& r, const std::string& extra_scope) {
    auto chs = oci::parse_www_authenticate(r.headers.get("www-authenticate"));
    for (auto& c : chs) {
      if (c.scheme == "bearer") {
        std::lock_guard<std::mutex> l(auth_mu_);
        scheme_ = "bearer";
        challenge_ = c.params;
        return fetch_token(extra_scope);
      }
    }
    for (auto& c : chs)
      if (c.scheme == "basic") {
        std::lock_guard<std::mutex> l(auth_mu_);
        scheme_ = "basic";
        return {};
      }
    if (chs.empty()) return Error(ErrorKind::kIo, fmt::format("{}: 401 without a WWW-Authenticate challenge", ref_.registry));
    return unsupported_error("{}: unsupported authentication scheme \"{}\"", ref_.registry, chs[0].scheme);
  }

  // Caller holds auth_mu_.
  Status fetch_token(const std::string& extra_scope) {
    std::string realm = challenge_["realm"];
    if (realm.empty()) return input_error("{}: Bearer challenge without a realm", ref_.registry);
    if (!realm.starts_with("https://") && !realm.starts_with("http://"))
      return input_error("{}: Bearer realm \"{}\" is not an http(s) URL", ref_.registry, realm);
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    auto esc = [&](const std::string& s) {
      char* e = curl_easy_escape(easy_, s.c_str(), static_cast<int>(s.size()));
      std::string o = e ? e : "";
      curl_free(e);
      return o;
    };
    bool firstp = true;
    auto add = [&](const std::string& k, const std::string& v) {
      url += (firstp ? "" : "&") + k + "=" + esc(v);
      firstp = false;
    };
    if (!challenge_["service"].empty()) add("service", challenge_["service"]);
    std::string sc = scope(extra_scope);
    size_t i = 0;
    while (i <= sc.size()) {  // one scope= per scope
      size_t j = sc.find(' ', i);
      if (j == std::string::npos) j = sc.size();
      if (j > i) add("scope", sc.substr(i, j - i));
      i = j + 1;
    }
    Req rq;
    rq.url = url;
    rq.auth = false;
    if (creds_ && !creds_->username.empty())
      rq.headers.push_back("Authorization: Basic " + crypto_b64(creds_->username + ":" + creds_->password));
    auto r = perform(rq, fmt::format("requesting a bearer token from {}", realm));
    if (!r.ok()) return r.error();
    if (r->status != 200)
      return Error(ErrorKind::kIo, fmt::format("requesting a bearer token from {} for {}: {}", realm, name(), status_text(*r)));
    auto t = oci::parse_token_response(r->body);
    if (!t.ok()) return input_error("bearer token from {}: {}", realm, t.error().message());
    token_ = t->token;
    return {};
  }

  // A request with authentication: a 401 answers the new challenge
  // (expired token, insufficient_scope) and is retried once.
  Result<Response> authed(const Req& rq, const std::string& what) {
    auto r = BS_TRY(perform(rq, what));
    if (r.status == 401 && !rq.body_read) {
      Status st = answer_challenge(r, "");
      if (!st.ok()) return Error(st.error()).context(what);
      r = BS_TRY(perform(rq, what));
    }
    return r;
  }

  Status reauth_after(const Response& r) { return answer_challenge(r, ""); }

  // --- pull ---
  Result<FetchedManifest> get_manifest(const std::string& ref, const oci::Descriptor* want) override {
    std::string what = fmt::format("reading manifest {} in {}", ref, name());
    Req rq;
    rq.url = base() + "/manifests/" + ref;
    rq.headers.push_back(std::string("Accept: ") + oci::kManifestAccept);
    auto r = BS_TRY(authed(rq, what));
    if (r.status != 200) return Error(r.status == 404 ? ErrorKind::kInput : ErrorKind::kIo, fmt::format("{}: {}", what, status_text(r)));
    FetchedManifest m;
    m.body = std::move(r.body);
    std::string ct = r.headers.get("content-type");
    ct = trim(ct.substr(0, ct.find(';')));
    m.media_type = ct;
    // The digest: what was asked for, else what the registry says, else sha256.
    std::optional<oci::Digest> expect;
    std::string expect_from;
    if (auto d = oci::parse_digest(ref); d.ok()) {
      expect = *d;
      expect_from = "the digest asked for";
    }
    if (want) {
      if (expect && !(*expect == want->digest))
        return internal_error("{}: asked for {} but the index entry is {}", what, ref, want->digest.str());
      expect = want->digest;
      expect_from = "the index entry";
      if (want->size && m.body.size() != want->size)
        return check_error("manifest {} from {}: {} bytes served, the index entry says {}", want->digest.str(), name(),
                           m.body.size(), want->size);
    }
    std::string dcd = r.headers.get("docker-content-digest");
    std::optional<oci::Digest> header;
    if (!dcd.empty()) {
      auto d = oci::parse_digest(dcd);
      if (!d.ok()) return input_error("{}: bad Docker-Content-Digest \"{}\"", what, dcd);
      header = *d;
    }
    std::string alg = expect ? expect->algorithm : header ? header->algorithm : "sha256";
    auto halg = alg == "sha512" ? crypto::HashAlg::kSha512 : crypto::HashAlg::kSha256;
    m.digest = {alg, to_hex(crypto::digest(halg, m.body))};
    if (expect && !(m.digest == *expect))
      return check_error("manifest {} from {}: digest mismatch: content is {} (checked against {})", expect->str(), name(),
                         m.digest.str(), expect_from);
    if (header) {
      oci::Digest hd = header->algorithm == alg
                           ? m.digest
                           : oci::Digest{header->algorithm,
                                         to_hex(crypto::digest(header->algorithm == "sha512" ? crypto::HashAlg::kSha512
                                                                                             : crypto::HashAlg::kSha256,
                                                               m.body))};
      if (!(hd == *header))
        return check_error("manifest {} from {}: digest mismatch: Docker-Content-Digest says {}, content is {}", ref, name(),
                           header->str(), hd.str());
    }
    if (!m.media_type.empty() && !oci::is_manifest_media_type(m.media_type))
      return unsupported_error("manifest {} from {}: unsupported media type \"{}\"", ref, name(), m.media_type);
    auto doc_type = oci::manifest_document_media_type(m.body);
    if (!doc_type.ok()) return input_error("manifest {} from {}: {}", ref, name(), doc_type.error().message());
    if (m.media_type.empty()) {
      if (!oci::is_manifest_media_type(*doc_type))
        return unsupported_error("manifest {} from {}: no Content-Type and an unsupported mediaType \"{}\"", ref, name(),
                                 *doc_type);
      m.media_type = *doc_type;
    }
    if (!doc_type->empty() && *doc_type != m.media_type)
      return input_error("manifest {} from {}: served as \"{}\" but its mediaType is \"{}\"", ref, name(), m.media_type,
                         *doc_type);
    return m;
  }

  Result<Bytes> get_blob_small(const oci::Digest& d, uint64_t size) override {
    std::string what = fmt::format("reading blob {} from {}", d.str(), name());
    if (size > oci::kMaxJsonSize) return input_error("{}: descriptor size {} too large", what, size);
    Req rq;
    rq.url = base() + "/blobs/" + d.str();
    auto r = BS_TRY(authed(rq, what));
    if (r.status != 200) return Error(ErrorKind::kIo, fmt::format("{}: {}", what, status_text(r)));
    if (size && r.body.size() != size)
      return check_error("blob {} from {}: {} bytes, its descriptor says {}", d.str(), name(), r.body.size(), size);
    auto halg = d.algorithm == "sha512" ? crypto::HashAlg::kSha512 : crypto::HashAlg::kSha256;
    std::string got = to_hex(crypto::digest(halg, r.body));
    if (got != d.hex) return check_error("blob {} from {}: digest mismatch: content is {}:{}", d.str(), name(), d.algorithm, got);
    return std::move(r.body);
  }

  Result<std::unique_ptr<BlobReader>> open_blob(const oci::Digest& d, uint64_t size) override {
    auto b = std::make_unique<CurlBlobReader>(this, base() + "/blobs/" + d.str(),
                                              fmt::format("blob {} from {}", d.str(), name()), d.hex, size, o_.retries);
    BS_TRY(b->start());
    return std::unique_ptr<BlobReader>(std::move(b));
  }

  // --- push ---
  Result<bool> blob_exists(const oci::Digest& d) override {
    std::string what = fmt::format("checking whether blob {} exists in {}", d.str(), name());
    Req rq;
    rq.method = "HEAD";
    rq.url = base() + "/blobs/" + d.str();
    auto r = BS_TRY(authed(rq, what));
    if (r.status == 200) return true;
    if (r.status == 404) return false;
    return Error(ErrorKind::kIo, fmt::format("{}: {}", what, status_text(r)));
  }

  // Resolves a Location (relative or absolute) against the registry URL.
  std::string resolve_location(const Response& r) {
    std::string loc = r.headers.get("location");
    if (loc.empty()) return {};
    CURLU* u = curl_url();
    std::string out;
    if (curl_url_set(u, CURLUPART_URL, r.effective_url.empty() ? (scheme_url_ + "/").c_str() : r.effective_url.c_str(), 0) ==
            CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, loc.c_str(), 0) == CURLUE_OK) {
      char* s = nullptr;
      if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) out = s;
      curl_free(s);
    }
    curl_url_cleanup(u);
    return out;
  }

  static std::string with_query(const std::string& url, const std::string& q) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + q;
  }

  Result<bool> mount_blob(const oci::Digest& d, const std::string& from) override {
    std::string what = fmt::format("mounting blob {} from {} into {}", d.str(), from, name());
    Req rq;
    rq.method = "POST";
    rq.url = base() + "/blobs/uploads/?mount=" + d.str() + "&from=" + from;
    if (scheme_ == "bearer") {
      std::lock_guard<std::mutex> l(auth_mu_);
      BS_TRY(fetch_token("repository:" + from + ":pull"));
    }
    auto r = BS_TRY(authed(rq, what));
    if (r.status == 201) return true;
    if (r.status == 202) {
      // An upload session was opened instead: cancel it.
      std::string loc = resolve_location(r);
      if (!loc.empty()) {
        Req del;
        del.method = "DELETE";
        del.url = loc;
        (void)perform(del, what);
      }
      return false;
    }
    return Error(ErrorKind::kIo, fmt::format("{}: {}", what, status_text(r)));
  }

  Status upload_blob(const oci::Digest& d, uint64_t size, const ReadFn& read, uint64_t chunk) override {
    std::string what = fmt::format("writing blob {} to {}", d.str(), name());
    Req post;
    post.method = "POST";
    post.url = base() + "/blobs/uploads/";
    auto r = BS_TRY(authed(post, what));
    if (r.status != 202) return Error(ErrorKind::kIo, fmt::format("{}: starting the upload: {}", what, status_text(r)));
    std::string loc = resolve_location(r);
    if (loc.empty()) return Error(ErrorKind::kIo, fmt::format("{}: upload session without a Location", what));
    if (chunk) {
      std::string minlen = r.headers.get("oci-chunk-min-length");
      if (!minlen.empty()) chunk = std::max<uint64_t>(chunk, std::strtoull(minlen.c_str(), nullptr, 10));
      uint64_t off = 0;
      while (off < size) {
        uint64_t n = std::min(chunk, size - off);
        Req p;
        p.method = "PATCH";
        p.url = loc;
        p.body_read = &read;
        p.body_size = n;
        p.headers.push_back("Content-Type: application/octet-stream");
        p.headers.push_back(fmt::format("Content-Range: {}-{}", off, off + n - 1));
        auto pr = BS_TRY(perform(p, what));
        if (pr.status != 202) return Error(ErrorKind::kIo, fmt::format("{}: chunk at {}: {}", what, off, status_text(pr)));
        loc = resolve_location(pr);
        if (loc.empty()) return Error(ErrorKind::kIo, fmt::format("{}: chunk answer without a Location", what));
        off += n;
      }
      Req put;
      put.method = "PUT";
      put.url = with_query(loc, "digest=" + d.str());
      put.headers.push_back("Content-Type: application/octet-stream");
      auto pr = BS_TRY(perform(put, what));
      if (pr.status != 201) return Error(ErrorKind::kIo, fmt::format("{}: {}", what, status_text(pr)));
      return {};
    }
    Req put;
    put.method = "PUT";
    put.url = with_query(loc, "digest=" + d.str());
    put.body_read = &read;
    put.body_size = size;
    put.headers.push_back("Content-Type: application/octet-stream");
    auto pr = BS_TRY(perform(put, what));
    if (pr.status != 201) return Error(ErrorKind::kIo, fmt::format("{}: {}", what, status_text(pr)));
    return {};
  }

  Status put_manifest(const std::string& ref, ByteSpan body, const std::string& media_type) override {
    std::string what = fmt::format("writing manifest {} to {}", ref, name());
    Req rq;
    rq.method = "PUT";
    rq.url = base() + "/manifests/" + ref;
    rq.body = body;
    rq.headers.push_back("Content-Type: " + media_type);
    auto r = BS_TRY(authed(rq, what));
    if (r.status != 201 && r.status != 200) return Error(ErrorKind::kIo, fmt::format("{}: {}", what, status_text(r)));
    return {};
  }

  const TlsConfig& tls() const { return tls_; }
  const Options& options() const { return o_; }

 private:
  oci::DockerReference ref_;
  Options o_;
  bool push_ = false;
  TlsConfig tls_;
  std::optional<oci::Credentials> creds_;
  CURL* easy_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  bool overflow_ = false;
  std::optional<Error> upload_error_;
  std::string scheme_url_;
  std::mutex req_mu_;   // easy_, errbuf_, overflow_, upload_error_
  std::mutex auth_mu_;  // scheme_, challenge_, token_
  std::string scheme_;  // "", "basic", "bearer"
  std::map<std::string, std::string> challenge_;
  std::string token_;
};

}  // namespace
}  // namespace bootseal::registry

#include "crypto/pem.h"

namespace bootseal::registry {
namespace {

std::string CurlClient::crypto_b64(const std::string& s) {
  return crypto::base64_encode(ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

Status CurlBlobReader::start() {
  stop();
  easy_ = curl_easy_init();
  multi_ = curl_multi_init();
  if (!easy_ || !multi_) return internal_error("{}: curl initialisation failed", what_);
  errbuf_[0] = 0;
  headers_.h.clear();
  checked_status_ = false;
  status_ = 0;
  error_body_.clear();
  paused_ = false;
  done_ = false;
  start_at_ = delivered_ + (buf_.size() - buf_pos_);
  skip_ = 0;
  apply_common(easy_, client_->tls(), errbuf_);
  curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 10L);
  std::string ah = client_->auth_header();
  if (!ah.empty()) hdrs_ = curl_slist_append(hdrs_, ah.c_str());
  if (start_at_ > 0) hdrs_ = curl_slist_append(hdrs_, fmt::format("Range: bytes={}-", start_at_).c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, hdrs_);
  curl_easy_setopt(easy_, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer, larger callbacks for blob bodies
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &headers_);
  if (client_->options().verbose)
    std::fprintf(stderr, "+ GET %s%s\n", url_.c_str(), start_at_ ? fmt::format(" (from byte {})", start_at_).c_str() : "");
  curl_multi_add_handle(multi_, easy_);
  return {};
}

size_t CurlBlobReader::write_cb(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<CurlBlobReader*>(ud);
  size_t len = size * n;
  if (!s->checked_status_) {
    s->checked_status_ = true;
    curl_easy_getinfo(s->easy_, CURLINFO_RESPONSE_CODE, &s->status_);
    if (s->status_ == 206) {
      auto st = oci::parse_content_range_start(s->headers_.get("content-range"));
      if (!st || *st != s->start_at_) {
        s->cb_error_ = Error(ErrorKind::kIo, fmt::format("{}: resumed at byte {} but the server sent Content-Range \"{}\"",
                                                         s->what_, s->start_at_, s->headers_.get("content-range")));
        return 0;
      }
    } else if (s->status_ == 200) {
      s->skip_ = s->start_at_;  // the server ignored Range: drop what we have
    }
  }
  if (s->status_ != 200 && s->status_ != 206) {
    if (s->error_body_.size() + len <= kMaxErrorBody) s->error_body_.insert(s->error_body_.end(), p, p + len);
    return len;
  }
  if (s->buf_.size() - s->buf_pos_ >= kPauseAt) {
    s->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  const uint8_t* d = reinterpret_cast<const uint8_t*>(p);
  size_t k = len;
  if (s->skip_) {
    size_t drop = static_cast<size_t>(std::min<uint64_t>(s->skip_, k));
    s->skip_ -= drop;
    d += drop;
    k -= drop;
  }
  if (s->buf_pos_ > 0 && s->buf_pos_ == s->buf_.size()) {
    s->buf_.clear();
    s->buf_pos_ = 0;
  }
  s->buf_.insert(s->buf_.end(), d, d + k);
  return len;
}

Result<bool> CurlBlobReader::finished_transfer(CURLcode rc) {
  uint64_t have = delivered_ + (buf_.size() - buf_pos_);
  if (cb_error_) return std::move(*cb_error_);
  if (rc == CURLE_OK) {
    if (status_ == 401 && !auth_retried_) {
      auth_retried_ = true;
      Response r;
      r.status = status_;
      r.headers = headers_;
      r.body = error_body_;
      BS_TRY(client_->reauth_after(r));
      BS_TRY(start());
      return false;
    }
    if (status_ != 200 && status_ != 206) {
      Response r;
      r.status = status_;
      r.body = error_body_;
      if (retryable_status(status_) && attempt_ < retries_) {
        backoff(attempt_++);
        BS_TRY(start());
        return false;
      }
      return Error(ErrorKind::kIo, fmt::format("reading {}: {}", what_, CurlClient::status_text(r)));
    }
    if (size_ && have < size_) rc = CURLE_PARTIAL_FILE;  // closed early without an error
    else return true;
  }
  if (retryable_curl(rc) && attempt_ < retries_) {
    if (client_->options().verbose)
      std::fprintf(stderr, "+ %s interrupted at byte %llu (%s): resuming\n", what_.c_str(),
                   static_cast<unsigned long long>(have), curl_text(rc, errbuf_).c_str());
    backoff(attempt_++);
    if (have > 0) resumed_++;
    BS_TRY(start());
    return false;
  }
  return Error(ErrorKind::kIo, fmt::format("reading {}: {} (after {} bytes{})", what_, curl_text(rc, errbuf_), have,
                                           attempt_ ? fmt::format(", {} retries", attempt_) : ""));
}

Result<size_t> CurlBlobReader::read(uint8_t* out, size_t n) {
  for (;;) {
    if (buf_pos_ < buf_.size()) {
      size_t k = std::min(n, buf_.size() - buf_pos_);
      std::memcpy(out, buf_.data() + buf_pos_, k);
      buf_pos_ += k;
      delivered_ += k;
      if (buf_pos_ == buf_.size()) {
        buf_.clear();
        buf_pos_ = 0;
      }
      if (client_->options().progress) Progress::get().update(id_, delivered_, size_, false);
      if (paused_ && buf_.size() - buf_pos_ < kPauseAt / 2) {
        paused_ = false;
        curl_easy_pause(easy_, CURLPAUSE_CONT);
      }
      return k;
    }
    if (eof_) return size_t{0};
    if (paused_) {
      paused_ = false;
      curl_easy_pause(easy_, CURLPAUSE_CONT);
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi_, &running);
    if (mc != CURLM_OK) return internal_error("{}: {}", what_, curl_multi_strerror(mc));
    if (buf_pos_ < buf_.size()) continue;
    if (!running) {
      CURLcode rc = CURLE_OK;
      int q = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &q))
        if (m->msg == CURLMSG_DONE) rc = m->data.result;
      bool all = BS_TRY(finished_transfer(rc));
      if (all) {
        if (buf_pos_ < buf_.size()) continue;
        eof_ = true;
        if (client_->options().progress) Progress::get().update(id_, delivered_, size_, true);
        return size_t{0};
      }
      continue;
    }
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(const oci::DockerReference& ref, const Options& o, bool push) {
  auto c = std::make_unique<CurlClient>(ref, o);
  BS_TRY(c->init(push));
  return std::unique_ptr<Client>(std::move(c));
}

}  // namespace bootseal::registry
