#include "cli/composefs_scan.h"


#include <algorithm>
#include <cstring>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "base/hex.h"
#include "crypto/sha_multi.h"
#include "fstree/dumpfile.h"
#include "fsverity/fsverity.h"
#include "par/pool.h"
#include "par/progress.h"
#include "sys/dirscan.h"
#include "sys/repo_io.h"

namespace bootseal::cli {

using fstree::Node;
using fstree::NodePtr;

std::string object_path(ByteSpan digest) {
  static const char kHex[] = "0123456789abcdef";
  std::string p;
  p.reserve(digest.size() * 2 + 1);
  for (size_t i = 0; i < digest.size(); i++) {
    if (i == 1) p.push_back('/');
    p.push_back(kHex[digest[i] >> 4]);
    p.push_back(kHex[digest[i] & 15]);
  }
  return p;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string join(const std::string& dir, const std::string& name) {
  std::string p;
  p.reserve(dir.size() + 1 + name.size());
  p = dir;
  if (p.empty() || p.back() != '/') p.push_back('/');
  p += name;
  return p;
}

// The scan is a pipeline of tasks on one queue, worked by all threads:
//   - a directory task lists one directory (fstatat per entry, relative to its
//     open fd), creates the child nodes in name order, reads the xattrs of
//     everything but regular files, and queues a task per subdirectory and
//     batches of its regular files;
//   - a file batch opens each file relative to the shared directory fd, reads
//     its xattrs from the fd and hashes it (copying it into the store in the
//     same read pass).
// Hashing starts with the first directory, so the walk costs no wall time of
// its own. The queue is LIFO and batches are pushed last, so a directory's
// files are hashed soon after it is listed and few directory fds stay open.
// Only the task's own nodes are written by a task: no locking on the tree.
struct FileRef {
  Node* node;
  const std::string* name;  // the Entry's name (the children vector is final)
};

struct Task {
  Node* dir = nullptr;                // a directory to list, or
  std::vector<FileRef> files;         // a batch of its regular files
  std::string path;                   // the directory's path
  std::shared_ptr<sys::Fd> dirfd;     // batches: the open directory
};

// Files per batch, and bytes per batch: small enough that both threads stay
// busy to the end, large enough that queue traffic is negligible.
constexpr size_t kBatchFiles = 64;
constexpr uint64_t kBatchBytes = 8u << 20;
// 16 fs-verity blocks: one 16-lane SHA-256 call (crypto::Sha256Multi) per full read. Small enough
// to stay in the L2 cache between the copy from the page cache and the hash.
// --digest-store objects made visible per syncfs (at most; see the fd limit).
constexpr size_t kLinkBatchFiles = 4096;
constexpr uint64_t kLinkBatchBytes = 256ull << 20;
constexpr size_t kReadyBatches = 2;  // full batches waiting for the linker
constexpr size_t kVerityBlock = 4096;
constexpr size_t kLanes = crypto::Sha256Multi::kLanes;
constexpr size_t kReadBuffer = kLanes * kVerityBlock;

class Scanner {
 public:
  explicit Scanner(const ScanOptions& o) : o_(o) {}
  Result<fstree::Tree> run(const std::string& root, ScanStats* stats);

 private:
  struct Worker {
    Bytes buf;
    std::unique_ptr<fsverity::StreamDigester> digester;
    // SHA-256 with AVX-512: leaf blocks 16 at a time, then the tree.
    std::unique_ptr<fsverity::BlockHasher> leaf;
    std::unique_ptr<fsverity::MerkleBuilder> tree;
    std::optional<crypto::Sha256Multi> lanes;
    // Files of at most 16 blocks share one 16-lane call: each is read into
    // its own block slots of `stage` (zero-padded) and finished in flush().
    struct Pending {
      Node* node;
      size_t slot, blocks;
      std::optional<sys::ObjectFile> obj;
    };
    Bytes stage;
    size_t used = 0;
    std::vector<Pending> pending;
  };
  void work();
  Status stage_file(int fd, Node& n, const std::string& path, Worker& w);
  Status flush(Worker& w);
  Status finish_file(Node& n, std::optional<sys::ObjectFile>& obj);
  Status scan_dir(Task& t);
  Status hash_batch(Task& t, Worker& w);
  Status hash_file(int fd, Node& n, const std::string& path, Worker& w);
  void fill(Node& n, const struct stat& st) const;
  Status set_xattrs(Node& n, std::vector<std::pair<std::string, std::string>> xs, const std::string& path) const;
  Status link_hardlinks(Node& root);

  ScanOptions o_;
  fsverity::Params params_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Task> queue_;  // LIFO
  size_t running_ = 0;
  std::optional<Error> error_;
  // --hardlinks: (st_dev, st_ino) of every multiply-linked non-directory.
  std::map<const Node*, std::pair<uint64_t, uint64_t>> inode_keys_;

  std::atomic<uint64_t> files_{0}, bytes_{0}, written_{0}, existing_{0};

  // --digest-store objects whose data is written but not yet known to be on
  // disk: anonymous (O_TMPFILE) or under a temporary name, so invisible.
  // A batch becomes visible only after one syncfs made its data durable
  // (the repository's rule: temp name, sync, then the final name); the
  // final syncfs makes the last links durable.
  struct Unlinked {
    sys::ObjectFile obj;
    std::string rel;
  };
  // The batches are synced and linked by one linker thread, so the hashing
  // workers never wait for the disk unless kReadyBatches are queued.
  Status queue_link(sys::ObjectFile obj, std::string rel, uint64_t size);
  Status link_batch(std::vector<Unlinked> batch);
  void linker();
  Status finish_linking();
  std::mutex link_mu_;
  std::condition_variable link_cv_, room_cv_;
  std::vector<Unlinked> unlinked_;
  uint64_t unlinked_bytes_ = 0;
  size_t max_unlinked_ = 0;
  std::deque<std::vector<Unlinked>> ready_;
  bool linking_done_ = false;
  std::optional<Error> link_error_;
  std::thread linker_;
  par::Progress* progress_ = nullptr;
};

void Scanner::fill(Node& n, const struct stat& st) const {
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.rdev = st.st_rdev;
  n.size = static_cast<uint64_t>(st.st_size);
  n.nlink = (o_.hardlinks || S_ISDIR(st.st_mode)) ? static_cast<uint32_t>(st.st_nlink) : 1;
  if (!o_.use_epoch) {
    n.mtime_sec = st.st_mtim.tv_sec;
    n.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  }
}

Status Scanner::set_xattrs(Node& n, std::vector<std::pair<std::string, std::string>> xs,
                           const std::string& path) const {
  size_t budget = 0;
  for (auto& [k, v] : xs) {
    if (o_.user_xattrs && !k.starts_with("user.")) continue;
    if (k.size() > fstree::kMaxXattrNameLength || v.size() > fstree::kMaxXattrValueLength)
      return input_error("{}: xattr {} too large", path, k);
    budget += 7 + k.size() + v.size() + (n.xattrs.empty() ? 12 : 0);
    if (budget > fstree::kMaxXattrBudget) return input_error("{}: xattrs exceed {} bytes", path, fstree::kMaxXattrBudget);
    n.set_xattr(std::move(k), std::move(v));
  }
  return {};
}

Status Scanner::scan_dir(Task& t) {
  Node& dir = *t.dir;
  auto dirfd = std::make_shared<sys::Fd>(BS_TRY(sys::open_file(t.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)));
  if (!o_.skip_xattrs) BS_TRY(set_xattrs(dir, BS_TRY(sys::read_xattrs_fd(dirfd->get(), t.path)), t.path));
  auto entries = BS_TRY(sys::list_dir_at(dirfd->get(), t.path));
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.name < b.name; });
  dir.children.reserve(entries.size());
  std::vector<Task> subdirs;
  std::vector<FileRef> files;
  uint64_t total = 0;
  for (auto& e : entries) {
    const struct stat& st = e.st;
    if (o_.skip_devices && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) continue;
    NodePtr n = fstree::make_node(st.st_mode);
    fill(*n, st);
    std::string child = join(t.path, e.name);
    if (S_ISLNK(st.st_mode)) {
      std::string target = BS_TRY(sys::read_link_at(dirfd->get(), e.name, child));
      if (target.empty()) return input_error("{}: empty symlink target", child);
      n->size = target.size();
      n->payload = std::move(target);
    }
    // Files to hash get their xattrs from their open fd in the batch;
    // directories from theirs in their own task.
    bool hashed = S_ISREG(st.st_mode) && st.st_size > 0;
    if (!o_.skip_xattrs && !hashed && !S_ISDIR(st.st_mode))
      BS_TRY(set_xattrs(*n, BS_TRY(sys::read_xattrs(child)), child));
    Node* raw = n.get();
    if (o_.hardlinks && !S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      std::lock_guard lk(mu_);
      inode_keys_[raw] = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    }
    BS_TRY_CTX(dir.add_child(std::move(e.name), std::move(n), false), "{}", child);
    if (S_ISDIR(st.st_mode)) {
      Task sub;
      sub.dir = raw;
      sub.path = std::move(child);
      subdirs.push_back(std::move(sub));
    } else if (hashed) {
      files.push_back(FileRef{raw, nullptr});
      total += raw->size;
    }
  }
  // Names are final now (children no longer move).
  size_t f = 0;
  for (auto& c : dir.children)
    if (f < files.size() && c.node.get() == files[f].node) files[f++].name = &c.name;
  if (progress_) progress_->add_total(total, files.size());
  // Subdirectories first: the batches, pushed last, are taken first.
  {
    std::lock_guard lk(mu_);
    for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) queue_.push_back(std::move(*it));
    size_t first = 0;
    uint64_t bytes = 0;
    std::vector<Task> batches;
    for (size_t i = 0; i < files.size(); i++) {
      bytes += files[i].node->size;
      if (i + 1 == files.size() || i + 1 - first == kBatchFiles || bytes >= kBatchBytes) {
        Task b;
        b.files.assign(files.begin() + static_cast<ptrdiff_t>(first), files.begin() + static_cast<ptrdiff_t>(i + 1));
        b.path = t.path;
        b.dirfd = dirfd;
        batches.push_back(std::move(b));
        first = i + 1;
        bytes = 0;
      }
    }
    for (auto it = batches.rbegin(); it != batches.rend(); ++it) queue_.push_back(std::move(*it));
  }
  cv_.notify_all();
  return {};
}

