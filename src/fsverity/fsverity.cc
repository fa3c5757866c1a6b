#include "fsverity/fsverity.h"


#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "crypto/sha_multi.h"
#include "par/pool.h"
#include "sys/file.h"
#include "sys/mapped_range.h"

namespace bootseal::fsverity {

Status validate(const Params& p) {
  if (p.alg != HashAlg::kSha256 && p.alg != HashAlg::kSha512)
    return input_error("fs-verity supports only sha256 and sha512, not {}", crypto::hash_name(p.alg));
  if (!is_power_of_two(p.block_size) || p.block_size < kMinBlockSize || p.block_size > kMaxBlockSize)
    return input_error("invalid block size {}: must be a power of two between {} and {}", p.block_size,
                       kMinBlockSize, kMaxBlockSize);
  if (p.salt.size() > kMaxSaltSize)
    return input_error("salt is {} bytes; fs-verity allows at most {}", p.salt.size(), kMaxSaltSize);
  return {};
}

uint8_t algorithm_id(HashAlg alg) { return alg == HashAlg::kSha512 ? kAlgSha512 : kAlgSha256; }

Result<HashAlg> alg_from_id(uint8_t id) {
  if (id == kAlgSha256) return HashAlg::kSha256;
  if (id == kAlgSha512) return HashAlg::kSha512;
  return input_error("unknown fs-verity hash algorithm {}", id);
}

Bytes descriptor(const Params& p, uint64_t data_size, ByteSpan root_hash) {
  ByteWriter w;
  w.u8(1);  // version
  w.u8(algorithm_id(p.alg));
  w.u8(static_cast<uint8_t>(__builtin_ctz(p.block_size)));
  w.u8(static_cast<uint8_t>(p.salt.size()));
  w.u32(0);  // sig_size: not part of the digest
  w.u64(data_size);
  w.bytes(root_hash);
  w.zeros(64 - root_hash.size());
  w.bytes(p.salt);
  w.zeros(32 - p.salt.size());
  w.zeros(144);
  return w.take();
}

Bytes digest_from_root(const Params& p, uint64_t data_size, ByteSpan root_hash) {
  return crypto::digest(p.alg, descriptor(p, data_size, root_hash));
}

// ---- BlockHasher

BlockHasher::BlockHasher(const Params& p)
    : p_(p), hash_size_(crypto::digest_size(p.alg)), h_(p.alg), salted_(p.alg), zeros_(p.block_size, 0) {
  if (!p.salt.empty()) {
    // The salt is zero-padded to the hash function's block size and prepended
    // to every block; hash that prefix once and copy the state per block.
    Bytes padded(round_up(p.salt.size(), crypto::block_size(p.alg)), 0);
    std::memcpy(padded.data(), p.salt.data(), p.salt.size());
    salted_.update(padded);
  }
  if (crypto::multi_lane_enabled(p.alg)) {
    // The salt padded as above, as the lanes' shared prefix.
    Bytes prefix;
    if (!p.salt.empty()) {
      prefix.assign(round_up(p.salt.size(), crypto::block_size(p.alg)), 0);
      std::memcpy(prefix.data(), p.salt.data(), p.salt.size());
    }
    const size_t bs = p.block_size;
    if (p.alg == HashAlg::kSha256) {
      auto m = std::make_shared<crypto::Sha256Multi>(prefix);
      multi_ = [m, bs](const uint8_t* data, uint8_t* out) { m->hash(data, bs, bs, out); };
      lanes_ = crypto::Sha256Multi::kLanes;
    } else {
      auto m = std::make_shared<crypto::Sha512Multi>(prefix);
      multi_ = [m, bs](const uint8_t* data, uint8_t* out) { m->hash(data, bs, bs, out); };
      lanes_ = crypto::Sha512Multi::kLanes;
    }
  }
}

void BlockHasher::hash_block(const uint8_t* data, size_t len, uint8_t* out) {
  if (!p_.salt.empty()) h_.copy_state_from(salted_);
  h_.update(ByteSpan(data, len));
  if (len < p_.block_size) h_.update(ByteSpan(zeros_.data(), p_.block_size - len));
  h_.finish(out);
}

namespace {
// Page-cache data is cold: the hardware prefetchers follow a stream only within
// a 4 KiB page, so every page would start with a full memory latency (and a TLB
// miss). Touching the start of the next page while hashing the current one
// hides that; the prefetchers pick the rest of the page up from there.
constexpr size_t kPrefetchPage = 4096;
constexpr size_t kPrefetchBytes = 512;
constexpr size_t kCacheLine = 64;

inline void prefetch_page(const uint8_t* p, const uint8_t* end) {
  const uint8_t* stop = std::min(p + kPrefetchBytes, end);
  for (; p < stop; p += kCacheLine) __builtin_prefetch(p);
}
}  // namespace

void BlockHasher::hash_blocks(const uint8_t* data, size_t len, uint8_t* out) {
  const uint8_t* end = data + len;
  const size_t bs = p_.block_size;
  size_t off = 0;
  if (lanes_)
    for (; len - off >= lanes_ * bs; off += lanes_ * bs, out += lanes_ * hash_size_) multi_(data + off, out);
  for (; off < len; off += bs, out += hash_size_) {
    const size_t n = std::min(bs, len - off);
    if (!p_.salt.empty()) h_.copy_state_from(salted_);
    // Whole pages, one update each, touching the next page first.
    for (size_t piece = 0; piece < n; piece += kPrefetchPage) {
      const uint8_t* at = data + off + piece;
      if ((off + piece) % kPrefetchPage == 0) prefetch_page(at + kPrefetchPage, end);
      h_.update(ByteSpan(at, std::min(kPrefetchPage, n - piece)));
    }
    if (n < bs) h_.update(ByteSpan(zeros_.data(), bs - n));
    h_.finish(out);
  }
}

// ---- MerkleBuilder

MerkleBuilder::MerkleBuilder(const Params& p, bool keep_levels) : p_(p), hasher_(p), keep_(keep_levels) {}

void MerkleBuilder::push(size_t level, const uint8_t* hash) {
  if (partial_.size() <= level) {
    partial_.emplace_back();
    partial_.back().reserve(p_.block_size);
    emitted_.push_back(0);
    if (keep_) levels_.emplace_back();
  }
  Bytes& blk = partial_[level];
  blk.insert(blk.end(), hash, hash + hasher_.hash_size());
  // Block full (no room for another hash): hash it into the next level.
  if (blk.size() + hasher_.hash_size() > p_.block_size) flush(level);
}

void MerkleBuilder::flush(size_t level) {
  Bytes& blk = partial_[level];
  blk.resize(p_.block_size, 0);
  uint8_t h[64];
  hasher_.hash_block(blk.data(), blk.size(), h);
  if (keep_) levels_[level].insert(levels_[level].end(), blk.begin(), blk.end());
  emitted_[level]++;
  blk.clear();
  push(level + 1, h);
}

void MerkleBuilder::reset() {
  for (auto& b : partial_) b.clear();
  std::fill(emitted_.begin(), emitted_.end(), 0);
  levels_.clear();
  if (keep_) levels_.resize(partial_.size());
  leaves_ = 0;
}

void MerkleBuilder::add_leaf(const uint8_t* hash) {
  leaves_++;
  push(0, hash);
}

void MerkleBuilder::add_leaf_block(const uint8_t* hash, uint64_t leaves) {
  if (partial_.empty()) {
    partial_.emplace_back();
    emitted_.push_back(0);
  }
  // The caller hashed this leaf-level block itself: count it as emitted and
  // carry its hash one level up, as flush(0) would have.
  leaves_ += leaves;
  emitted_[0]++;
  push(1, hash);
}

Bytes MerkleBuilder::finish() {
  const size_t hs = hasher_.hash_size();
  if (leaves_ == 0) return Bytes(hs, 0);
  if (leaves_ == 1) {
    // A single data block is its own root: the tree has no levels.
    levels_.clear();
    return Bytes(partial_[0].begin(), partial_[0].begin() + static_cast<ptrdiff_t>(hs));
  }
  // Walk up the levels, flushing partial blocks. The root block is the only
  // block of the first level that holds exactly one block in total.
  for (size_t level = 0;; level++) {
    Bytes& blk = partial_[level];
    const uint64_t total = emitted_[level] + (blk.empty() ? 0 : 1);
    if (total == 1) {
      if (keep_) {
        if (!blk.empty()) {
          blk.resize(p_.block_size, 0);
          levels_[level].insert(levels_[level].end(), blk.begin(), blk.end());
        }
        levels_.resize(level + 1);
      }
      if (!blk.empty()) {
        Bytes root(hs);
        blk.resize(p_.block_size, 0);
        hasher_.hash_block(blk.data(), blk.size(), root.data());
        return root;
      }
      // The level's one block was full and already hashed: its hash sits alone
      // in the next level's partial block.
      return partial_[level + 1];
    }
    if (!blk.empty()) flush(level);
  }
}

Bytes MerkleTree::serialized() const {
  Bytes out;
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) out.insert(out.end(), it->begin(), it->end());
  return out;
}

