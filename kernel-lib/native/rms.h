// rms: the RMSNorm statistics every fused kernel uses (nativeblas.cc, adaln.cc, attention.cc).
//
// Each sums float products in double over 8 lanes (index mod 8), the lanes added in a fixed tree
// at the end: a fixed order, so results do not depend on threads or calls. One in-order chain of
// double adds is latency-bound (4 cycles an element); 8 lanes run at the vector units' rate, and
// the NerfBlock backward spent ~14 % of its time in two such chains before. Against the in-order
// sum, a double sum of 64 float products moves by ~1e-16 relative, so the float statistic it feeds
// rounds the same except within ~1e-16 of a rounding boundary.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace native_rms {

namespace lanes {
typedef float v8f __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));
inline v8f load(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v8d widen(v8f v) { return __builtin_convertvector(v, v8d); }
inline double fold(v8d s) { return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])); }
}  // namespace lanes

// sum_d a[d] x[d] over d < n, in double.
inline double dot(const float* a, const float* x, int64_t n) {
  lanes::v8d acc = {};
  int64_t d = 0;
  for (; d + 8 <= n; d += 8) acc += lanes::widen(lanes::load(a + d)) * lanes::widen(lanes::load(x + d));
  double s = lanes::fold(acc);
  for (; d < n; d++) s += static_cast<double>(a[d]) * x[d];
  return s;
}

// sum_d (a[d] w[d]) x[d] over d < n: the products a w in float (as the op path rounds them), the
// rest in double. The RMSNorm backward's mean(dy w x).
inline double dot_scaled(const float* a, const float* w, const float* x, int64_t n) {
  lanes::v8d acc = {};
  int64_t d = 0;
  for (; d + 8 <= n; d += 8) acc += lanes::widen(lanes::load(a + d) * lanes::load(w + d)) * lanes::widen(lanes::load(x + d));
  double s = lanes::fold(acc);
  for (; d < n; d++) s += static_cast<double>(a[d] * w[d]) * x[d];
  return s;
}

// 1 / sqrt(mean(x^2) + eps) over x[0, n), the squares summed in double.
inline float rstd(const float* x, int64_t n, float eps) {
  const double ss = dot(x, x, n);
  return 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
}

}  // namespace native_rms
