// parallel: the add-on's one way to use threads (every fused kernel, the element-wise loops, the
// oneDNN GEMM chunks, the built-in matMul loop).
//
// A persistent pool: run(nt, f) calls f(0) .. f(nt - 1), each once, on the calling thread and
// the pool's workers, and returns when all are done. Why not a std::thread per call, as before:
// starting and joining one costs ~45 us here (clone, a fresh stack's page faults, the scheduler's
// wake-up), and a bench-S training step made ~190 such calls, each on the critical path. Why no
// library: OpenMP would bring its own runtime next to oneDNN's and OpenBLAS's, and std::async
// starts a thread per call too. A few atomics and one condition variable do it.
//
// - Tasks are claimed in order by whichever thread is free, the caller included, so a call never
//   waits for a sleeping worker to wake: where none is awake the caller runs every task itself.
//   Which thread runs a task never changes what it computes (callers split work by task index).
// - Workers spin for NATIVEBLAS_SPIN_US microseconds (default 20) after each call, catching the
//   next kernel's call without a futex wake-up, then sleep on a condition variable.
// - One call at a time: a call made while another is running (from another JS thread, or from
//   inside a task) runs its tasks on its own thread, one after another.
// - Workers block every signal: oneDNN's GEMMs corrupt the heap when a handler runs inside them
//   (see dnnl-gemm.cc), and the pool's threads are the ones that run them.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <signal.h>
#include <thread>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace native_parallel {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

class Pool {
 public:
  // f(t) for every t < nt, on this thread and up to threads - 1 workers; returns when every task
  // is done.
  void run(int nt, int threads, const std::function<void(int)>& f) {
    bool idle = false;
    if (nt <= 1 || threads <= 1 || nt > 0xffff || !busy_.compare_exchange_strong(idle, true, std::memory_order_acquire)) {
      for (int t = 0; t < nt; t++) f(t);
      return;
    }
    grow(std::min(nt, threads) - 1);
    job_.store(&f, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    state_.store(pack(gen, 0, nt), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(m_);
      cv_.notify_all();
    }
    int mine = 0;
    for (int t; (t = claim(gen)) >= 0; mine++) f(t);
    // the tasks the workers claimed
    for (int spins = 0; done_.load(std::memory_order_acquire) + mine < nt; spins++) {
      if (spins < 4096) cpu_relax();
      else std::this_thread::yield();
    }
    busy_.store(false, std::memory_order_release);
  }

 private:
  // state_: generation (32 bits) | next task (16) | task count (16)
  static uint64_t pack(uint64_t gen, uint64_t next, uint64_t nt) { return (gen << 32) | (next << 16) | nt; }

  // The next unclaimed task of generation gen, or -1 when none is left (or gen is over).
  int claim(uint64_t gen) {
    uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t next = (s >> 16) & 0xffff, nt = s & 0xffff;
      if ((s >> 32) != gen || next >= nt) return -1;
      if (state_.compare_exchange_weak(s, pack(gen, next + 1, nt), std::memory_order_acq_rel, std::memory_order_acquire))
        return static_cast<int>(next);
    }
  }

  void grow(int n) {
    while (static_cast<int>(workers_) < n && workers_ < 63) {
      workers_++;
      std::thread([this] { work(); }).detach();
    }
  }

  void work() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    uint64_t seen = 0;
    for (;;) {
      uint64_t gen = state_.load(std::memory_order_acquire) >> 32;
      if (gen == seen) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
        int spins = 0;
        while ((gen = state_.load(std::memory_order_acquire) >> 32) == seen) {
          cpu_relax();
          if (++spins % 256 == 0 && std::chrono::steady_clock::now() > until) break;
        }
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(m_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lock, [&] { return (state_.load(std::memory_order_seq_cst) >> 32) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      seen = gen;
      for (int t; (t = claim(gen)) >= 0;) {
        (*job_.load(std::memory_order_relaxed))(t);  // gen's job: its caller waits for this task
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  static int spin_from_env() {
    const char* s = std::getenv("NATIVEBLAS_SPIN_US");
    return s ? std::max(0, std::atoi(s)) : 20;
  }

  std::atomic<bool> busy_{false};
  std::atomic<uint64_t> state_{0};
  std::atomic<const std::function<void(int)>*> job_{nullptr};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::mutex m_;
  std::condition_variable cv_;
  unsigned workers_ = 0;  // under busy_
  const int spin_us_ = spin_from_env();
};

// The process's pool (never destroyed: its workers are detached and live until exit).
inline Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

// f(t) for t < nt on the calling thread and up to threads - 1 of the pool's workers.
inline void run(int nt, int threads, const std::function<void(int)>& f) { pool().run(nt, threads, f); }

// Element-wise work shorter than this many elements a thread stays on fewer threads
// (NATIVEBLAS_PARALLEL_MIN overrides it, for A/B timings). 2^15 floats are ~10-30 us of a
// streaming loop: a spinning worker picks its task up in ~1 us, a sleeping one is never waited
// for (the caller claims the task itself), so a split costs at most the wake-up call.
inline int64_t min_per_thread() {
  static const int64_t m = [] {
    const char* s = std::getenv("NATIVEBLAS_PARALLEL_MIN");
    return s && std::atoll(s) > 0 ? static_cast<int64_t>(std::atoll(s)) : int64_t(1) << 15;
  }();
  return m;
}

// Threads for `n` elements of element-wise work: at most `threads`, at least 1, and no fewer
// than min_per_thread() elements each.
inline int64_t threads_for(int64_t n, int threads) {
  return std::max<int64_t>(1, std::min<int64_t>(std::max(1, threads), n / min_per_thread()));
}

// f(begin, end) over [0, n) in nt contiguous ranges, run on the pool. Ranges depend only on n
// and nt.
template <class F>
void ranges(int64_t n, int64_t nt, F f) {
  if (nt <= 1) {
    f(int64_t(0), n);
    return;
  }
  run(static_cast<int>(nt), static_cast<int>(nt), [&](int t) { f(n * t / nt, n * (t + 1) / nt); });
}

}  // namespace native_parallel
