#include "par/pool.h"

#include <thread>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace bootseal::par {
namespace {

std::atomic<unsigned> g_threads{0};
thread_local bool t_in_parallel = false;

unsigned cpu_count() {
  unsigned n = std::thread::hardware_concurrency();  // online CPUs (sysconf underneath)
  return n > 0 ? n : 1;
}

// Workers wait for jobs; a job is "help run this parallel_for".
class Pool {
 public:
  static Pool& get() {
    static Pool* pool = new Pool();  // never destroyed: workers may outlive static destructors
    return *pool;
  }

  void run(size_t n, const std::function<void(size_t)>& fn, unsigned want) {
    std::atomic<size_t> next{0};
    std::atomic<unsigned> active{0};
    auto body = [&] {
      t_in_parallel = true;
      for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
      t_in_parallel = false;
    };
    unsigned helpers = want - 1;
    ensure_workers(helpers);
    std::mutex done_mu;
    std::condition_variable done_cv;
    {
      std::lock_guard lk(mu_);
      for (unsigned h = 0; h < helpers; h++) {
        active++;
        jobs_.push_back([&] {
          body();
          std::lock_guard dl(done_mu);
          if (--active == 0) done_cv.notify_all();
        });
      }
    }
    cv_.notify_all();
    body();
    std::unique_lock dl(done_mu);
    done_cv.wait(dl, [&] { return active.load() == 0; });
  }

 private:
  void ensure_workers(unsigned n) {
    std::lock_guard lk(mu_);
    while (workers_.size() < n) {
      workers_.emplace_back([this] { loop(); });
      workers_.back().detach();
    }
  }
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !jobs_.empty(); });
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
};

}  // namespace

unsigned threads() {
  unsigned n = g_threads.load();
  return n ? n : cpu_count();
}

void set_threads(unsigned n) { g_threads = n; }

void parallel_for(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  unsigned want = threads();
  if (want > n) want = static_cast<unsigned>(n);
  if (want <= 1 || t_in_parallel) {
    for (size_t i = 0; i < n; i++) fn(i);
    return;
  }
  Pool::get().run(n, fn, want);
}

}  // namespace bootseal::par
