// A hash computed on a thread of its own: the layer reading thread hands it
// the bytes (copied into 1 MiB chunks, a memcpy being ~10x cheaper than
// SHA-256) and goes on decompressing, so the compressed blob's digest and the
// uncompressed diff_id are computed on other cores while the layer is read.
// At most kQueued chunks wait; update() blocks when the hasher falls behind.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::store {

class AsyncHasher {
 public:
  explicit AsyncHasher(crypto::HashAlg alg);
  ~AsyncHasher();
  AsyncHasher(const AsyncHasher&) = delete;
  AsyncHasher& operator=(const AsyncHasher&) = delete;

  void update(ByteSpan data);
  // Waits for everything handed over so far; the digest. Call once.
  Bytes finish();

 private:
  static constexpr size_t kChunk = 1 << 20;
  static constexpr size_t kQueued = 8;
  void run();
  void hand_over();  // queues cur_ (caller holds no lock)

  crypto::Hasher hasher_;
  Bytes cur_;
  std::mutex mu_;
  std::condition_variable work_cv_, room_cv_;
  std::deque<Bytes> queue_;
  std::vector<Bytes> spare_;  // hashed chunks, reused
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace bootseal::store
