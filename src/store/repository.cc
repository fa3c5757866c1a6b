#include "store/repository.h"

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <thread>
#include <unordered_map>

#include "par/pool.h"

#include "base/hex.h"
#include "composefs/image.h"
#include "fstree/tree.h"
#include "sys/clone.h"
#include "sys/verity.h"

namespace bootseal::store {

namespace {

constexpr size_t kChunk = 256 * 1024;

bool is_hex_name(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Status check_ref_name(const std::string& ref) {
  if (ref.empty() || ref.size() > 255 || ref.front() == '/' || ref.back() == '/')
    return input_error("bad reference name \"{}\"", ref);
  size_t i = 0;
  while (i <= ref.size()) {
    size_t j = ref.find('/', i);
    if (j == std::string::npos) j = ref.size();
    std::string_view c(ref.data() + i, j - i);
    if (c.empty() || c == "." || c == ".." || c.starts_with(".tmp-"))
      return input_error("bad reference name \"{}\"", ref);
    i = j + 1;
  }
  for (char c : ref)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return input_error("bad reference name \"{}\"", ref);
  return {};
}

}  // namespace

std::string repo_root(const std::string& flag, const std::optional<std::string>& booted_root) {
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv("BOOTSEAL_REPO"); e && *e) return e;
  if (booted_root && !booted_root->empty()) return *booted_root;
  return kDefaultRepo;
}

struct Repository::Async {
  struct Job {
    Bytes data;
    std::promise<Result<Bytes>> done;
  };
  std::mutex mu;
  std::condition_variable work, space;
  std::deque<Job> jobs;
  uint64_t in_flight = 0;
  bool stop = false;
  std::vector<std::thread> threads;
};

Repository::Repository(Repository&&) noexcept = default;

Repository::~Repository() {
  if (async_) {
    {
      std::lock_guard<std::mutex> l(async_->mu);
      async_->stop = true;
    }
    async_->work.notify_all();
    for (auto& t : async_->threads) t.join();
  }
}

std::future<Result<Bytes>> Repository::write_object_async(Bytes data) {
  // Layers are read on threads of their own (merge_image): the workers are
  // started once, under the staging lock.
  std::unique_lock<std::mutex> init_lock(*stage_mu_);
  if (!async_) {
    async_ = std::make_unique<Async>();
    unsigned n = std::max(1u, par::threads());
    for (unsigned i = 0; i < n; i++)
      async_->threads.emplace_back([this] {
        Async& a = *async_;
        for (;;) {
          Async::Job job;
          {
            std::unique_lock<std::mutex> l(a.mu);
            a.work.wait(l, [&] { return a.stop || !a.jobs.empty(); });
            if (a.jobs.empty()) return;
            job = std::move(a.jobs.front());
            a.jobs.pop_front();
          }
          uint64_t size = job.data.size();
          job.done.set_value(write_object(ByteSpan(job.data)));
          {
            std::lock_guard<std::mutex> l(a.mu);
            a.in_flight -= size;
          }
          a.space.notify_all();
        }
      });
  }
  init_lock.unlock();
  Async& a = *async_;
  Async::Job job;
  job.data = std::move(data);
  auto fut = job.done.get_future();
  uint64_t size = job.data.size();
  {
    std::unique_lock<std::mutex> l(a.mu);
    a.space.wait(l, [&] { return a.in_flight == 0 || a.in_flight + size <= kMaxInFlight; });
    a.in_flight += size;
    a.jobs.push_back(std::move(job));
  }
  a.work.notify_one();
  return fut;
}

fsverity::Params Repository::params() const {
  fsverity::Params p;
  p.alg = meta_.algorithm;
  p.block_size = 1u << kLogBlockSize;
  return p;
}

static std::string describe(const RepoMeta& m) {
  return fmt::format("{}, EROFS {}", algorithm_string(m.algorithm),
                     m.erofs_formats_present ? fmt::format("V{}", m.erofs_default) : "V2 (legacy, no erofs_formats)");
}

Result<Repository> Repository::init(const std::string& root, const RepoMeta& meta, const RepoOptions& opts) {
  BS_TRY(sys::mkdir_p(root, 0755));
  std::string path = root + "/composefs";
  BS_TRY(sys::mkdir_at(AT_FDCWD, path, 0700));
  std::string meta_path = path + "/meta.json";
  auto st = BS_TRY(sys::stat_at(AT_FDCWD, meta_path));
  if (st) {
    Bytes data = BS_TRY(sys::read_file(meta_path));
    RepoMeta have = BS_TRY_CTX(parse_meta(data), "{}", meta_path);
    if (have.algorithm != meta.algorithm || have.erofs_default != meta.erofs_default ||
        have.erofs_formats_present != meta.erofs_formats_present)
      return input_error("{}: repository exists with different settings: it has {}, asked for {}", path,
                         describe(have), describe(meta));
  } else {
    BS_TRY(sys::write_file_atomic(meta_path, as_bytes(serialize_meta(meta)), 0644));
  }
  for (const char* d : {"objects", "images", "streams", "streams/refs"})
    BS_TRY(sys::mkdir_at(AT_FDCWD, path + "/" + d, 0755));
  sys::Fd dfd = BS_TRY(sys::open_dir_at(AT_FDCWD, path));
  BS_TRY(sys::fsync_fd(dfd.get(), path));
  return open(root, opts);
}

Result<Repository> Repository::open(const std::string& root, const RepoOptions& opts) {
  Repository r;
  r.path_ = root + "/composefs";
  r.opts_ = opts;
  std::string meta_path = r.path_ + "/meta.json";
  auto st = BS_TRY(sys::stat_at(AT_FDCWD, meta_path));
  if (!st) return input_error("{}: not a repository (no meta.json; create one with `bootseal repo init`)", r.path_);
  Bytes data = BS_TRY(sys::read_file(meta_path));
  r.meta_ = BS_TRY_CTX(parse_meta(data), "{}", meta_path);
  r.dir_ = BS_TRY(sys::open_dir_at(AT_FDCWD, r.path_));
  r.lock_ = BS_TRY(sys::FileLock::acquire(r.path_, opts.exclusive ? sys::FileLock::Mode::kExclusive : sys::FileLock::Mode::kShared,
                                          opts.wait_lock));
  for (const char* d : {"objects", "images", "streams", "streams/refs"}) BS_TRY(sys::mkdir_at(r.dir_.get(), d, 0755));
  r.objects_ = BS_TRY(sys::open_dir_at(r.dir_.get(), "objects"));
  r.max_pending_ = std::max<size_t>(16, std::min<size_t>(kPendingObjects, sys::raise_fd_limit() / 4));
  r.images_ = BS_TRY(sys::open_dir_at(r.dir_.get(), "images"));
  r.streams_ = BS_TRY(sys::open_dir_at(r.dir_.get(), "streams"));
  return r;
}

Status Repository::enable_verity_on(sys::TempFile& f, const std::string& what) {
  if (!verity_supported_) return {};
  sys::Fd ro = BS_TRY(f.reopen_readonly());
  auto st = sys::enable_verity(ro.get(), what, fsverity::algorithm_id(meta_.algorithm), 1u << kLogBlockSize, {});
  if (st.ok()) return {};
  if (st.error().kind() == ErrorKind::kUnsupported) {
    if (opts_.require_verity)
      return Error(st.error()).context("--require-verity");
    verity_supported_ = false;
    if (!verity_warned_ && warn_fn)
      warn_fn(fmt::format("{}: fs-verity not supported here; objects are stored without it (files are not sealed)", path_));
    verity_warned_ = true;
    return {};
  }
  return st;
}

Result<Bytes> Repository::write_object(const std::function<Result<size_t>(uint8_t*, size_t)>& read) {
  if (meta_.read_only) return unsupported_error("{}: repository has unknown features; read-only", path_);
  sys::TempFile tmp = BS_TRY(sys::TempFile::create(objects_.get(), path_ + "/objects", 0644));
  fsverity::StreamDigester dig(params());
  static thread_local Bytes buf(kChunk);
  for (;;) {
    size_t n = BS_TRY(read(buf.data(), buf.size()));
    if (n == 0) break;
    dig.update(ByteSpan(buf.data(), n));
    BS_TRY(tmp.write(ByteSpan(buf.data(), n)));
  }
  uint64_t size = dig.size();
  Bytes digest = dig.finish();
  BS_TRY(stage(std::move(tmp), to_hex(digest), size));
  return digest;
}

Result<Bytes> Repository::write_object_from_fd(int fd, uint64_t size, const std::string& what) {
  if (meta_.read_only) return unsupported_error("{}: repository has unknown features; read-only", path_);
  sys::TempFile tmp = BS_TRY(sys::TempFile::create(objects_.get(), path_ + "/objects", 0644));
  sys::CloneMethod how = BS_TRY(sys::clone_file_data(fd, tmp.fd(), size, what));
  const int src = how == sys::CloneMethod::kNone ? fd : tmp.fd();
  fsverity::StreamDigester dig(params());
  static thread_local Bytes buf(kChunk);
  uint64_t off = 0;
  for (;;) {
    size_t n = BS_TRY(sys::pread_full(src, buf.data(), buf.size(), off, what));
    if (n == 0) break;
    dig.update(ByteSpan(buf.data(), n));
    if (how == sys::CloneMethod::kNone) BS_TRY(tmp.write(ByteSpan(buf.data(), n)));
    off += n;
  }
  if (off != size) return input_error("{}: {} bytes, expected {} (changed while importing?)", what, off, size);
  if (how != sys::CloneMethod::kNone) cloned_++;
  Bytes digest = dig.finish();
  BS_TRY(stage(std::move(tmp), to_hex(digest), size));
  return digest;
}

Status Repository::stage(sys::TempFile tmp, const std::string& hex, uint64_t size) {
  std::lock_guard<std::mutex> l(*stage_mu_);
  if (pending_names_.count(hex) || has_object(hex)) {
    deduped_++;
    return {};  // tmp is dropped
  }
  pending_names_.insert(hex);
  pending_.push_back({std::move(tmp), hex, size});
  pending_bytes_ += size;
  if (pending_.size() >= max_pending_ || pending_bytes_ >= kPendingBytes) BS_TRY(sync_and_link_pending());
  return {};
}

Result<Bytes> Repository::write_object(ByteSpan data) {
  // Contents in memory are hashed first: an object already present is not
  // written at all (not even to a temporary file that is then dropped).
  if (!meta_.read_only) {
    Bytes digest = fsverity::digest_buffer(data, params());
    if (has_object(to_hex(digest))) {
      std::lock_guard<std::mutex> l(*stage_mu_);
      deduped_++;
      return digest;
    }
    sys::TempFile tmp = BS_TRY(sys::TempFile::create(objects_.get(), path_ + "/objects", 0644));
    BS_TRY(tmp.write(data));
    BS_TRY(stage(std::move(tmp), to_hex(digest), data.size()));
    return digest;
  }
  size_t pos = 0;
  return write_object([&](uint8_t* b, size_t n) -> Result<size_t> {
    size_t k = std::min(n, data.size() - pos);
    std::copy(data.begin() + static_cast<ptrdiff_t>(pos), data.begin() + static_cast<ptrdiff_t>(pos + k), b);
    pos += k;
    return k;
  });
}

Status Repository::sync_and_link_pending() {
  if (pending_.empty()) return {};
  // One syncfs for the batch: every pending object's data is on disk before
  // any of them gets a name, so a visible object is never partial. The names
  // themselves become durable at flush(), before anything refers to them.
  BS_TRY(sys::syncfs_fd(objects_.get(), path_));
  for (auto& p : pending_) {
    std::string what = path_ + "/objects/" + object_rel(p.hex);
    BS_TRY(enable_verity_on(p.file, what));
    std::string sub = p.hex.substr(0, 2);
    auto it = subdirs_.find(sub);
    if (it == subdirs_.end()) {
      BS_TRY(sys::mkdir_at(objects_.get(), sub, 0755));
      it = subdirs_.emplace(sub, BS_TRY(sys::open_dir_at(objects_.get(), sub))).first;
    }
    bool linked = BS_TRY(p.file.link_as(it->second.get(), p.hex.substr(2), what));
    if (linked)
      written_++;
    else
      deduped_++;
  }
  pending_.clear();
  pending_names_.clear();
  pending_bytes_ = 0;
  unsynced_names_ = true;
  return {};
}

Status Repository::flush() {
  std::lock_guard<std::mutex> l(*stage_mu_);
  BS_TRY(sync_and_link_pending());
  if (unsynced_names_) {
    BS_TRY(sys::syncfs_fd(objects_.get(), path_));
    unsynced_names_ = false;
  }
  return {};
}


bool Repository::has_object(const std::string& hex) const {
  auto st = sys::stat_at(objects_.get(), object_rel(hex));
  return st.ok() && st->has_value() && base::is_reg((*st)->st_mode);
}

Result<Bytes> Repository::read_object(const std::string& hex, uint64_t max) const {
  if (!is_hex_name(hex, crypto::digest_size(meta_.algorithm) * 2)) return input_error("bad object id \"{}\"", hex);
  sys::Fd fd = BS_TRY(sys::open_at(objects_.get(), object_rel(hex), O_RDONLY));
  struct stat st = BS_TRY(sys::fstat_fd(fd.get(), hex));
  if (static_cast<uint64_t>(st.st_size) > max) return input_error("object {} larger than {} bytes", hex, max);
  Bytes out(static_cast<size_t>(st.st_size));
  size_t n = BS_TRY(sys::pread_full(fd.get(), out.data(), out.size(), 0, path_ + "/objects/" + object_rel(hex)));
  out.resize(n);
  return out;
}

Result<std::string> Repository::write_image(ByteSpan image) {
  if (meta_.read_only) return unsupported_error("{}: repository has unknown features; read-only", path_);
  BS_TRY(flush());
  Bytes digest = fsverity::digest_buffer(image, params());
  std::string hex = to_hex(digest);
  if (has_image(hex)) return hex;
  sys::TempFile tmp = BS_TRY(sys::TempFile::create(images_.get(), path_ + "/images", 0644));
  BS_TRY(tmp.write(image));
  BS_TRY(sys::fsync_fd(tmp.fd(), path_ + "/images"));
  BS_TRY(enable_verity_on(tmp, path_ + "/images/" + hex));
  BS_TRY(tmp.link_as(images_.get(), hex, path_ + "/images/" + hex));
  BS_TRY(sys::fsync_fd(images_.get(), path_ + "/images"));
  return hex;
}

bool Repository::has_image(const std::string& hex) const {
  auto st = sys::stat_at(images_.get(), hex);
  return st.ok() && st->has_value();
}

Result<Bytes> Repository::read_image(const std::string& hex) const {
  if (!is_hex_name(hex, crypto::digest_size(meta_.algorithm) * 2)) return input_error("bad image id \"{}\"", hex);
  return sys::read_file(path_ + "/images/" + hex);
}

Status Repository::set_stream(const std::string& name, const std::string& object_hex) {
  BS_TRY(check_ref_name(name));
  if (name.find('/') != std::string::npos) return input_error("bad stream name \"{}\"", name);
  BS_TRY(flush());
  BS_TRY(sys::symlink_replace_at(streams_.get(), "../objects/" + object_rel(object_hex), name));
  return sys::fsync_fd(streams_.get(), path_ + "/streams");
}

Result<std::optional<std::string>> Repository::stream_object(const std::string& name) const {
  auto st = BS_TRY(sys::stat_at(streams_.get(), name));
  if (!st) return std::optional<std::string>();
  std::string target = BS_TRY(sys::readlink_at(streams_.get(), name));
  constexpr std::string_view kPrefix = "../objects/";
  if (!target.starts_with(kPrefix) || target.size() < kPrefix.size() + 4 || target[kPrefix.size() + 2] != '/')
    return std::optional<std::string>();
  std::string hex = target.substr(kPrefix.size(), 2) + target.substr(kPrefix.size() + 3);
  if (!has_object(hex)) return std::optional<std::string>();
  return std::optional<std::string>(hex);
}

Status Repository::set_ref(const std::string& ref, const std::string& stream) {
  BS_TRY(check_ref_name(ref));
  // Nested refs ("oci/fedora") get their directories.
  std::string rel = "refs/" + ref;
  std::string up = "..";
  size_t pos = 0;
  while ((pos = ref.find('/', pos)) != std::string::npos) {
    BS_TRY(sys::mkdir_at(streams_.get(), "refs/" + ref.substr(0, pos), 0755));
    up += "/..";
    pos++;
  }
  BS_TRY(sys::symlink_replace_at(streams_.get(), up + "/" + stream, rel));
  sys::Fd d = BS_TRY(sys::open_dir_at(streams_.get(), sys::dirname_of(rel)));
  return sys::fsync_fd(d.get(), path_ + "/streams/" + sys::dirname_of(rel));
}

Status Repository::remove_ref(const std::string& ref) {
  BS_TRY(check_ref_name(ref));
  auto st = BS_TRY(sys::stat_at(streams_.get(), "refs/" + ref));
  if (!st || !base::is_lnk(st->st_mode)) return input_error("no reference \"{}\"", ref);
  BS_TRY(sys::unlink_at(streams_.get(), "refs/" + ref));
  return sys::fsync_fd(streams_.get(), path_ + "/streams");
}

Result<std::map<std::string, std::string>> Repository::list_refs() const {
  std::map<std::string, std::string> out;
  std::function<Status(const std::string&, int)> walk = [&](const std::string& prefix, int depth) -> Status {
    if (depth > 16) return {};
    auto names = BS_TRY(sys::list_at(streams_.get(), prefix.empty() ? "refs" : "refs/" + prefix));
    for (auto& n : names) {
      std::string ref = prefix.empty() ? n.name : prefix + "/" + n.name;
      if (n.name.starts_with(".tmp-") || n.name.find(".tmp-") != std::string::npos) continue;
      if (n.type == DT_DIR) {
        BS_TRY(walk(ref, depth + 1));
      } else if (n.type == DT_LNK) {
        std::string target = BS_TRY(sys::readlink_at(streams_.get(), "refs/" + ref));
        auto slash = target.rfind('/');
        out[ref] = slash == std::string::npos ? target : target.substr(slash + 1);
      }
    }
    return {};
  };
  BS_TRY(walk("", 0));
  return out;
}

Result<std::vector<std::string>> Repository::list_streams() const {
  std::vector<std::string> out;
  for (auto& n : BS_TRY(sys::list_at(streams_.get(), ".")))
    if (n.type == DT_LNK && n.name.find(".tmp-") == std::string::npos) out.push_back(n.name);
  return out;
}

Result<FsckReport> Repository::fsck(const RefsFn& refs) const {
  FsckReport rep;
  fsverity::Params p = params();
  size_t hexlen = crypto::digest_size(meta_.algorithm) * 2;
  // Objects: every file's digest must equal its name.
  for (auto& sub : BS_TRY(sys::list_at(objects_.get(), "."))) {
    if (sub.type != DT_DIR || !is_hex_name(sub.name, 2)) {
      if (sub.name.starts_with(".tmp-")) continue;  // named-fallback temporaries: gc removes them
      rep.problems.push_back(fmt::format("objects/{}: unexpected entry", sub.name));
      continue;
    }
    for (auto& f : BS_TRY(sys::list_at(objects_.get(), sub.name))) {
      std::string rel = sub.name + "/" + f.name;
      if (f.name.starts_with(".tmp-")) continue;
      rep.objects++;
      if (!is_hex_name(sub.name + f.name, hexlen)) {
        rep.problems.push_back(fmt::format("objects/{}: not an object name", rel));
        continue;
      }
      auto d = fsverity::digest_file(path_ + "/objects/" + rel, p);
      if (!d.ok())
        rep.problems.push_back(fmt::format("objects/{}: {}", rel, d.error().message()));
      else if (to_hex(*d) != sub.name + f.name)
        rep.problems.push_back(fmt::format("objects/{}: content digest is {}", rel, to_hex(*d)));
    }
  }
  for (auto& f : BS_TRY(sys::list_at(images_.get(), "."))) {
    if (f.name.starts_with(".tmp-") || f.type == DT_DIR) continue;
    rep.images++;
    auto d = fsverity::digest_file(path_ + "/images/" + f.name, p);
    if (!d.ok()) {
      rep.problems.push_back(fmt::format("images/{}: {}", f.name, d.error().message()));
      continue;
    }
    if (to_hex(*d) != f.name) {
      rep.problems.push_back(fmt::format("images/{}: content digest is {}", f.name, to_hex(*d)));
      continue;
    }
    // Every object the image refers to must be there.
    auto bytes = sys::read_file(path_ + "/images/" + f.name);
    if (!bytes.ok()) {
      rep.problems.push_back(fmt::format("images/{}: {}", f.name, bytes.error().message()));
      continue;
    }
    auto tree = composefs::read_image(*bytes);
    if (!tree.ok()) {
      rep.problems.push_back(fmt::format("images/{}: {}", f.name, tree.error().message()));
      continue;
    }
    std::unordered_set<std::string> missing;
    fstree::walk(*tree, [&](const std::string& path, const fstree::Entry*, const fstree::Node& n) {
      if (n.is_reg() && !n.digest.empty()) {
        std::string hex = to_hex(n.digest);
        if (!has_object(hex) && missing.insert(hex).second)
          rep.problems.push_back(fmt::format("images/{}: {}: missing object {}", f.name, path, hex));
      }
      return true;
    });
  }
  // Streams: the record exists, and what it references exists.
  for (auto& s : BS_TRY(list_streams())) {
    rep.streams++;
    auto obj = BS_TRY(stream_object(s));
    if (!obj) {
      rep.problems.push_back(fmt::format("streams/{}: points at a missing object", s));
      continue;
    }
    auto data = read_object(*obj, 1ull << 30);
    if (!data.ok()) {
      rep.problems.push_back(fmt::format("streams/{}: {}", s, data.error().message()));
      continue;
    }
    auto r = refs(s, *data);
    if (!r.ok()) {
      rep.problems.push_back(fmt::format("streams/{}: {}", s, r.error().message()));
      continue;
    }
    for (auto& o : r->first) {
      if (o.starts_with("stream:")) {
        auto st = BS_TRY(stream_object(o.substr(7)));
        if (!st) rep.problems.push_back(fmt::format("streams/{}: missing stream {}", s, o.substr(7)));
      } else if (!has_object(o)) {
        rep.problems.push_back(fmt::format("streams/{}: missing object {}", s, o));
      }
    }
    for (auto& i : r->second)
      if (!has_image(i)) rep.problems.push_back(fmt::format("streams/{}: missing image {}", s, i));
  }
  for (auto& [ref, stream] : BS_TRY(list_refs())) {
    rep.refs++;
    auto st = BS_TRY(sys::stat_at(streams_.get(), stream));
    if (!st) rep.problems.push_back(fmt::format("streams/refs/{}: points at a missing stream {}", ref, stream));
  }
  return rep;
}

Result<GcReport> Repository::gc(const RefsFn& refs, bool dry_run) {
  if (!opts_.exclusive) return internal_error("gc needs the exclusive lock");
  // Objects of streams we cannot read (composefs-rs split streams, bootc's
  // image refs) would look unreferenced: refuse rather than delete them.
  for (auto& s : BS_TRY(list_streams()))
    if (!s.starts_with("bootseal-"))
      return unsupported_error("{}: holds stream {} that bootseal does not manage (a bootc/composefs-rs repository?); "
                               "refusing to gc", path_, s);
  if (auto st = BS_TRY(sys::stat_at(images_.get(), "refs")); st && base::is_dir(st->st_mode))
    return unsupported_error("{}: has images/refs (a bootc/composefs-rs repository?); refusing to gc", path_);
  GcReport rep;
  std::unordered_set<std::string> live_streams, live_objects, live_images;
  for (auto& [ref, stream] : BS_TRY(list_refs())) live_streams.insert(stream);
  // Streams referenced from other streams (an image record keeps its layer
  // records) are found through the records: iterate to a fixed point.
  std::vector<std::string> work(live_streams.begin(), live_streams.end());
  auto all_streams = BS_TRY(list_streams());
  while (!work.empty()) {
    std::string s = work.back();
    work.pop_back();
    auto obj = BS_TRY(stream_object(s));
    if (!obj) continue;
    live_objects.insert(*obj);
    Bytes data = BS_TRY(read_object(*obj, 1ull << 30));
    auto r = BS_TRY_CTX(refs(s, data), "streams/{}", s);
    for (auto& o : r.first) {
      // An object id that names a stream ("stream:NAME") keeps that stream.
      if (o.starts_with("stream:")) {
        std::string name = o.substr(7);
        if (live_streams.insert(name).second) work.push_back(name);
      } else {
        live_objects.insert(o);
      }
    }
    for (auto& i : r.second) live_images.insert(i);
  }
  auto remove = [&](int dirfd, const std::string& rel, const std::string& shown) -> Status {
    auto st = BS_TRY(sys::stat_at(dirfd, rel));
    if (st) rep.bytes += static_cast<uint64_t>(st->st_size);
    rep.removed.push_back(shown);
    if (!dry_run) BS_TRY(sys::unlink_at(dirfd, rel));
    return {};
  };
  for (auto& s : all_streams)
    if (!live_streams.count(s)) BS_TRY(remove(streams_.get(), s, "streams/" + s));
  // Symlinks a crash left under their temporary name (sys::symlink_replace_at
  // writes NAME.tmp-XXXX, then renames it): nothing refers to them.
  std::function<Status(const std::string&, int)> tmp_links = [&](const std::string& dir, int depth) -> Status {
    if (depth > 16) return {};
    for (auto& n : BS_TRY(sys::list_at(streams_.get(), dir))) {
      std::string rel = dir == "." ? n.name : dir + "/" + n.name;
      if (n.type == DT_DIR && (dir != "." || n.name == "refs"))
        BS_TRY(tmp_links(rel, depth + 1));
      else if (n.type == DT_LNK && n.name.find(".tmp-") != std::string::npos)
        BS_TRY(remove(streams_.get(), rel, "streams/" + rel));
    }
    return {};
  };
  BS_TRY(tmp_links(".", 0));
  for (auto& f : BS_TRY(sys::list_at(images_.get(), ".")))
    if (f.type != DT_DIR && !live_images.count(f.name)) BS_TRY(remove(images_.get(), f.name, "images/" + f.name));
  for (auto& sub : BS_TRY(sys::list_at(objects_.get(), "."))) {
    if (sub.type != DT_DIR) {
      if (sub.name.starts_with(".tmp-")) BS_TRY(remove(objects_.get(), sub.name, "objects/" + sub.name));
      continue;
    }
    for (auto& f : BS_TRY(sys::list_at(objects_.get(), sub.name))) {
      std::string hex = sub.name + f.name;
      if (!live_objects.count(hex)) BS_TRY(remove(objects_.get(), sub.name + "/" + f.name, "objects/" + sub.name + "/" + f.name));
    }
  }
  if (!dry_run) BS_TRY(sys::syncfs_fd(dir_.get(), path_));
  return rep;
}

}  // namespace bootseal::store
