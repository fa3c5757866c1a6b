#include "cli/composefs_scan.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "base/hex.h"
#include "fstree/dumpfile.h"
#include "fsverity/fsverity.h"
#include "par/pool.h"
#include "par/progress.h"
#include "sys/dirscan.h"

namespace bootseal::cli {

using fstree::NodePtr;

std::string object_path(ByteSpan digest) {
  std::string hex = to_hex(digest);
  return hex.substr(0, 2) + "/" + hex.substr(2);
}

namespace {

struct Job {
  NodePtr node;
  std::string path;
};

class Scanner {
 public:
  explicit Scanner(const ScanOptions& o) : o_(o) {}
  Result<fstree::Tree> run(const std::string& root, ScanStats* stats);

 private:
  Result<NodePtr> load(const std::string& path, const struct stat& st);
  Status scan_dir(const std::string& path, fstree::Node& dir);
  Status hash_all();
  Status hash_one(Job& job, Bytes& buf);

  ScanOptions o_;
  std::vector<Job> jobs_;
  std::map<std::pair<dev_t, ino_t>, NodePtr> inodes_;
  std::atomic<uint64_t> written_{0}, existing_{0};
  par::Progress* progress_ = nullptr;
};

Result<NodePtr> Scanner::load(const std::string& path, const struct stat& st) {
  NodePtr n = fstree::make_node(st.st_mode);
  n->uid = st.st_uid;
  n->gid = st.st_gid;
  n->rdev = st.st_rdev;
  n->size = static_cast<uint64_t>(st.st_size);
  n->nlink = (o_.hardlinks || S_ISDIR(st.st_mode)) ? static_cast<uint32_t>(st.st_nlink) : 1;
  if (!o_.use_epoch) {
    n->mtime_sec = st.st_mtim.tv_sec;
    n->mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target = BS_TRY(sys::read_link(path));
    if (target.empty()) return input_error("{}: empty symlink target", path);
    n->size = target.size();
    n->payload = std::move(target);
  }
  if (!o_.skip_xattrs) {
    auto xs = BS_TRY(sys::read_xattrs(path));
    size_t budget = 0;
    for (auto& [k, v] : xs) {
      if (o_.user_xattrs && !k.starts_with("user.")) continue;
      if (k.size() > fstree::kMaxXattrNameLength || v.size() > fstree::kMaxXattrValueLength)
        return input_error("{}: xattr {} too large", path, k);
      budget += 7 + k.size() + v.size() + (n->xattrs.empty() ? 12 : 0);
      if (budget > fstree::kMaxXattrBudget) return input_error("{}: xattrs exceed {} bytes", path, fstree::kMaxXattrBudget);
      n->set_xattr(k, v);
    }
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) jobs_.push_back(Job{n, path});
  return n;
}

Status Scanner::scan_dir(const std::string& path, fstree::Node& dir) {
  auto entries = BS_TRY(sys::list_dir(path.empty() ? "/" : path));
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (auto& e : entries) {
    std::string child = path + "/" + e.name;
    if (o_.skip_devices && (S_ISBLK(e.st.st_mode) || S_ISCHR(e.st.st_mode))) continue;
    if (o_.hardlinks && !S_ISDIR(e.st.st_mode) && e.st.st_nlink > 1) {
      auto key = std::make_pair(e.st.st_dev, e.st.st_ino);
      auto it = inodes_.find(key);
      if (it != inodes_.end()) {
        BS_TRY_CTX(dir.add_child(e.name, it->second, true), "{}", child);
        continue;
      }
      NodePtr n = BS_TRY(load(child, e.st));
      inodes_[key] = n;
      BS_TRY_CTX(dir.add_child(e.name, n, false), "{}", child);
      continue;
    }
    NodePtr n = BS_TRY(load(child, e.st));
    BS_TRY_CTX(dir.add_child(e.name, n, false), "{}", child);
    if (n->is_dir()) BS_TRY(scan_dir(child, *n));
  }
  return {};
}

// Reads a file once, through a per-thread buffer: fs-verity digest, inline
// content for small files, and the object-store copy when asked.
Status Scanner::hash_one(Job& job, Bytes& buf) {
  fstree::Node& n = *job.node;
  sys::Fd fd = BS_TRY(sys::open_file(job.path, O_RDONLY | O_NOFOLLOW));
  fsverity::Params p;
  p.alg = o_.hash;
  bool small = n.size <= kRecommendedInlineMax;
  std::optional<sys::ObjectFile> obj;
  if (!o_.digest_store.empty() && !small) obj.emplace(BS_TRY(sys::ObjectFile::create(o_.digest_store)));
  fsverity::StreamDigester d(p);
  uint64_t off = 0;
  while (off < n.size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), n.size - off));
    size_t got = BS_TRY(sys::pread_full(fd.get(), buf.data(), want, off, job.path));
    if (got == 0) break;
    ByteSpan chunk(buf.data(), got);
    d.update(chunk);
    if (small) n.content.insert(n.content.end(), chunk.begin(), chunk.end());
    if (obj) BS_TRY(sys::write_full(obj->fd(), chunk, o_.digest_store));
    off += got;
    if (progress_) progress_->add(got);
  }
  if (off != n.size) return input_error("{}: file changed while reading", job.path);
  n.digest = d.finish();
  if (obj) {
    bool fresh = BS_TRY(obj->link(object_path(n.digest)));
    (fresh ? written_ : existing_)++;
  }
  n.payload = object_path(n.digest);
  return {};
}

Status Scanner::hash_all() {
  std::vector<std::optional<Error>> errors(jobs_.size());
  par::parallel_for(jobs_.size(), [&](size_t i) {
    thread_local Bytes buf;
    if (buf.empty()) buf.resize(1 << 20);
    Status st = hash_one(jobs_[i], buf);
    if (!st.ok()) errors[i] = st.error();
  });
  for (auto& e : errors)
    if (e) return *e;
  return {};
}

Result<fstree::Tree> Scanner::run(const std::string& root, ScanStats* stats) {
  struct stat st = BS_TRY(sys::lstat_path(root));
  if (!S_ISDIR(st.st_mode)) return input_error("{}: not a directory", root);
  NodePtr r = BS_TRY(load(root, st));
  BS_TRY(scan_dir(root == "/" ? "" : root, *r));
  uint64_t total = 0;
  for (auto& j : jobs_) total += j.node->size;
  par::Progress progress("hashing", total, "B");
  if (o_.progress) progress_ = &progress;
  BS_TRY(hash_all());
  progress.done();
  if (!o_.digest_store.empty()) BS_TRY(sys::sync_filesystem(o_.digest_store));
  if (stats) {
    stats->files = jobs_.size();
    stats->bytes = total;
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
