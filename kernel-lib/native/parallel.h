// parallel: the fused kernels' one way to use threads (attention.cc, field-output.cc).
#pragma once

#include <cstdint>
#include <thread>
#include <vector>

namespace native_parallel {

// f(begin, end) over [0, n) in nt contiguous ranges: the first on the calling thread, the others
// on nt - 1 std::threads, all joined before it returns. Ranges depend only on n and nt.
template <class F>
void ranges(int64_t n, int64_t nt, F f) {
  if (nt <= 1) {
    f(int64_t(0), n);
    return;
  }
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < nt; t++) pool.emplace_back(f, n * t / nt, n * (t + 1) / nt);
  f(int64_t(0), n / nt);
  for (auto& th : pool) th.join();
}

}  // namespace native_parallel