// Reads a file once, through the worker's buffer: fs-verity digest, inline
// content for small files, and the object-store copy when asked.
// Payload, store link and counters once the digest is known.
Status Scanner::finish_file(Node& n, std::optional<sys::ObjectFile>& obj) {
  n.payload = object_path(n.digest);
  if (obj) {
    obj->start_writeback();
    BS_TRY(queue_link(std::move(*obj), *n.payload, n.size));
    obj.reset();
  }
  files_++;
  bytes_ += n.size;
  return {};
}

Status Scanner::queue_link(sys::ObjectFile obj, std::string rel, uint64_t size) {
  std::unique_lock lock(link_mu_);
  if (link_error_) return *link_error_;
  unlinked_.push_back(Unlinked{std::move(obj), std::move(rel)});
  unlinked_bytes_ += size;
  if (unlinked_.size() < max_unlinked_ && unlinked_bytes_ < kLinkBatchBytes) return {};
  room_cv_.wait(lock, [&] { return ready_.size() < kReadyBatches || link_error_; });
  if (link_error_) return *link_error_;
  ready_.push_back(std::move(unlinked_));
  unlinked_.clear();
  unlinked_bytes_ = 0;
  link_cv_.notify_one();
  return {};
}

void Scanner::linker() {
  std::unique_lock lock(link_mu_);
  for (;;) {
    link_cv_.wait(lock, [&] { return !ready_.empty() || linking_done_; });
    if (ready_.empty()) return;
    std::vector<Unlinked> batch = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    Status st = link_batch(std::move(batch));
    lock.lock();
    if (!st.ok() && !link_error_) link_error_ = st.error();
    room_cv_.notify_all();
  }
}

