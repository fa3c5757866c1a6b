// fs-verity file digests, computed in userspace exactly as the kernel and
// `fsverity digest` do (Linux Documentation/filesystems/fsverity.rst).
//
// A file's data is split into blocks of `block_size` bytes (the last one zero-
// padded); each block is hashed as H(salt_padded || block), the hashes packed
// into blocks of the same size form the next level, and so on up to a single
// root block. The file digest is H(fsverity_descriptor) over the 256-byte
// descriptor below; an empty file has an all-zero root hash.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::fsverity {

using crypto::HashAlg;

// FS_VERITY_HASH_ALG_* values from <linux/fsverity.h>.
inline constexpr uint8_t kAlgSha256 = 1;
inline constexpr uint8_t kAlgSha512 = 2;
inline constexpr uint32_t kMinBlockSize = 1024;
inline constexpr uint32_t kMaxBlockSize = 65536;
inline constexpr size_t kMaxSaltSize = 32;
inline constexpr size_t kDescriptorSize = 256;

struct Params {
  HashAlg alg = HashAlg::kSha256;
  uint32_t block_size = 4096;
  Bytes salt;
};

// Checks algorithm (sha256/sha512), block size (power of two, 1024..65536) and salt (<= 32 bytes).
Status validate(const Params& p);
uint8_t algorithm_id(HashAlg alg);
Result<HashAlg> alg_from_id(uint8_t id);

// struct fsverity_descriptor (256 bytes):
//   u8 version=1, u8 hash_algorithm, u8 log_blocksize, u8 salt_size,
//   le32 sig_size (0 when digesting), le64 data_size, u8 root_hash[64],
//   u8 salt[32], u8 reserved[144]
Bytes descriptor(const Params& p, uint64_t data_size, ByteSpan root_hash);
// H(descriptor): the fs-verity file digest.
Bytes digest_from_root(const Params& p, uint64_t data_size, ByteSpan root_hash);

// Hashes single blocks as fs-verity does: H(salt_padded || block || zero padding).
// One per thread; cheap to reuse.
class BlockHasher {
 public:
  explicit BlockHasher(const Params& p);
  size_t hash_size() const { return hash_size_; }
  // Whether blocks are hashed side by side (crypto::multi_lane_enabled() was
  // true when this hasher was made).
  bool multi_lane() const { return lanes_ != 0; }
  // `len` <= block size; shorter data is zero-padded to the block size.
  void hash_block(const uint8_t* data, size_t len, uint8_t* out);
  // Hashes the consecutive blocks of data[0, len) (the last may be short) into
  // out, hash_size() bytes per block. Runs of whole blocks are hashed side by
  // side where the CPU allows (crypto/sha_multi.h: 16 at a time for SHA-256,
  // 8 for SHA-512);
  // the rest one by one, prefetching the next page while hashing the current
  // one, as the hardware prefetchers stop at page boundaries and page-cache
  // data is cold.
  void hash_blocks(const uint8_t* data, size_t len, uint8_t* out);

 private:
  Params p_;
  size_t hash_size_;
  crypto::Hasher h_, salted_;
  Bytes zeros_;
  // Hashes lanes_ whole blocks at data to out (lanes_ == 0: one block at a time).
  std::function<void(const uint8_t* data, uint8_t* out)> multi_;
  size_t lanes_ = 0;
};

// Builds the tree above the data blocks from their hashes, fed in order. Keeps
// only one partial block per level unless `keep_levels` asks for the whole tree.
class MerkleBuilder {
 public:
  explicit MerkleBuilder(const Params& p, bool keep_levels = false);
  // Starts a new tree with the same parameters.
  void reset();
  // Appends the hash of the next data block.
  void add_leaf(const uint8_t* hash);
  // Appends the hash of a whole block of leaf hashes computed by the caller
  // (`leaves` of them, zero-padded to the block size), for callers that hash
  // that level in parallel. Only at a block boundary of the leaf level (after
  // whole blocks' worth of add_leaf), not with keep_levels, and the whole tree
  // must have more than one leaf.
  void add_leaf_block(const uint8_t* hash, uint64_t leaves);
  // Finishes: returns the root hash (zero-filled for an empty file).
  Bytes finish();
  // With keep_levels: levels[0] holds the hashes of the data blocks (padded to
  // whole blocks), levels.back() the single root block; empty when the file has
  // at most one block (a single data block is its own root). Valid after finish().
  const std::vector<Bytes>& levels() const { return levels_; }

 private:
  void push(size_t level, const uint8_t* hash);
  // Pads the level's partial block, hashes it and pushes the hash one level up.
  void flush(size_t level);
  Params p_;
  BlockHasher hasher_;
  bool keep_;
  std::vector<Bytes> partial_;      // current partial block per level
  std::vector<uint64_t> emitted_;   // full blocks emitted per level
  std::vector<Bytes> levels_;
  uint64_t leaves_ = 0;
};

// The whole Merkle tree, as fs-verity stores it (ext4 and f2fs keep the levels
// root first, each a whole number of blocks) plus the root hash and digest.
struct MerkleTree {
  Bytes root_hash;
  Bytes digest;
  std::vector<Bytes> levels;  // levels[0] = leaf level, back() = root block
  // Levels concatenated root level first, as placed after the data on disk.
  Bytes serialized() const;
};
MerkleTree build_tree(ByteSpan data, const Params& p);

// Digest of a memory buffer (single-threaded).
Bytes digest_buffer(ByteSpan data, const Params& p);

// Digest of data that arrives in pieces (an archive entry, a network stream).
// Single-threaded; memory is one block plus one partial block per tree level.
class StreamDigester {
 public:
  explicit StreamDigester(const Params& p);
  // Starts a new stream with the same parameters (no reallocation).
  void reset();
  const Params& params() const { return p_; }
  bool multi_lane() const { return hasher_.multi_lane(); }
  void update(ByteSpan data);
  uint64_t size() const { return size_; }
  Bytes finish();

 private:
  Params p_;
  BlockHasher hasher_;
  MerkleBuilder tree_;
  Bytes block_;
  size_t fill_ = 0;
  uint64_t size_ = 0;
  Bytes hash_;
  Bytes hashes_;  // hashes of a batch of whole blocks from update()
};

// Called with bytes hashed so far, for progress output. May be called from any thread.
using ProgressFn = std::function<void(uint64_t)>;

// Digest of an open file's first `size` bytes. Large files hash their data
// blocks on all par::threads(); memory stays bounded by a fixed window.
Result<Bytes> digest_fd(int fd, uint64_t size, const Params& p, const std::string& path,
                        const ProgressFn& progress = {});
// Opens and digests a regular file; a directory or missing file is an error naming it.
Result<Bytes> digest_file(const std::string& path, const Params& p, const ProgressFn& progress = {});

// Digests many files: small files in parallel across files, big files one at a
// time with their blocks in parallel. Results are in input order.
std::vector<Result<Bytes>> digest_files(const std::vector<std::string>& paths, const Params& p,
                                        const ProgressFn& progress = {});

}  // namespace bootseal::fsverity
