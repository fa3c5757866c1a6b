#include "store/source.h"


#include <optional>
#include <set>

#include "base/hex.h"
#include "crypto/hash.h"
#include "oci/apply.h"
#include "store/async_hasher.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/repo_io.h"
#include "sys/tree.h"

namespace bootseal::store {

namespace {

constexpr int kMaxIndexDepth = 4;       // image indexes inside image indexes
constexpr int kMaxArchiveSymlinks = 8;  // symlinked members followed in a docker-archive

// A readable stream of bytes.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual Result<size_t> read(uint8_t* buf, size_t n) = 0;
};

class FileStream : public Stream {
 public:
  FileStream(sys::Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Result<size_t> read(uint8_t* buf, size_t n) override {
    size_t got = BS_TRY(sys::pread_full(fd_.get(), buf, n, off_, path_));
    off_ += got;
    return got;
  }
  // Skips forward (for outer archives; never for hashed blobs).
  Result<int64_t> skip(int64_t n) {
    off_ += static_cast<uint64_t>(n);
    return n;
  }

 private:
  sys::Fd fd_;
  std::string path_;
  uint64_t off_ = 0;
};

// Hashes everything read through it; check() compares digest and size.
class HashingStream : public Stream {
 public:
  // `background`: hash on a thread of its own (layers; JSON blobs are small).
  HashingStream(std::unique_ptr<Stream> inner, oci::Digest want, uint64_t want_size, std::string what,
                bool background = false)
      : inner_(std::move(inner)), want_(std::move(want)), want_size_(want_size), what_(std::move(what)) {
    auto alg = want_.algorithm == "sha512" ? crypto::HashAlg::kSha512 : crypto::HashAlg::kSha256;
    if (background)
      async_ = std::make_unique<AsyncHasher>(alg);
    else
      sync_.emplace(alg);
  }
  Result<size_t> read(uint8_t* buf, size_t n) override {
    size_t got = BS_TRY(inner_->read(buf, n));
    if (async_)
      async_->update(ByteSpan(buf, got));
    else
      sync_->update(ByteSpan(buf, got));
    size_ += got;
    if (want_size_ && size_ > want_size_)
      return input_error("{}: blob is larger than the {} bytes its descriptor says", what_, want_size_);
    return got;
  }
  Status drain_and_check() {
    uint8_t buf[65536];
    while (BS_TRY(read(buf, sizeof buf)) > 0) {
    }
    if (want_size_ && size_ != want_size_)
      return input_error("{}: blob is {} bytes, its descriptor says {}", what_, size_, want_size_);
    std::string got = to_hex(async_ ? async_->finish() : sync_->finish());
    if (got != want_.hex)
      return input_error("{}: digest mismatch: content is {}:{}", what_, want_.algorithm, got);
    return {};
  }

 private:
  std::unique_ptr<Stream> inner_;
  std::optional<crypto::Hasher> sync_;
  std::unique_ptr<AsyncHasher> async_;
  oci::Digest want_;
  uint64_t want_size_;
  std::string what_;
  uint64_t size_ = 0;
};

// Everything `hs` yields into `sink`, then its digest and size checked.
Status drain_to(HashingStream& hs, const ImageSource::SinkFn& sink) {
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    size_t n = BS_TRY(hs.read(buf.data(), buf.size()));
    if (n == 0) break;
    BS_TRY(sink(ByteSpan(buf.data(), n)));
  }
  return hs.drain_and_check();
}

// Where blobs live: a directory or an archive.
class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Opens a member by its path relative to the layout ("blobs/sha256/…").
  virtual Result<std::unique_ptr<Stream>> open(const std::string& rel) = 0;
  virtual std::string describe(const std::string& rel) const = 0;

