// Bounded parallelism: one process-wide worker pool, sized by --threads
// (default: the number of online CPUs). parallel_for runs fn(i) for i in [0, n)
// on the pool and the calling thread, handing out indexes dynamically; the
// caller combines results by index, so output order stays deterministic.
#pragma once

#include <cstddef>
#include <functional>

namespace bootseal::par {

// Threads used by parallel work (>= 1). set_threads(0) means "all CPUs".
unsigned threads();
void set_threads(unsigned n);

// Runs fn(i) for every i in [0, n) using up to `threads()` threads, the caller
// included. Returns when all calls returned. fn must not throw.
// Nested calls run serially in the calling worker (no deadlock, no oversubscription).
void parallel_for(size_t n, const std::function<void(size_t)>& fn);

}  // namespace bootseal::par