MerkleTree build_tree(ByteSpan data, const Params& p) {
  BlockHasher bh(p);
  MerkleBuilder mb(p, true);
  Bytes leaves(div_round_up(data.size(), p.block_size) * bh.hash_size());
  bh.hash_blocks(data.data(), data.size(), leaves.data());
  for (size_t off = 0; off < leaves.size(); off += bh.hash_size()) mb.add_leaf(leaves.data() + off);
  MerkleTree t;
  t.root_hash = mb.finish();
  t.levels = mb.levels();
  t.digest = digest_from_root(p, data.size(), t.root_hash);
  return t;
}

Bytes digest_buffer(ByteSpan data, const Params& p) {
  StreamDigester d(p);
  d.update(data);
  return d.finish();
}

// ---- StreamDigester

namespace {
// Whole blocks hashed per hash_blocks call: one run of SHA-256 lanes, two of SHA-512.
constexpr size_t kBatchBlocks = crypto::Sha256Multi::kLanes;
}  // namespace

StreamDigester::StreamDigester(const Params& p)
    : p_(p),
      hasher_(p),
      tree_(p),
      block_(p.block_size),
      hash_(crypto::digest_size(p.alg)),
      hashes_(kBatchBlocks * crypto::digest_size(p.alg)) {}

void StreamDigester::reset() {
  tree_.reset();
  fill_ = 0;
  size_ = 0;
}