  Result<Bytes> read_small(const std::string& rel) {
    auto s = BS_TRY(open(rel));
    Bytes out;
    uint8_t buf[65536];
    for (;;) {
      size_t n = BS_TRY(s->read(buf, sizeof buf));
      if (n == 0) break;
      if (out.size() + n > oci::kMaxJsonSize)
        return input_error("{}: larger than {} bytes", describe(rel), oci::kMaxJsonSize);
      out.insert(out.end(), buf, buf + n);
    }
    return out;
  }
  // A blob checked against its digest.
  Result<Bytes> read_blob(const oci::Digest& d, uint64_t size) {
    std::string rel = "blobs/" + d.algorithm + "/" + d.hex;
    if (size > oci::kMaxJsonSize) return input_error("{}: descriptor size {} too large", describe(rel), size);
    HashingStream hs(BS_TRY(open(rel)), d, size, describe(rel));
    Bytes out;
    uint8_t buf[65536];
    for (;;) {
      size_t n = BS_TRY(hs.read(buf, sizeof buf));
      if (n == 0) break;
      out.insert(out.end(), buf, buf + n);
    }
    BS_TRY(hs.drain_and_check());
    return out;
  }
};

class DirBlobs : public BlobStore {
 public:
  explicit DirBlobs(std::string dir) : dir_(std::move(dir)) {}
  Result<std::unique_ptr<Stream>> open(const std::string& rel) override {
    std::string p = dir_ + "/" + rel;
    auto fd = sys::open_regular(p);
    if (!fd.ok()) return Error(fd.error());
    return std::unique_ptr<Stream>(new FileStream(std::move(*fd), p));
  }
  std::string describe(const std::string& rel) const override { return dir_ + "/" + rel; }

 private:
  std::string dir_;
};

// A member of a tar archive, read by scanning the archive up to it (the
// scan skips other members' data with lseek).
class MemberStream : public Stream {
 public:
  std::unique_ptr<FileStream> file;
  std::unique_ptr<tar::Reader> outer;
  Result<size_t> read(uint8_t* buf, size_t n) override { return outer->read(buf, n); }
};

std::string normalize_member(const std::string& p) {
  auto comps = oci::normalize_path(p);
  if (!comps.ok()) return p;
  std::string out;
  for (auto& c : *comps) out += (out.empty() ? "" : "/") + c;
  return out;
}

// A member path with ".." resolved lexically; escaping the archive's root is
// an error.
Result<std::string> resolve_member(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string c = p.substr(i, j - i);
    if (c == "..") {
      if (out.empty()) return input_error("link target \"{}\" leaves the archive", p);
      out.pop_back();
    } else if (!c.empty() && c != ".") {
      out.push_back(c);
    }
    i = j + 1;
  }
  std::string r;
  for (auto& c : out) r += (r.empty() ? "" : "/") + c;
  return r;
}

class ArchiveBlobs : public BlobStore {
 public:
  explicit ArchiveBlobs(std::string file) : file_(std::move(file)) {}
  Result<std::unique_ptr<Stream>> open(const std::string& rel) override { return open_at_depth(rel, 0); }
  Result<std::unique_ptr<Stream>> open_at_depth(const std::string& rel, int depth) {
    auto m = std::make_unique<MemberStream>();
    sys::Fd fd = BS_TRY(sys::open_regular(file_));
    m->file = std::make_unique<FileStream>(std::move(fd), file_);
    FileStream* fs = m->file.get();
    m->outer = BS_TRY(tar::Reader::open([fs](uint8_t* b, size_t n) { return fs->read(b, n); }, file_,
                                        [fs](int64_t n) { return fs->skip(n); }));
    std::string want = normalize_member(rel);
    tar::Entry e;
    while (BS_TRY(m->outer->next(e))) {
      if (normalize_member(e.path) != want) continue;
      if (e.type == tar::EntryType::kRegular) return std::unique_ptr<Stream>(std::move(m));
      // docker save writes a layer used twice once, and the second
      // <id>/layer.tar as a symlink (or hardlink) to the first; skopeo and
      // podman write legacy <id>/layer.tar symlinks too.
      if ((e.type == tar::EntryType::kSymlink || e.type == tar::EntryType::kHardlink) && depth < kMaxArchiveSymlinks) {
        std::string target = e.type == tar::EntryType::kSymlink && !e.link_target.starts_with("/")
                                 ? sys::dirname_of("/" + want).substr(1) + "/" + e.link_target
                                 : e.link_target;
        std::string resolved = BS_TRY_CTX(resolve_member(target), "{}: member {}", file_, rel);
        return open_at_depth(resolved, depth + 1);
      }
      return input_error("{}: member {} is a {}, not a file", file_, rel, tar::type_name(e.type));
    }
    return input_error("{}: no member {}", file_, rel);
  }
  std::string describe(const std::string& rel) const override { return file_ + ":" + rel; }

