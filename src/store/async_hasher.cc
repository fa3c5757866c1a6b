#include "store/async_hasher.h"

#include <cstring>

namespace bootseal::store {

AsyncHasher::AsyncHasher(crypto::HashAlg alg) : hasher_(alg) {
  cur_.reserve(kChunk);
  thread_ = std::thread([this] { run(); });
}

AsyncHasher::~AsyncHasher() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  work_cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AsyncHasher::update(ByteSpan data) {
  while (!data.empty()) {
    size_t n = std::min(data.size(), kChunk - cur_.size());
    cur_.insert(cur_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
    data = data.subspan(n);
    if (cur_.size() == kChunk) hand_over();
  }
}

void AsyncHasher::hand_over() {
  std::unique_lock lock(mu_);
  room_cv_.wait(lock, [&] { return queue_.size() < kQueued; });
  queue_.push_back(std::move(cur_));
  if (!spare_.empty()) {
    cur_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    cur_ = Bytes();
    cur_.reserve(kChunk);
  }
  cur_.clear();
  lock.unlock();
  work_cv_.notify_one();
}

void AsyncHasher::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
    if (queue_.empty()) return;
    Bytes chunk = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    hasher_.update(chunk);
    lock.lock();
    spare_.push_back(std::move(chunk));
    room_cv_.notify_one();
  }
}

Bytes AsyncHasher::finish() {
  if (!cur_.empty()) hand_over();
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  work_cv_.notify_one();
  thread_.join();  // the thread drains the queue before it returns
  return hasher_.finish();
}

}  // namespace bootseal::store