void StreamDigester::update(ByteSpan data) {
  size_ += data.size();
  const uint8_t* src = data.data();
  size_t n = data.size();
  if (fill_ > 0) {
    size_t take = std::min(n, block_.size() - fill_);
    std::memcpy(block_.data() + fill_, src, take);
    fill_ += take;
    src += take;
    n -= take;
    if (fill_ < block_.size()) return;
    hasher_.hash_block(block_.data(), block_.size(), hash_.data());
    tree_.add_leaf(hash_.data());
    fill_ = 0;
  }
  // Whole blocks straight from the caller's buffer, without copying, in
  // batches that hash_blocks can hash side by side.
  const size_t hs = hash_.size();
  while (n >= block_.size()) {
    const size_t k = std::min(n / block_.size(), kBatchBlocks);
    hasher_.hash_blocks(src, k * block_.size(), hashes_.data());
    for (size_t i = 0; i < k; i++) tree_.add_leaf(hashes_.data() + i * hs);
    src += k * block_.size();
    n -= k * block_.size();
  }
  if (n) {
    std::memcpy(block_.data(), src, n);
    fill_ = n;
  }
}

Bytes StreamDigester::finish() {
  if (fill_ > 0) {
    hasher_.hash_block(block_.data(), fill_, hash_.data());
    tree_.add_leaf(hash_.data());
    fill_ = 0;
  }
  Bytes out = digest_from_root(p_, size_, tree_.finish());
  reset();
  return out;
}

// ---- Files