 private:
  std::string file_;
};

class BlobLayerStream : public LayerStream {
 public:
  static Result<std::unique_ptr<LayerStream>> open(BlobStore& blobs, const std::string& rel, const LayerInfo& l) {
    return open_stream(BS_TRY(blobs.open(rel)), blobs.describe(rel), l);
  }
  static Result<std::unique_ptr<LayerStream>> open_stream(std::unique_ptr<Stream> in, const std::string& what,
                                                          const LayerInfo& l) {
    std::unique_ptr<BlobLayerStream> s(new BlobLayerStream());
    s->reader_name_ = l.digest.str();
    s->hs_ = std::make_unique<HashingStream>(std::move(in), l.digest, l.size, what, true);
    HashingStream* hs = s->hs_.get();
    std::function<void(ByteSpan)> hook;
    if (l.diff_id && l.diff_id->algorithm == "sha256" && l.diff_id->hex != l.digest.hex) {
      s->diff_id_ = *l.diff_id;
      s->tar_hash_ = std::make_unique<AsyncHasher>(crypto::HashAlg::kSha256);
      AsyncHasher* th = s->tar_hash_.get();
      hook = [th](ByteSpan d) { th->update(d); };
    }
    auto rd = tar::Reader::open([hs](uint8_t* b, size_t n) { return hs->read(b, n); }, "layer " + l.digest.str(), {},
                                std::move(hook));
    if (!rd.ok()) return s->explain_failure(rd.error());  // e.g. gzip damage right at the start
    s->reader_ = std::move(*rd);
    return std::unique_ptr<LayerStream>(std::move(s));
  }
  Error explain_failure(Error failure) override {
    reader_.reset();
    Status st = hs_->drain_and_check();
    // Intact, or unreadable (the transfer failed: that is the failure); a mismatch is
    // bad input (docs/cli.md), as the stream's own check reports it.
    if (st.ok() || st.error().kind() != ErrorKind::kInput) return failure;
    return input_error("{} (reading the layer had failed: {})", st.error().message(), failure.message());
  }
  Status finish() override {
    BS_TRY(reader_->drain_input());
    reader_.reset();  // libarchive may hold unread buffered input: the hasher saw it already
    BS_TRY(hs_->drain_and_check());
    if (tar_hash_) {
      std::string got = to_hex(tar_hash_->finish());
      if (got != diff_id_.hex)
        return input_error("layer {}: uncompressed content is sha256:{}, the config's diff_id says {}",
                           reader_name_, got, diff_id_.str());
    }
    return {};
  }

 private:
  std::unique_ptr<HashingStream> hs_;
  std::unique_ptr<AsyncHasher> tar_hash_;
  oci::Digest diff_id_;
  std::string reader_name_;
};

// An image manifest's layers with their config's diff_ids, every media type a layer
// one (OCI layouts and registries alike).
Result<std::vector<LayerInfo>> manifest_layers(const oci::Manifest& m, const oci::Config& config,
                                               const std::string& source) {
  if (config.diff_ids.size() != m.layers.size())
    return input_error("{}: manifest has {} layers, config has {} diff_ids", source, m.layers.size(),
                       config.diff_ids.size());
  std::vector<LayerInfo> out;
  for (size_t i = 0; i < m.layers.size(); i++) {
    auto& l = m.layers[i];
    if (!oci::is_layer_media_type(l.media_type))
      return unsupported_error("{}: layer {} has unsupported media type \"{}\"", source, l.digest.str(), l.media_type);
    out.push_back({l.digest, l.media_type, l.size, config.diff_ids[i]});
  }
  return out;
}

