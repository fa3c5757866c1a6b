// The content-addressed repository, laid out as bootc's composefs backend
// (composefs-rs repository.rs) expects:
//
//   <root>/composefs/            mode 0700
//     meta.json                  RepoMeta (store/meta.h)
//     objects/<2 hex>/<rest>     file contents, named by fs-verity digest
//     images/<hex>               EROFS images, named by fs-verity digest
//     streams/<name>             symlinks "../objects/xx/rest" to records
//     streams/refs/<name>        named references (GC roots): symlinks to
//                                "../<stream name>" (nested names allowed)
//
// Crash safety: objects and images are written to anonymous temporary files
// (O_TMPFILE, or a named ".tmp-*" fallback) in their final directory,
// synced, fs-verity enabled, and only then linked in under their digest; a
// stream symlink or ref is created only after what it points at is durable.
// A crash therefore leaves no visible partial object and no dangling ref.
//
// Locking: flock on the composefs/ directory. Writers that only add
// (import, tag) take it shared and can run concurrently (content addressing
// makes their writes commute); gc takes it exclusively.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "fsverity/fsverity.h"
#include "store/meta.h"
#include "sys/file.h"
#include "sys/flock.h"
#include "sys/repo_io.h"

namespace bootseal::store {

inline constexpr const char* kDefaultRepo = "/var/lib/bootseal/repo";
inline constexpr size_t kPendingObjects = 4096;                // objects per sync batch (at most; see fd limit)
inline constexpr uint64_t kPendingBytes = 256ull << 20;        // bytes per sync batch
inline constexpr uint64_t kMaxInFlight = 64ull << 20;          // bytes queued for async writes

struct RepoOptions {
  bool require_verity = false;  // fail when fs-verity cannot be enabled
  bool wait_lock = true;        // wait for the lock (false: fail fast)
  bool exclusive = false;       // take the lock exclusively (gc)
};

// A repository's fsck report.
struct FsckReport {
  uint64_t objects = 0, images = 0, streams = 0, refs = 0;
  std::vector<std::string> problems;  // one line each
};

struct GcReport {
  std::vector<std::string> removed;  // "objects/ab/cd…", "images/…", "streams/…"
  uint64_t bytes = 0;
};

class Repository {
 public:
  // Creates <root>/composefs with the given metadata; an existing repository
  // with the same settings is fine, different settings are an error that
  // says what differs.
  static Result<Repository> init(const std::string& root, const RepoMeta& meta, const RepoOptions& opts);
  static Result<Repository> open(const std::string& root, const RepoOptions& opts);
  Repository(Repository&&) noexcept;  // not after write_object_async() started workers
  ~Repository();

  const RepoMeta& meta() const { return meta_; }
  const std::string& path() const { return path_; }  // .../composefs
  fsverity::Params params() const;
  crypto::HashAlg algorithm() const { return meta_.algorithm; }

  // ---- objects
  // Streams data from `read` (until it returns 0) into a new object while
  // hashing it; returns its digest. Deduplicates: an object already present
  // is not written again (the temporary is dropped). The object becomes
  // visible at the next flush() (or when the batch fills).
  Result<Bytes> write_object(const std::function<Result<size_t>(uint8_t*, size_t)>& read);
  // Contents already in memory are hashed first: an object already present
  // is not written at all, not even to a temporary file.
  Result<Bytes> write_object(ByteSpan data);
  // An object with the contents of the open regular file `fd` (`size`
  // bytes, `what` names it in errors): reflinked or copied in the kernel
  // (sys::clone_file_data) where the filesystem allows, then hashed from the
  // copy, so the digest is of what was stored; read and written otherwise.
  Result<Bytes> write_object_from_fd(int fd, uint64_t size, const std::string& what);
  // The same on a worker thread (par::threads() of them, started on first
  // use): hashing and writing overlap with the caller reading the next file.
  // At most kMaxInFlight bytes wait at a time (the caller blocks).
  std::future<Result<Bytes>> write_object_async(Bytes data);
  // Makes every object written so far durable and visible.
  Status flush();
  bool has_object(const std::string& hex) const;
  Result<Bytes> read_object(const std::string& hex, uint64_t max) const;
  static std::string object_rel(const std::string& hex) { return hex.substr(0, 2) + "/" + hex.substr(2); }

  // ---- images
  // Writes images/<digest> (flushes objects first); returns the hex digest.
  Result<std::string> write_image(ByteSpan image);
  bool has_image(const std::string& hex) const;
  Result<Bytes> read_image(const std::string& hex) const;

  // ---- streams and refs
  // streams/<name> -> ../objects/<object>; replaces an existing one.
  Status set_stream(const std::string& name, const std::string& object_hex);
  // The object a stream points at, nullopt if absent or dangling.
  Result<std::optional<std::string>> stream_object(const std::string& name) const;
  // streams/refs/<ref> -> ../<stream> (ref may contain '/'; no "..").
  Status set_ref(const std::string& ref, const std::string& stream);
  Status remove_ref(const std::string& ref);
  // ref -> stream name
  Result<std::map<std::string, std::string>> list_refs() const;
  Result<std::vector<std::string>> list_streams() const;

  // ---- maintenance
  // `referenced(stream, object bytes)` returns the object and image hexes a
  // stream's record keeps alive (the caller knows the record formats).
  using RefsFn = std::function<Result<std::pair<std::vector<std::string>, std::vector<std::string>>>(
      const std::string& stream, ByteSpan record)>;
  Result<FsckReport> fsck(const RefsFn& refs) const;
  Result<GcReport> gc(const RefsFn& refs, bool dry_run);

  // Receives the one-time "fs-verity not supported" warning (CLI: warn()).
  static inline std::function<void(const std::string&)> warn_fn;

  uint64_t objects_written() const { return written_; }
  uint64_t objects_cloned() const { return cloned_; }  // by reflink or copy_file_range
  uint64_t objects_deduplicated() const { return deduped_; }

 private:
  Repository() = default;
  Status sync_and_link_pending();
  Status stage(sys::TempFile tmp, const std::string& hex, uint64_t size);
  struct Async;
  std::unique_ptr<Async> async_;
  std::unique_ptr<std::mutex> stage_mu_ = std::make_unique<std::mutex>();
  Status enable_verity_on(sys::TempFile& f, const std::string& what);

  std::string path_;
  RepoMeta meta_;
  RepoOptions opts_;
  sys::FileLock lock_;
  sys::Fd dir_, objects_, images_, streams_;
  struct Pending {
    sys::TempFile file;
    std::string hex;
    uint64_t size;
  };
  std::vector<Pending> pending_;
  std::unordered_set<std::string> pending_names_;
  uint64_t pending_bytes_ = 0;
  size_t max_pending_ = 256;  // kPendingObjects capped by a quarter of the fd limit
  std::map<std::string, sys::Fd> subdirs_;  // objects/<2 hex> handles
  bool unsynced_names_ = false;
  bool verity_supported_ = true;
  bool verity_warned_ = false;
  uint64_t written_ = 0, deduped_ = 0;
  uint64_t cloned_ = 0;
};

// The repository root: `flag` (--repo), else $BOOTSEAL_REPO, else
// `booted_root` (the running sealed system's physical root, which holds
// composefs/, when the caller found one), else kDefaultRepo.
std::string repo_root(const std::string& flag, const std::optional<std::string>& booted_root = std::nullopt);

}  // namespace bootseal::store
