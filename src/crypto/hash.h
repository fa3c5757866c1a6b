// Message digests (SHA-1/256/384/512) behind one small interface.
// The only module that includes OpenSSL; callers see HashAlg and bytes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace bootseal::crypto {

enum class HashAlg { kSha1, kSha256, kSha384, kSha512 };

size_t digest_size(HashAlg alg);
// Internal block size (64 for SHA-1/256, 128 for SHA-384/512); fs-verity pads salts to it.
size_t block_size(HashAlg alg);
std::string_view hash_name(HashAlg alg);  // "sha256"
Result<HashAlg> parse_hash_name(std::string_view name);

// The OpenSSL library in use at run time ("OpenSSL 3.0.17 1 Jul 2025"), for --version.
std::string library_version();

// An incremental hasher. Reusable: reset() starts a new message without
// reallocating the context, which matters when hashing millions of 4 KiB blocks.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  HashAlg alg() const { return alg_; }
  size_t size() const { return digest_size(alg_); }
  void reset();
  void update(ByteSpan data);
  void update(std::string_view s) { update(as_bytes(s)); }
  // Writes size() bytes to out and resets.
  void finish(uint8_t* out);
  Bytes finish();
  // Copies the state of `other` (same algorithm), e.g. a pre-hashed salt prefix.
  void copy_state_from(const Hasher& other);

 private:
  HashAlg alg_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Bytes digest(HashAlg alg, ByteSpan data);
inline Bytes digest(HashAlg alg, std::string_view s) { return digest(alg, as_bytes(s)); }

}  // namespace bootseal::crypto