class OciSource : public ImageSource {
 public:
  OciSource(std::unique_ptr<BlobStore> blobs, std::string source, std::optional<std::string> tag)
      : blobs_(std::move(blobs)), source_(std::move(source)), tag_(std::move(tag)) {}

  Result<ResolvedImage> resolve(const oci::Platform& platform) override {
    ResolvedImage r;
    r.source = source_;
    Bytes idx_bytes = BS_TRY_CTX(blobs_->read_small("index.json"), "{}", source_);
    oci::Index idx = BS_TRY_CTX(oci::parse_index(idx_bytes), "{}", blobs_->describe("index.json"));
    oci::Descriptor d = BS_TRY_CTX(oci::select_manifest(idx, tag_, platform), "{}", source_);
    // Nested indexes (a multi-arch image under a tag): by the blob's own
    // content, not only the descriptor's mediaType, which some writers omit.
    Bytes mb;
    for (int depth = 0;; depth++) {
      mb = BS_TRY(blobs_->read_blob(d.digest, d.size));
      if (!oci::is_index_media_type(d.media_type) && !oci::is_index_document(mb)) break;
      if (depth >= kMaxIndexDepth) return input_error("{}: image indexes nested too deeply", source_);
      oci::Index sub = BS_TRY_CTX(oci::parse_index(mb), "{}: image index {}", source_, d.digest.str());
      d = BS_TRY_CTX(oci::select_manifest(sub, std::nullopt, platform), "{}: image index {}", source_, d.digest.str());
    }
    oci::Manifest m = BS_TRY_CTX(oci::parse_manifest(mb), "manifest {}", d.digest.str());
    r.manifest_digest = d.digest;
    Bytes cb = BS_TRY(blobs_->read_blob(m.config.digest, m.config.size));
    r.config = BS_TRY_CTX(oci::parse_config(cb), "config {}", m.config.digest.str());
    r.config_json = cb;
    r.config_digest = m.config.digest;
    r.layers = BS_TRY(manifest_layers(m, r.config, source_));
    r.manifest_bytes = std::move(mb);
    r.config_bytes = std::move(cb);
    return r;
  }

  Result<std::unique_ptr<LayerStream>> open_layer(const LayerInfo& l) override {
    return BlobLayerStream::open(*blobs_, "blobs/" + l.digest.algorithm + "/" + l.digest.hex, l);
  }

  Status read_blob(const LayerInfo& l, const SinkFn& sink) override {
    std::string rel = "blobs/" + l.digest.algorithm + "/" + l.digest.hex;
    HashingStream hs(BS_TRY(blobs_->open(rel)), l.digest, l.size, blobs_->describe(rel));
    return drain_to(hs, sink);
  }

 private:
  std::unique_ptr<BlobStore> blobs_;
  std::string source_;
  std::optional<std::string> tag_;
};

class DockerArchiveSource : public ImageSource {
 public:
  DockerArchiveSource(std::string file, std::string source, std::optional<std::string> ref)
      : blobs_(std::make_unique<ArchiveBlobs>(file)), source_(std::move(source)), ref_(std::move(ref)) {}