// Hands the last partial batch to the linker and waits for it to finish.
Status Scanner::finish_linking() {
  {
    std::lock_guard lock(link_mu_);
    if (!unlinked_.empty()) ready_.push_back(std::move(unlinked_));
    linking_done_ = true;
  }
  link_cv_.notify_one();
  linker_.join();
  if (link_error_) return *link_error_;
  return {};
}

Status Scanner::link_batch(std::vector<Unlinked> batch) {
  if (batch.empty()) return {};
  BS_TRY(sys::sync_filesystem(o_.digest_store));
  for (Unlinked& u : batch) {
    bool fresh = BS_TRY(u.obj.link(u.rel));
    (fresh ? written_ : existing_)++;
  }
  return {};
}

Status Scanner::stage_file(int fd, Node& n, const std::string& path, Worker& w) {
  size_t blocks = static_cast<size_t>((n.size + kVerityBlock - 1) / kVerityBlock);
  if (w.used + blocks > kLanes) BS_TRY(flush(w));
  uint8_t* dst = w.stage.data() + w.used * kVerityBlock;
  size_t got = BS_TRY(sys::pread_full(fd, dst, static_cast<size_t>(n.size), 0, path));
  if (got != n.size) return input_error("{}: file changed while reading", path);
  std::memset(dst + got, 0, blocks * kVerityBlock - got);
  std::optional<sys::ObjectFile> obj;
  if (n.size <= kRecommendedInlineMax) {
    n.content.assign(dst, dst + got);
  } else if (!o_.digest_store.empty()) {
    obj.emplace(BS_TRY(sys::ObjectFile::create(o_.digest_store)));
    BS_TRY(sys::write_full(obj->fd(), ByteSpan(dst, got), o_.digest_store));
  }
  w.pending.push_back(Worker::Pending{&n, w.used, blocks, std::move(obj)});
  w.used += blocks;
  if (progress_) progress_->add(got);
  return {};
}

