#include "rechunk/rechunk.h"

#include <zlib.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "base/hex.h"
#include "base/mode.h"
#include "crypto/hash.h"
#include "par/pool.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/tree.h"
#include "tar/writer.h"

namespace bootseal::rechunk {

namespace {

constexpr const char* kLayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr size_t kChunk = 256 * 1024;

struct Item {
  std::string path;  // "/a/b"
  const fstree::Node* node = nullptr;
  std::string primary;  // hardlinks: the first name ("/a/x"), else empty
};

std::string rel(const std::string& path) { return path == "/" ? std::string("./") : path.substr(1); }

tar::Entry to_entry(const Item& it, bool clamp_dir, int64_t clamp) {
  const fstree::Node& n = *it.node;
  tar::Entry e;
  e.path = rel(it.path);
  e.mode = n.mode & 07777;
  e.uid = n.uid;
  e.gid = n.gid;
  e.mtime_sec = n.mtime_sec;
  e.mtime_nsec = n.mtime_nsec;
  for (auto& x : n.xattrs) e.xattrs.emplace_back(x.name, x.value);
  if (!it.primary.empty()) {
    e.type = tar::EntryType::kHardlink;
    e.link_target = rel(it.primary);
    return e;
  }
  switch (n.type()) {
    case fstree::FileType::kDirectory:
      e.type = tar::EntryType::kDirectory;
      if (clamp_dir) {
        e.mtime_sec = clamp;
        e.mtime_nsec = 0;
        e.xattrs.clear();
      }
      break;
    case fstree::FileType::kRegular:
      e.type = tar::EntryType::kRegular;
      e.size = n.size;
      break;
    case fstree::FileType::kSymlink:
      e.type = tar::EntryType::kSymlink;
      e.link_target = n.payload.value_or("");
      break;
    case fstree::FileType::kCharDev:
    case fstree::FileType::kBlockDev:
      e.type = n.type() == fstree::FileType::kCharDev ? tar::EntryType::kCharDev : tar::EntryType::kBlockDev;
      e.dev_major = base::dev_major(n.rdev);
      e.dev_minor = base::dev_minor(n.rdev);
      break;
    case fstree::FileType::kFifo: e.type = tar::EntryType::kFifo; break;
    case fstree::FileType::kSocket: e.type = tar::EntryType::kSocket; break;
  }
  return e;
}

oci::Digest sha256_of(crypto::Hasher& h) { return {"sha256", to_hex(h.finish())}; }

// tar bytes -> (sha256 = diff_id) -> zlib gzip level 6 -> (sha256 = digest) -> file.
class GzipFile {
 public:
  explicit GzipFile(sys::AtomicFile f) : f_(std::move(f)), tar_h_(crypto::HashAlg::kSha256), gz_h_(crypto::HashAlg::kSha256) {
    out_.resize(kChunk);
  }
  ~GzipFile() {
    if (init_) deflateEnd(&z_);
  }
  Status init() {
    // windowBits 15 + 16: a gzip wrapper; zlib writes mtime 0, no name, OS 3.
    if (deflateInit2(&z_, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return internal_error("{}: deflateInit2 failed", f_.path());
    init_ = true;
    return {};
  }
  Status write(ByteSpan in) {
    tar_h_.update(in);
    tar_n_ += in.size();
    return feed(in, Z_NO_FLUSH);
  }
  Status finish() { return feed({}, Z_FINISH); }
  sys::AtomicFile& file() { return f_; }
  oci::Digest diff_id() { return sha256_of(tar_h_); }
  oci::Digest digest() { return sha256_of(gz_h_); }
  uint64_t tar_bytes() const { return tar_n_; }
  uint64_t gz_bytes() const { return gz_n_; }

 private:
  Status feed(ByteSpan in, int flush) {
    z_.next_in = const_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      z_.next_out = out_.data();
      z_.avail_out = static_cast<uInt>(out_.size());
      int r = deflate(&z_, flush);
      if (r == Z_STREAM_ERROR) return internal_error("{}: deflate failed", f_.path());
      size_t n = out_.size() - z_.avail_out;
      if (n) {
        gz_h_.update(ByteSpan(out_.data(), n));
        gz_n_ += n;
        BS_TRY(f_.write(ByteSpan(out_.data(), n)));
      }
      if (flush == Z_FINISH ? r == Z_STREAM_END : (z_.avail_out != 0 && z_.avail_in == 0)) break;
    }
    return {};
  }
  sys::AtomicFile f_;
  z_stream z_{};
  bool init_ = false;
  crypto::Hasher tar_h_, gz_h_;
  uint64_t tar_n_ = 0, gz_n_ = 0;
  Bytes out_;
};

struct Staged {
  WrittenLayer layer;
  std::string file;  // staging path
};

Result<Staged> write_layer(const store::Repository& repo, const std::vector<Item>& items,
                           const std::vector<size_t>& members, const std::set<size_t>& real_dirs, int64_t clamp,
                           const std::string& path, const std::string& name) {
  GzipFile gz(BS_TRY(sys::AtomicFile::create(path, 0644)));
  BS_TRY(gz.init());
  auto w = BS_TRY(tar::Writer::open([&](ByteSpan b) { return gz.write(b); }, name));
  for (size_t i : members) {
    const Item& it = items[i];
    tar::Entry e = to_entry(it, !real_dirs.count(i), clamp);
    BS_TRY(w->header(e));
    if (e.type != tar::EntryType::kRegular || e.size == 0) continue;
    const fstree::Node& n = *it.node;
    if (!n.content.empty() || n.digest.empty()) {
      if (n.content.size() != n.size) return input_error("{}: {} has {} bytes of inline content, size {}", name, it.path, n.content.size(), n.size);
      BS_TRY(w->data(n.content));
    } else {
      Bytes data = BS_TRY_CTX(repo.read_object(to_hex(n.digest), n.size), "{}: {}", name, it.path);
      if (data.size() != n.size) return input_error("{}: object of {} has {} bytes, size {}", name, it.path, data.size(), n.size);
      BS_TRY(w->data(data));
    }
  }
  BS_TRY(w->close());
  BS_TRY(gz.finish());
  BS_TRY(gz.file().commit());
  Staged s;
  s.layer.diff_id = gz.diff_id();
  s.layer.digest = gz.digest();
  s.layer.size = gz.gz_bytes();
  s.layer.tar_size = gz.tar_bytes();
  s.file = path;
  return s;
}

nlohmann::json descriptor(const std::string& media_type, const oci::Digest& d, uint64_t size) {
  return {{"mediaType", media_type}, {"digest", d.str()}, {"size", size}};
}

std::string json_bytes(const nlohmann::json& j) { return j.dump(); }

// Removes the staging directory unless released.
struct TreeGuard {
  std::string path;
  ~TreeGuard() {
    if (!path.empty()) (void)sys::remove_tree(path);
  }
};

}  // namespace

Result<RechunkResult> rechunk(const store::Repository& repo, const fstree::Tree& tree, ByteSpan config_json,
                              const oci::SourceName& out, const Options& o) {
  if (out.transport != oci::Transport::kOciLayout && out.transport != oci::Transport::kOciArchive)
    return input_error("rechunk output must be oci:DIR[:TAG] or oci-archive:FILE[:TAG]");
  if (o.max_layers < 1 || o.max_layers > oci::kMaxLayers)
    return input_error("--max-layers must be between 1 and {}, not {}", oci::kMaxLayers, o.max_layers);
  RechunkResult res;
  ReadFn read = [&](const std::string& path, const fstree::Node& n) -> Result<Bytes> {
    if (!n.content.empty() || n.digest.empty()) return n.content;
    return BS_TRY_CTX(repo.read_object(to_hex(n.digest), n.size), "{}", path);
  };
  auto comps = BS_TRY(components(tree, read, &res.notes));
  Plan plan = pack(std::move(comps), o.max_layers);

  // The tree in walk order; hardlinks name their first path.
  std::vector<Item> items;
  std::unordered_map<std::string, size_t> index;
  std::unordered_map<const fstree::Node*, std::string> first;
  std::vector<size_t> dirs;
  fstree::walk(tree, [&](const std::string& path, const fstree::Entry*, const fstree::Node& node) {
    Item it{path, &node, {}};
    if (!node.is_dir()) {
      auto [f, fresh] = first.emplace(&node, path);
      if (!fresh) it.primary = f->second;
    } else {
      dirs.push_back(items.size());
    }
    index.emplace(path, items.size());
    items.push_back(std::move(it));
    return true;
  });

  // Members per layer (sorted indexes = walk order: parents first).
  std::vector<std::vector<size_t>> members(plan.layers.size());
  for (size_t l = 0; l < plan.layers.size(); l++) {
    std::set<size_t> m;
    bool last = l + 1 == plan.layers.size() && plan.layers.size() > 1;
    for (size_t c : plan.layers[l]) {
      for (auto& p : plan.components[c].paths) {
        m.insert(index.at(p));
        if (last) continue;
        for (size_t s = p.rfind('/'); s != std::string::npos && s > 0; s = p.rfind('/', s - 1)) {
          auto it = index.find(p.substr(0, s));
          if (it == index.end() || m.count(it->second)) break;
          m.insert(it->second);
        }
      }
    }
    if (last || plan.layers.size() == 1) m.insert(dirs.begin(), dirs.end());
    members[l].assign(m.begin(), m.end());
  }
  std::set<size_t> real_dirs(dirs.begin(), dirs.end());
  std::set<size_t> none;

  // Staging.
  std::string blob_dir, staging;
  TreeGuard guard;
  if (out.transport == oci::Transport::kOciLayout) {
    blob_dir = out.path + "/blobs/sha256";
    BS_TRY(sys::mkdir_p(blob_dir));
    staging = blob_dir;
  } else {
    std::string dir = sys::dirname_of(BS_TRY(sys::absolute_path(out.path)));
    staging = dir + "/." + sys::basename_of(out.path) + ".rechunk";
    BS_TRY(sys::remove_tree(staging));
    BS_TRY(sys::mkdir_p(staging));
    guard.path = staging;
    blob_dir = staging;
  }

  std::vector<std::optional<Result<Staged>>> staged(plan.layers.size());
  par::parallel_for(plan.layers.size(), [&](size_t l) {
    bool last = l + 1 == plan.layers.size();
    staged[l] = write_layer(repo, items, members[l], last ? real_dirs : none, o.clamp_mtime,
                            staging + "/.rechunk-layer-" + std::to_string(l), "layer " + std::to_string(l + 1));
  });
  std::vector<std::string> staged_files;
  for (auto& s : staged) {
    if (!s->ok()) {
      for (auto& t : staged)
        if (t->ok()) (void)sys::remove_tree((*t)->file);
      return std::move(*s).error();
    }
  }
  for (size_t l = 0; l < plan.layers.size(); l++) {
    Staged& s = **staged[l];
    for (size_t c : plan.layers[l]) s.layer.components.push_back(plan.components[c].name);
    if (plan.layers[l].empty() && l + 1 == plan.layers.size()) s.layer.components.push_back("directories");
    std::string final = blob_dir + "/" + s.layer.digest.hex;
    BS_TRY(sys::rename_path(s.file, final));
    res.layers.push_back(s.layer);
  }

  // Config: the source's, with our rootfs and history.
  nlohmann::json cfg = nlohmann::json::object();
  if (!config_json.empty()) {
    cfg = nlohmann::json::parse(config_json.begin(), config_json.end(), nullptr, false);
    if (!cfg.is_object()) return input_error("the source's config is not a JSON object");
  } else {
    oci::Platform p = oci::host_platform();
    cfg["architecture"] = p.architecture;
    cfg["os"] = p.os;
  }
  if (!o.created.empty()) cfg["created"] = o.created;
  nlohmann::json diff_ids = nlohmann::json::array(), history = nlohmann::json::array();
  for (auto& l : res.layers) {
    diff_ids.push_back(l.diff_id.str());
    nlohmann::json h = {{"created_by", "bootseal rechunk"}, {"comment", std::to_string(l.components.size()) + " components"}};
    if (cfg.contains("created")) h["created"] = cfg["created"];
    history.push_back(h);
  }
  cfg["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  cfg["history"] = history;
  std::string cfg_text = json_bytes(cfg);
  oci::Digest cfg_digest{"sha256", to_hex(crypto::digest(crypto::HashAlg::kSha256, cfg_text))};
  BS_TRY(sys::write_file_atomic(blob_dir + "/" + cfg_digest.hex, as_bytes(cfg_text)));

  nlohmann::json layers = nlohmann::json::array();
  for (auto& l : res.layers) {
    std::string names;
    for (auto& c : l.components) names += (names.empty() ? "" : ",") + c;
    nlohmann::json d = descriptor(kLayerMediaType, l.digest, l.size);
    d["annotations"] = {{kAnnotationComponents, names}};
    layers.push_back(d);
  }
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", oci::kMediaTypeManifest},
                             {"config", descriptor(oci::kMediaTypeConfig, cfg_digest, cfg_text.size())},
                             {"layers", layers}};
  std::string man_text = json_bytes(manifest);
  res.manifest_digest = {"sha256", to_hex(crypto::digest(crypto::HashAlg::kSha256, man_text))};
  res.manifest_size = man_text.size();
  BS_TRY(sys::write_file_atomic(blob_dir + "/" + res.manifest_digest.hex, as_bytes(man_text)));

  std::string tag = out.tag.value_or("latest");
  nlohmann::json entry = descriptor(oci::kMediaTypeManifest, res.manifest_digest, man_text.size());
  entry["annotations"] = {{oci::kAnnotationRefName, tag}};
  nlohmann::json idx = {{"schemaVersion", 2}, {"mediaType", oci::kMediaTypeIndex}, {"manifests", nlohmann::json::array()}};
  std::string layout_root = out.transport == oci::Transport::kOciLayout ? out.path : staging;
  if (out.transport == oci::Transport::kOciLayout && sys::path_exists(out.path + "/index.json")) {
    Bytes old = BS_TRY(sys::read_file(out.path + "/index.json"));
    nlohmann::json j = nlohmann::json::parse(old.begin(), old.end(), nullptr, false);
    if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
      return input_error("{}/index.json: not an OCI image index", out.path);
    for (auto& m : j["manifests"]) {
      bool same = m.contains("annotations") && m["annotations"].is_object() &&
                  m["annotations"].value(oci::kAnnotationRefName, "") == tag;
      if (!same) idx["manifests"].push_back(m);
    }
  }
  idx["manifests"].push_back(entry);
  if (out.transport == oci::Transport::kOciLayout) {
    if (!sys::path_exists(out.path + "/oci-layout"))
      BS_TRY(sys::write_file_atomic(out.path + "/oci-layout", as_bytes(std::string(R"({"imageLayoutVersion":"1.0.0"})"))));
    BS_TRY(sys::write_file_atomic(out.path + "/index.json", as_bytes(json_bytes(idx))));
    return res;
  }

  // oci-archive: a tar of the layout, written under a temporary name.
  sys::AtomicFile af = BS_TRY(sys::AtomicFile::create(out.path, 0644));
  auto w = BS_TRY(tar::Writer::open([&](ByteSpan b) { return af.write(b); }, out.path));
  auto put_dir = [&](const std::string& p) -> Status {
    tar::Entry e;
    e.path = p;
    e.type = tar::EntryType::kDirectory;
    e.mode = 0755;
    e.mtime_sec = o.clamp_mtime;
    return w->header(e);
  };
  auto put_bytes = [&](const std::string& p, ByteSpan data) -> Status {
    tar::Entry e;
    e.path = p;
    e.type = tar::EntryType::kRegular;
    e.mode = 0644;
    e.mtime_sec = o.clamp_mtime;
    e.size = data.size();
    BS_TRY(w->header(e));
    return w->data(data);
  };
  BS_TRY(put_bytes("oci-layout", as_bytes(std::string(R"({"imageLayoutVersion":"1.0.0"})"))));
  BS_TRY(put_bytes("index.json", as_bytes(json_bytes(idx))));
  BS_TRY(put_dir("blobs/"));
  BS_TRY(put_dir("blobs/sha256/"));
  std::set<std::string> blobs;
  for (auto& l : res.layers) blobs.insert(l.digest.hex);
  blobs.insert(cfg_digest.hex);
  blobs.insert(res.manifest_digest.hex);
  for (auto& hex : blobs) {
    std::string p = blob_dir + "/" + hex;
    sys::Fd fd = BS_TRY(sys::open_regular(p));
    auto st = BS_TRY(sys::fstat_fd(fd.get(), p));
    tar::Entry e;
    e.path = "blobs/sha256/" + hex;
    e.type = tar::EntryType::kRegular;
    e.mode = 0644;
    e.mtime_sec = o.clamp_mtime;
    e.size = static_cast<uint64_t>(st.st_size);
    BS_TRY(w->header(e));
    Bytes buf(kChunk);
    for (uint64_t off = 0; off < e.size;) {
      size_t n = BS_TRY(sys::pread_full(fd.get(), buf.data(), std::min<uint64_t>(buf.size(), e.size - off), off, p));
      if (n == 0) return input_error("{}: short read", p);
      BS_TRY(w->data(ByteSpan(buf.data(), n)));
      off += n;
    }
  }
  BS_TRY(w->close());
  BS_TRY(af.commit());
  return res;
}

}  // namespace bootseal::rechunk