  Result<ResolvedImage> resolve(const oci::Platform&) override {
    Bytes mj = BS_TRY_CTX(blobs_->read_small("manifest.json"), "{}", source_);
    auto entries = BS_TRY_CTX(oci::parse_docker_manifest(mj), "{}", source_);
    size_t pick = BS_TRY_CTX(oci::select_docker_archive_entry(entries, ref_), "{}", source_);
    auto& e = entries[pick];
    ResolvedImage r;
    r.source = source_;
    Bytes cb = BS_TRY(blobs_->read_small(e.config));
    r.config_digest = {"sha256", to_hex(crypto::digest(crypto::HashAlg::kSha256, cb))};
    // The config is named by its digest ("<hex>.json", docker >= 25
    // "blobs/sha256/<hex>"): check it as every other blob is checked.
    std::string cname = normalize_member(e.config);
    cname = cname.substr(cname.rfind('/') == std::string::npos ? 0 : cname.rfind('/') + 1);
    if (cname.ends_with(".json")) cname.resize(cname.size() - 5);
    if (oci::parse_digest("sha256:" + cname).ok() && cname != r.config_digest.hex)
      return input_error("{}: digest mismatch: content is {}", blobs_->describe(e.config), r.config_digest.str());
    r.config = BS_TRY_CTX(oci::parse_config(cb), "{}", blobs_->describe(e.config));
    r.config_json = cb;
    if (r.config.diff_ids.size() != e.layers.size())
      return input_error("{}: manifest.json has {} layers, config has {} diff_ids", source_, e.layers.size(),
                         r.config.diff_ids.size());
    for (size_t i = 0; i < e.layers.size(); i++) {
      LayerInfo l;
      // docker >= 25 stores OCI-style blobs/sha256/<hex>: the file's own digest.
      std::string p = normalize_member(e.layers[i]);
      if (p.starts_with("blobs/sha256/") && oci::parse_digest("sha256:" + p.substr(13)).ok())
        l.digest = {"sha256", p.substr(13)};
      else
        l.digest = r.config.diff_ids[i];
      layer_paths_[l.digest.str()] = e.layers[i];
      r.layers.push_back(l);
    }
    return r;
  }

  Result<std::unique_ptr<LayerStream>> open_layer(const LayerInfo& l) override {
    auto it = layer_paths_.find(l.digest.str());
    if (it == layer_paths_.end()) return internal_error("layer {} not resolved", l.digest.str());
    return BlobLayerStream::open(*blobs_, it->second, l);
  }

 private:
  std::unique_ptr<BlobStore> blobs_;
  std::string source_;
  std::optional<std::string> ref_;
  std::map<std::string, std::string> layer_paths_;
};

// A registry blob as a Stream.
class RegistryStream : public Stream {
 public:
  explicit RegistryStream(std::unique_ptr<registry::BlobReader> r) : r_(std::move(r)) {}
  Result<size_t> read(uint8_t* buf, size_t n) override { return r_->read(buf, n); }

 private:
  std::unique_ptr<registry::BlobReader> r_;
};

// docker://: manifests and configs fetched and checked by the client
// (registry/client.h), layers streamed and checked here as they are read.
// containers-storage:NAME: the containers tooling writes the image as an
// oci-archive into a temporary directory (podman image save, else skopeo
// copy), which is read as such and removed with the source.
class ContainersStorageSource : public ImageSource {
 public:
  ~ContainersStorageSource() override {
    inner_.reset();
    if (!dir_.empty()) (void)sys::remove_tree(dir_);
  }
  static Result<std::unique_ptr<ImageSource>> open(const std::string& name, const std::string& original) {
    std::unique_ptr<ContainersStorageSource> s(new ContainersStorageSource());
    s->dir_ = BS_TRY(sys::make_temp_dir("bootseal-containers-storage."));
    std::string file = s->dir_ + "/image.tar";
    std::vector<std::string> argv;
    if (sys::find_program("podman"))
      argv = {"podman", "image", "save", "--quiet", "--format", "oci-archive", "--output", file, name};
    else if (sys::find_program("skopeo"))
      argv = {"skopeo", "copy", "--quiet", "containers-storage:" + name, "oci-archive:" + file};
    else
      return unsupported_error("{}: neither podman nor skopeo is installed (containers-storage: is read through them)", original);
    auto r = sys::run_capture(argv);
    if (!r.ok()) return std::move(r).error().context(original);
    s->inner_ = std::make_unique<OciSource>(std::make_unique<ArchiveBlobs>(file), original, std::nullopt);
    return std::unique_ptr<ImageSource>(std::move(s));
  }
  Result<ResolvedImage> resolve(const oci::Platform& platform) override { return inner_->resolve(platform); }
  Result<std::unique_ptr<LayerStream>> open_layer(const LayerInfo& layer) override { return inner_->open_layer(layer); }

 private:
  ContainersStorageSource() = default;
  std::string dir_;
  std::unique_ptr<ImageSource> inner_;
};

class RegistrySource : public ImageSource {
 public:
  RegistrySource(std::unique_ptr<registry::Client> c, oci::DockerReference ref, std::string source)
      : client_(std::move(c)), ref_(std::move(ref)), source_(std::move(source)) {}