Status Scanner::flush(Worker& w) {
  if (w.pending.empty()) return {};
  // Unused slots hold stale bytes; their hashes are ignored.
  uint8_t h[32 * kLanes];
  w.lanes->hash(w.stage.data(), kVerityBlock, kVerityBlock, h);
  for (auto& p : w.pending) {
    w.tree->reset();
    for (size_t b = 0; b < p.blocks; b++) w.tree->add_leaf(h + 32 * (p.slot + b));
    p.node->digest = fsverity::digest_from_root(params_, p.node->size, w.tree->finish());
    BS_TRY(finish_file(*p.node, p.obj));
  }
  w.pending.clear();
  w.used = 0;
  return {};
}

Status Scanner::hash_file(int fd, Node& n, const std::string& path, Worker& w) {
  if (w.tree && n.size <= w.stage.size()) return stage_file(fd, n, path, w);
  bool small = n.size <= kRecommendedInlineMax;
  std::optional<sys::ObjectFile> obj;
  if (!o_.digest_store.empty() && !small) obj.emplace(BS_TRY(sys::ObjectFile::create(o_.digest_store)));
  fsverity::StreamDigester& d = *w.digester;
  d.reset();
  if (w.tree) w.tree->reset();
  uint64_t off = 0;
  while (off < n.size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(w.buf.size(), n.size - off));
    size_t got = BS_TRY(sys::pread_full(fd, w.buf.data(), want, off, path));
    if (got == 0) break;
    ByteSpan chunk(w.buf.data(), got);
    if (w.tree) {
      // Reads start at multiples of the buffer size: only the last one can
      // end in a partial block (zero-padded by hash_block).
      size_t i = 0;
      uint8_t h[32 * kLanes];
      if (got == w.buf.size()) {
        w.lanes->hash(w.buf.data(), kVerityBlock, kVerityBlock, h);
        for (size_t l = 0; l < kLanes; l++) w.tree->add_leaf(h + 32 * l);
        i = got;
      }
      for (; i < got; i += kVerityBlock) {
        w.leaf->hash_block(w.buf.data() + i, std::min(kVerityBlock, got - i), h);
        w.tree->add_leaf(h);
      }
    } else {
      d.update(chunk);
    }
    if (small) n.content.insert(n.content.end(), chunk.begin(), chunk.end());
    if (obj) BS_TRY(sys::write_full(obj->fd(), chunk, o_.digest_store));
    off += got;
    if (progress_) progress_->add(got);
  }
  if (off != n.size) return input_error("{}: file changed while reading", path);
  n.digest = w.tree ? fsverity::digest_from_root(params_, n.size, w.tree->finish()) : d.finish();
  return finish_file(n, obj);
}

Status Scanner::hash_batch(Task& t, Worker& w) {
  for (const FileRef& f : t.files) {
    std::string path = join(t.path, *f.name);
    auto opened = sys::open_at(t.dirfd->get(), *f.name, O_RDONLY | O_NOFOLLOW);
    if (!opened.ok()) return sys_error(fmt::format("open {}", path), opened.error().sys_errno());
    sys::Fd fd = std::move(*opened);
    if (!o_.skip_xattrs) BS_TRY(set_xattrs(*f.node, BS_TRY(sys::read_xattrs_fd(fd.get(), path)), path));
    BS_TRY(hash_file(fd.get(), *f.node, path, w));
  }
  return {};
}