namespace {

// Read unit of the serial path (small files): stays in the core's L2 cache.
constexpr size_t kReadBytes = 256 * 1024;
// Work unit of the parallel path: one mapping, hashed front to back by one
// thread. A multiple of every block size and of the page size; big enough to
// amortise mmap/munmap (and the TLB shootdown munmap sends to the other
// threads), small enough to balance the threads at the end of a window.
constexpr size_t kTaskBytes = 4 * 1024 * 1024;
// Data per window. Memory held: the leaf hashes of one window (window /
// block_size * hash_size: 2 MiB for sha256 at 4 KiB blocks) and one mapping
// per thread. A multiple of the data covered by one block of leaf hashes
// (block_size^2 / hash_size, at most 128 MiB), so only the file's last window
// ends in a partial block of leaf hashes.
constexpr uint64_t kWindowBytes = 256ull * 1024 * 1024;
static_assert(kWindowBytes % (uint64_t{kMaxBlockSize} * kMaxBlockSize / 32) == 0);
static_assert(kTaskBytes % kMaxBlockSize == 0);
// Blocks of leaf hashes hashed per task in the second pass of a window.
constexpr size_t kLeafBlocksPerTask = 16;
// Files from this size on are hashed in place from mappings, their blocks in
// parallel (with one thread, the mapping still saves pread's copy).
constexpr uint64_t kBigFile = 4ull * 1024 * 1024;
// digest_files: files up to kBatchFile bytes are read into a per-task buffer
// of kBatchBytes and their blocks hashed together (side by side across
// files); tasks take kFilesPerTask files each.
constexpr uint64_t kBatchFile = 256 * 1024;
constexpr size_t kBatchBytes = 1024 * 1024;
constexpr size_t kFilesPerTask = 64;
static_assert(kBatchFile % kMaxBlockSize == 0 && kBatchBytes >= kBatchFile);

bool same_params(const Params& a, const Params& b) {
  return a.alg == b.alg && a.block_size == b.block_size && a.salt == b.salt;
}

// Whether a BlockHasher made now would hash side by side (cached hashers are
// remade when this changes, which only tests and benchmarks do).
bool multi_wanted(const Params& p) { return crypto::multi_lane_enabled(p.alg); }

// One BlockHasher per thread, rebuilt only when the parameters change.
BlockHasher& thread_hasher(const Params& p) {
  thread_local std::unique_ptr<BlockHasher> bh;
  thread_local Params bh_params;
  if (!bh || !same_params(bh_params, p) || bh->multi_lane() != multi_wanted(p)) {
    bh = std::make_unique<BlockHasher>(p);
    bh_params = p;
  }
  return *bh;
}

// One MerkleBuilder per thread, for the many small files of digest_files.
MerkleBuilder& thread_tree(const Params& p) {
  thread_local std::unique_ptr<MerkleBuilder> tree;
  thread_local Params tree_params;
  if (!tree || !same_params(tree_params, p)) {
    tree = std::make_unique<MerkleBuilder>(p);
    tree_params = p;
  }
  return *tree;
}

Result<Bytes> digest_fd_serial(int fd, uint64_t size, const Params& p, const std::string& path,
                               const ProgressFn& progress) {
  // Reused per thread: many small files must not pay for hasher set-up each.
  thread_local std::unique_ptr<StreamDigester> cached;
  if (!cached || !same_params(cached->params(), p) || cached->multi_lane() != multi_wanted(p)) cached = std::make_unique<StreamDigester>(p);
  StreamDigester& d = *cached;
  d.reset();
  thread_local Bytes buf;
  buf.resize(std::max<size_t>(kReadBytes, p.block_size));
  uint64_t off = 0;
  while (off < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    size_t got = BS_TRY(sys::pread_full(fd, buf.data(), want, off, path));
    if (got != want) return input_error("{}: file shrank while being read", path);
    d.update(ByteSpan(buf.data(), got));
    off += got;
    if (progress) progress(got);
  }
  return d.finish();
}

// Hashes the data blocks of file bytes [off, off + len) into `out`: in place
// from a mapping of the page cache, or through a read buffer where the file
// system cannot mmap.
Status hash_range(int fd, uint64_t off, size_t len, const std::string& path, BlockHasher& bh, uint32_t block_size,
                  uint8_t* out) {
  auto m = sys::MappedRange::map(fd, off, len, path);
  if (m.ok()) {
    bh.hash_blocks(m->data().data(), len, out);
    return {};
  }
  if (m.error().kind() != ErrorKind::kUnsupported) return m.error();
  thread_local Bytes buf;
  buf.resize(std::max<size_t>(kReadBytes, block_size));
  for (size_t pos = 0; pos < len; pos += buf.size()) {
    size_t want = std::min(buf.size(), len - pos);
    size_t got = BS_TRY(sys::pread_full(fd, buf.data(), want, off + pos, path));
    if (got != want) return input_error("{}: file shrank while being read", path);
    bh.hash_blocks(buf.data(), want, out + pos / block_size * bh.hash_size());
  }
  return {};
}

// Big files: per window, pass 1 hashes the data blocks (each thread takes whole
// tasks: contiguous ranges it maps and hashes in place), pass 2 hashes the
// blocks of leaf hashes; the serial tree builder only sees their hashes
// (1/128 of the leaves for sha256 at 4 KiB blocks).
Result<Bytes> digest_fd_parallel(int fd, uint64_t size, const Params& p, const std::string& path,
                                 const ProgressFn& progress) {
  const size_t hs = crypto::digest_size(p.alg);
  const uint64_t bs = p.block_size;
  const uint64_t per_block = bs / hs;  // leaf hashes per block
  MerkleBuilder tree(p);
  Bytes leaf_hashes, block_hashes;
  std::atomic<bool> failed{false};
  Error first_error(ErrorKind::kInternal, "");
  std::mutex err_mu;
  auto fail = [&](Error e) {
    std::lock_guard lk(err_mu);
    if (!failed.exchange(true)) first_error = std::move(e);
  };

  for (uint64_t win = 0; win < size; win += kWindowBytes) {
    const uint64_t win_len = std::min<uint64_t>(kWindowBytes, size - win);
    const uint64_t blocks = div_round_up(win_len, bs);
    leaf_hashes.resize(blocks * hs);
    par::parallel_for(static_cast<size_t>(div_round_up(win_len, kTaskBytes)), [&](size_t t) {
      if (failed) return;
      const uint64_t rel = uint64_t{t} * kTaskBytes;
      const size_t len = static_cast<size_t>(std::min<uint64_t>(kTaskBytes, win_len - rel));
      Status st = hash_range(fd, win + rel, len, path, thread_hasher(p), p.block_size,
                             leaf_hashes.data() + rel / bs * hs);
      if (!st.ok()) return fail(std::move(st).error());
      if (progress) progress(len);
    });
    if (failed) return first_error;

    const uint64_t leaf_blocks = div_round_up(blocks, per_block);
    block_hashes.resize(leaf_blocks * hs);
    par::parallel_for(static_cast<size_t>(div_round_up(leaf_blocks, kLeafBlocksPerTask)), [&](size_t t) {
      // Block j of leaf hashes starts at byte j * per_block * hs = j * bs.
      const uint64_t first = uint64_t{t} * kLeafBlocksPerTask;
      const uint64_t last = std::min<uint64_t>(first + kLeafBlocksPerTask, leaf_blocks);
      const uint64_t hashes = std::min(last * per_block, blocks) - first * per_block;
      thread_hasher(p).hash_blocks(leaf_hashes.data() + first * bs, static_cast<size_t>(hashes * hs),
                                   block_hashes.data() + first * hs);
    });
    for (uint64_t j = 0; j < leaf_blocks; j++)
      tree.add_leaf_block(block_hashes.data() + j * hs, std::min(per_block, blocks - j * per_block));
  }
  return digest_from_root(p, size, tree.finish());
}

}  // namespace