  Result<ResolvedImage> resolve(const oci::Platform& platform) override {
    ResolvedImage r;
    r.source = source_;
    registry::FetchedManifest fm = BS_TRY(client_->get_manifest(ref_.manifest_ref()));
    for (int depth = 0; oci::is_index_media_type(fm.media_type) || oci::is_index_document(fm.body); depth++) {
      if (depth >= kMaxIndexDepth) return input_error("{}: image indexes nested too deeply", source_);
      oci::Index idx = BS_TRY_CTX(oci::parse_index(fm.body), "{}: image index {}", source_, fm.digest.str());
      oci::Descriptor d = BS_TRY_CTX(oci::select_manifest(idx, std::nullopt, platform), "{}: image index {}", source_,
                                     fm.digest.str());
      fm = BS_TRY(client_->get_manifest(d.digest.str(), &d));
    }
    oci::Manifest m = BS_TRY_CTX(oci::parse_manifest(fm.body), "{}: manifest {}", source_, fm.digest.str());
    r.manifest_digest = fm.digest;
    Bytes cb = BS_TRY(client_->get_blob_small(m.config.digest, m.config.size));
    r.config = BS_TRY_CTX(oci::parse_config(cb), "{}: config {}", source_, m.config.digest.str());
    r.config_json = cb;
    r.config_digest = m.config.digest;
    r.layers = BS_TRY(manifest_layers(m, r.config, source_));
    r.manifest_bytes = std::move(fm.body);
    r.config_bytes = std::move(cb);
    return r;
  }

  Status read_blob(const LayerInfo& l, const SinkFn& sink) override {
    HashingStream hs(std::make_unique<RegistryStream>(BS_TRY(client_->open_blob(l.digest, l.size))), l.digest, l.size,
                     fmt::format("blob {} from {}", l.digest.str(), client_->name()));
    return drain_to(hs, sink);
  }

  Result<std::unique_ptr<LayerStream>> open_layer(const LayerInfo& l) override {
    auto br = BS_TRY(client_->open_blob(l.digest, l.size));
    return BlobLayerStream::open_stream(std::make_unique<RegistryStream>(std::move(br)),
                                        fmt::format("blob {} from {}", l.digest.str(), client_->name()), l);
  }

 private:
  std::unique_ptr<registry::Client> client_;
  oci::DockerReference ref_;
  std::string source_;
};

class Pusher {
 public:
  Pusher(BlobStore& blobs, registry::Client& dest, const PushOptions& o) : blobs_(blobs), dest_(dest), o_(o) {}

  Status blob(const oci::Descriptor& d) {
    if (done_.count(d.digest.str())) return {};
    done_.insert(d.digest.str());
    if (BS_TRY(dest_.blob_exists(d.digest))) {
      r.blobs_existing++;
      return {};
    }
    if (!o_.mount_from.empty() && BS_TRY(dest_.mount_blob(d.digest, o_.mount_from))) {
      r.blobs_mounted++;
      return {};
    }
    std::string rel = "blobs/" + d.digest.algorithm + "/" + d.digest.hex;
    HashingStream hs(BS_TRY(blobs_.open(rel)), d.digest, d.size, blobs_.describe(rel));
    registry::Client::ReadFn read = [&hs](uint8_t* b, size_t n) { return hs.read(b, n); };
    BS_TRY(dest_.upload_blob(d.digest, d.size, read, o_.chunk));
    BS_TRY(hs.drain_and_check());  // the registry checked the digest too
    r.blobs_uploaded++;
    r.bytes_uploaded += d.size;
    return {};
  }

