// rms: the one RMSNorm statistic every fused kernel uses (nativeblas.cc, adaln.cc, attention.cc).
#pragma once

#include <cmath>
#include <cstdint>

namespace native_rms {

// 1 / sqrt(mean(x^2) + eps) over x[0, n), the squares summed in double (in order).
inline float rstd(const float* x, int64_t n, float eps) {
  double ss = 0;
  for (int64_t d = 0; d < n; d++) ss += static_cast<double>(x[d]) * x[d];
  return 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
}

}  // namespace native_rms