Result<Bytes> digest_fd(int fd, uint64_t size, const Params& p, const std::string& path,
                        const ProgressFn& progress) {
  BS_TRY(validate(p));
  if (size >= kBigFile) return digest_fd_parallel(fd, size, p, path, progress);
  return digest_fd_serial(fd, size, p, path, progress);
}

Result<Bytes> digest_file(const std::string& path, const Params& p, const ProgressFn& progress) {
  sys::Fd fd = BS_TRY(sys::open_regular(path));
  struct stat st = BS_TRY(sys::fstat_fd(fd.get(), path));
  return digest_fd(fd.get(), static_cast<uint64_t>(st.st_size), p, path, progress);
}

std::vector<Result<Bytes>> digest_files(const std::vector<std::string>& paths, const Params& p,
                                        const ProgressFn& progress) {
  std::vector<Result<Bytes>> out(paths.size(), Result<Bytes>(internal_error("not computed")));
  if (auto st = validate(p); !st.ok()) {
    for (auto& r : out) r = st.error();
    return out;
  }
  // Pass 1, parallel across files, each task taking a run of kFilesPerTask
  // files: open; read small files into the task's batch buffer (each at a
  // block boundary, its last block zero-padded as fs-verity pads it) so that
  // the blocks of many files are hashed side by side; hash medium files right
  // away. Big files keep their descriptor for pass 2, which hashes one file at
  // a time with its blocks spread over all threads.
  std::vector<sys::Fd> big_fd(paths.size());
  std::vector<uint64_t> big_size(paths.size(), 0);
  const size_t hs = crypto::digest_size(p.alg);
  par::parallel_for(div_round_up(paths.size(), kFilesPerTask), [&](size_t t) {
    struct Pending {
      size_t index;
      uint64_t size;
      size_t offset;  // in buf, a multiple of the block size
    };
    thread_local Bytes buf, hashes;
    thread_local std::vector<Pending> pending;
    buf.resize(kBatchBytes);
    pending.clear();
    size_t fill = 0;
    auto flush = [&] {
      if (pending.empty()) return;
      hashes.resize(fill / p.block_size * hs);
      thread_hasher(p).hash_blocks(buf.data(), fill, hashes.data());
      MerkleBuilder& tree = thread_tree(p);
      for (const Pending& f : pending) {
        tree.reset();
        const uint64_t blocks = div_round_up(f.size, p.block_size);
        const uint8_t* leaf = hashes.data() + f.offset / p.block_size * hs;
        for (uint64_t b = 0; b < blocks; b++) tree.add_leaf(leaf + b * hs);
        out[f.index] = digest_from_root(p, f.size, tree.finish());
        if (progress) progress(f.size);
      }
      pending.clear();
      fill = 0;
    };
    const size_t last = std::min(paths.size(), (t + 1) * kFilesPerTask);
    for (size_t i = t * kFilesPerTask; i < last; i++) {
      auto fd = sys::open_regular(paths[i]);
      if (!fd.ok()) {
        out[i] = fd.error();
        continue;
      }
      auto st = sys::fstat_fd(fd->get(), paths[i]);
      if (!st.ok()) {
        out[i] = st.error();
        continue;
      }
      const uint64_t size = static_cast<uint64_t>(st->st_size);
      if (size >= kBigFile) {
        big_fd[i] = std::move(*fd);
        big_size[i] = size;
        continue;
      }
      if (size > kBatchFile) {
        out[i] = digest_fd_serial(fd->get(), size, p, paths[i], progress);
        continue;
      }
      const size_t padded = round_up(static_cast<size_t>(size), p.block_size);
      if (fill + padded > buf.size()) flush();
      auto got = sys::pread_full(fd->get(), buf.data() + fill, static_cast<size_t>(size), 0, paths[i]);
      if (!got.ok()) {
        out[i] = got.error();
        continue;
      }
      if (*got != size) {
        out[i] = input_error("{}: file shrank while being read", paths[i]);
        continue;
      }
      std::memset(buf.data() + fill + size, 0, padded - static_cast<size_t>(size));
      pending.push_back({i, size, fill});
      fill += padded;
    }
    flush();
  });
  for (size_t i = 0; i < paths.size(); i++)
    if (big_fd[i].valid()) out[i] = digest_fd_parallel(big_fd[i].get(), big_size[i], p, paths[i], progress);
  return out;
}

}  // namespace bootseal::fsverity