  // Pushes a manifest or index (and what it refers to) by digest, or under `ref`.
  Result<std::pair<Bytes, std::string>> manifest(const oci::Descriptor& d, const std::string& ref, int depth) {
    Bytes mb = BS_TRY(blobs_.read_blob(d.digest, d.size));
    std::string mt = BS_TRY(oci::manifest_document_media_type(mb));
    if (mt.empty()) mt = d.media_type;
    bool index = oci::is_index_media_type(mt) || oci::is_index_document(mb);
    if (mt.empty()) mt = index ? oci::kMediaTypeIndex : oci::kMediaTypeManifest;
    if (index) {
      if (depth >= kMaxIndexDepth) return input_error("image indexes nested too deeply");
      oci::Index idx = BS_TRY_CTX(oci::parse_index(mb), "image index {}", d.digest.str());
      for (auto& c : idx.manifests) BS_TRY(manifest(c, c.digest.str(), depth + 1));
    } else {
      oci::Manifest m = BS_TRY_CTX(oci::parse_manifest(mb), "manifest {}", d.digest.str());
      for (auto& l : m.layers) BS_TRY(blob(l));
      BS_TRY(blob(m.config));
    }
    BS_TRY(dest_.put_manifest(ref, mb, mt));
    return std::pair{std::move(mb), mt};
  }

  PushResult r;

 private:
  BlobStore& blobs_;
  registry::Client& dest_;
  const PushOptions& o_;
  std::set<std::string> done_;
};

}  // namespace

Status ImageSource::read_blob(const LayerInfo& l, const SinkFn&) {
  return unsupported_error("layer {}: this source cannot copy its blobs as stored (use oci:, oci-archive: or docker://)",
                           l.digest.str());
}

Result<PushResult> push_layout(const oci::SourceName& n, registry::Client& dest, const PushOptions& o) {
  std::unique_ptr<BlobStore> blobs;
  if (n.transport == oci::Transport::kOciLayout)
    blobs = std::make_unique<DirBlobs>(n.path);
  else if (n.transport == oci::Transport::kOciArchive)
    blobs = std::make_unique<ArchiveBlobs>(n.path);
  else
    return unsupported_error("push: the source must be oci:DIR[:TAG] or oci-archive:FILE[:TAG]");
  Bytes idx_bytes = BS_TRY(blobs->read_small("index.json"));
  oci::Index idx = BS_TRY_CTX(oci::parse_index(idx_bytes), "{}", blobs->describe("index.json"));
  // The tagged entry, else the only one (a multi-arch index is pushed whole).
  oci::Descriptor d;
  if (n.tag || idx.manifests.size() == 1) {
    d = BS_TRY_CTX(oci::select_manifest(idx, n.tag, oci::host_platform()), "{}", blobs->describe("index.json"));
  } else {
    return input_error("{}: {} images in the layout: name one with oci:DIR:TAG", blobs->describe("index.json"),
                       idx.manifests.size());
  }
  if (auto want = oci::parse_digest(o.tag); want.ok() && !(*want == d.digest))
    return input_error("the manifest is {}, not the digest {} the destination names", d.digest.str(), want->str());
  Pusher p(*blobs, dest, o);
  auto [mb, mt] = BS_TRY(p.manifest(d, o.tag, 0));
  p.r.manifest_digest = d.digest;
  p.r.media_type = mt;
  return p.r;
}

Result<std::unique_ptr<ImageSource>> open_source(const oci::SourceName& n, const std::string& original,
                                                 const registry::Options& ro) {
  switch (n.transport) {
    case oci::Transport::kOciLayout:
      return std::unique_ptr<ImageSource>(new OciSource(std::make_unique<DirBlobs>(n.path), original, n.tag));
    case oci::Transport::kOciArchive:
      return std::unique_ptr<ImageSource>(new OciSource(std::make_unique<ArchiveBlobs>(n.path), original, n.tag));
    case oci::Transport::kDockerArchive:
      return std::unique_ptr<ImageSource>(new DockerArchiveSource(n.path, original, n.tag));
    case oci::Transport::kDocker: {
      auto c = BS_TRY(registry::Client::connect(*n.docker, ro));
      return std::unique_ptr<ImageSource>(new RegistrySource(std::move(c), *n.docker, original));
    }
    case oci::Transport::kContainersStorage:
      return ContainersStorageSource::open(n.path, original);
    case oci::Transport::kDirectory:
      break;
  }
  return internal_error("open_source: a directory is not an image source");
}

}  // namespace bootseal::store