void Scanner::work() {
  Worker w;
  w.buf.resize(kReadBuffer);
  w.digester = std::make_unique<fsverity::StreamDigester>(params_);
  if (params_.alg == crypto::HashAlg::kSha256 && params_.block_size == kVerityBlock && params_.salt.empty() &&
      crypto::multi_lane_enabled(crypto::HashAlg::kSha256)) {
    w.lanes.emplace();
    w.leaf = std::make_unique<fsverity::BlockHasher>(params_);
    w.tree = std::make_unique<fsverity::MerkleBuilder>(params_);
    w.stage.resize(kReadBuffer);
  }
  for (;;) {
    Task t;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !queue_.empty() || running_ == 0; });
      if (queue_.empty() || error_) {
        queue_.clear();
        cv_.notify_all();
        if (running_ == 0) {
          if (!error_) {
            // Files still staged: finish them (no lock needed for that, but
            // an error must be recorded under it).
            lk.unlock();
            Status st = flush(w);
            lk.lock();
            if (!st.ok() && !error_) error_ = st.error();
          }
          return;
        }
        continue;
      }
      t = std::move(queue_.back());
      queue_.pop_back();
      running_++;
    }
    Status st = t.dir ? scan_dir(t) : hash_batch(t, w);
    t = Task{};  // drop the directory fd outside the lock
    std::lock_guard lk(mu_);
    running_--;
    if (!st.ok() && !error_) error_ = st.error();
    if (running_ == 0 && (queue_.empty() || error_)) cv_.notify_all();
  }
}

// --hardlinks: every name was scanned as its own node; the first name of an
// inode (st_dev, st_ino) in depth-first name order becomes the primary, the
// others link to it.
Status Scanner::link_hardlinks(Node& root) {
  std::map<std::pair<uint64_t, uint64_t>, NodePtr> first;
  std::function<Status(Node&)> visit = [&](Node& dir) -> Status {
    for (auto& e : dir.children) {
      if (e.node->is_dir()) {
        BS_TRY(visit(*e.node));
        continue;
      }
      if (e.node->nlink <= 1) continue;
      auto k = inode_keys_.find(e.node.get());
      if (k == inode_keys_.end()) continue;
      auto [it, fresh] = first.emplace(k->second, e.node);
      if (!fresh) {
        e.node = it->second;
        e.hardlink = true;
      }
    }
    return {};
  };
  return visit(root);
}

Result<fstree::Tree> Scanner::run(const std::string& root, ScanStats* stats) {
  auto t0 = std::chrono::steady_clock::now();
  params_.alg = o_.hash;
  struct stat st = BS_TRY(sys::lstat_path(root));
  if (!S_ISDIR(st.st_mode)) return input_error("{}: not a directory", root);
  NodePtr r = fstree::make_node(st.st_mode);
  fill(*r, st);
  // Unlinked objects hold a descriptor each: a quarter of the limit.
  // Up to kReadyBatches + 2 batches hold a descriptor per object: half the limit at most.
  max_unlinked_ = std::clamp<size_t>(sys::raise_fd_limit() / (2 * (kReadyBatches + 2)), 16, kLinkBatchFiles);
  par::Progress progress("hashing", 0, "B");
  if (o_.progress) progress_ = &progress;
  Task t;
  t.dir = r.get();
  t.path = root;
  queue_.push_back(std::move(t));
  unsigned n = std::max(1u, par::threads());
  if (!o_.digest_store.empty()) linker_ = std::thread([this] { linker(); });
  par::parallel_for(n, [&](size_t) { work(); });
  Status linked = o_.digest_store.empty() ? Status{} : finish_linking();
  progress.done();
  if (error_) return *error_;
  BS_TRY(linked);
  if (o_.hardlinks) BS_TRY(link_hardlinks(*r));
  double hash = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  if (!o_.digest_store.empty()) BS_TRY(sys::sync_filesystem(o_.digest_store));  // the last links
  if (stats) {
    stats->hash_seconds = hash;
    stats->sync_seconds = seconds_since(t0);
    stats->files = files_;
    stats->bytes = bytes_;
    stats->objects_written = written_;
    stats->objects_existing = existing_;
  }
  return fstree::Tree{r};
}

}  // namespace

Result<fstree::Tree> scan_directory(const std::string& root, const ScanOptions& o, ScanStats* stats) {
  if (!o.digest_store.empty()) BS_TRY(sys::mkdir_p(o.digest_store));
  Scanner s(o);
  return s.run(root, stats);
}

}  // namespace bootseal::cli
