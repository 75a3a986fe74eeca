// adaln: the trunk block's adaLN modulation (kernel-lib/model/dit-block.ts), fused:
//   norm_modulate: RMSNorm with gain, then z (1 + scale) + shift  (before attention and SwiGLU)
//   gated_add:     s + gate h                                      (each residual branch)
// forward and backward each.
//
// Why hand-written: as tfjs ops these are 2 + 3 kernels forward and ~12 backward per use, with
// the broadcast gradients reduced over tokens by separate Sum kernels; at CPU-scale batches
// ([512, 128] for tiny-32/8) each op costs more in tfjs dispatch and tape bookkeeping than in
// arithmetic. One pass per row here, rows split across the pool's threads (whole images for the
// backward, whose sums are per image) where there are enough of them (native_parallel::threads_for;
// on one thread before: ~6 ms of a bench-S training step ran on the calling thread alone).
//
// Numerics: the forward does the fused RMSNorm's operations (sum of squares in double) and then
// the modulation's, in the op path's order (x rstd, times w, times (1 + scale), plus shift; no FMA
// contraction under -std=c++17); the sums over rows (gains, shift, scale, gate) run in double, so
// results match the op path to ~1e-6. The gain's gradient is summed per image, then over images in
// order: the same value whatever the thread count.
#include "adaln.h"

#include "parallel.h"
#include "rms.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace adaln {

namespace {
// f(u0, u1) over units [0, n) of `per` elements each, on up to `threads` threads.
template <class F>
void split(int64_t n, int64_t per, int threads, F f) {
  native_parallel::ranges(n, std::min<int64_t>(n, native_parallel::threads_for(n * per, threads)), f);
}
}  // namespace

void norm_modulate(const float* x, const float* w, const float* shift, const float* scale, float* y, float* rstd, int64_t B, int64_t L,
                   int64_t D, float eps, int threads) {
  split(B * L, D, threads, [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* sh = shift + (r / L) * D;
      const float* sc = scale + (r / L) * D;
      const float* xr = x + r * D;
      float* yr = y + r * D;
      const float rs = native_rms::rstd(xr, D, eps);
      rstd[r] = rs;
      for (int64_t d = 0; d < D; d++) yr[d] = ((xr[d] * rs) * w[d]) * (sc[d] + 1.0f) + sh[d];
    }
  });
}

void norm_modulate_grad(const float* x, const float* w, const float* scale, const float* rstd, const float* dy, float* dx, float* dw,
                        float* dshift, float* dscale, int64_t B, int64_t L, int64_t D, int threads) {
  std::vector<double> gw(static_cast<size_t>(B * D));  // the gain's gradient, per image
  split(B, L * D, threads, [=, &gw](int64_t b0, int64_t b1) {
    std::vector<double> gsh(static_cast<size_t>(D)), gsc(static_cast<size_t>(D));
    std::vector<float> dn(static_cast<size_t>(D));
    for (int64_t b = b0; b < b1; b++) {
      const float* sc = scale + b * D;
      double* gwb = gw.data() + b * D;
      std::fill(gsh.begin(), gsh.end(), 0.0);
      std::fill(gsc.begin(), gsc.end(), 0.0);
      std::fill(gwb, gwb + D, 0.0);
      for (int64_t l = 0; l < L; l++) {
        const int64_t r = b * L + l;
        const float* xr = x + r * D;
        const float* g = dy + r * D;
        const float rs = rstd[r];
        for (int64_t d = 0; d < D; d++) {
          const float xn = xr[d] * rs;
          const float n = xn * w[d];
          gsh[static_cast<size_t>(d)] += g[d];
          gsc[static_cast<size_t>(d)] += static_cast<double>(g[d] * n);
          const float gn = g[d] * (sc[d] + 1.0f);  // gradient of the normalised-and-gained row
          gwb[d] += static_cast<double>(gn * xn);
          dn[static_cast<size_t>(d)] = gn * w[d];
        }
        const double dot = native_rms::dot(dn.data(), xr, D);
        const float c = static_cast<float>(dot / static_cast<double>(D)) * (rs * rs * rs);
        float* o = dx + r * D;
        for (int64_t d = 0; d < D; d++) o[d] = rs * dn[static_cast<size_t>(d)] - xr[d] * c;
      }
      for (int64_t d = 0; d < D; d++) {
        dshift[b * D + d] = static_cast<float>(gsh[static_cast<size_t>(d)]);
        dscale[b * D + d] = static_cast<float>(gsc[static_cast<size_t>(d)]);
      }
    }
  });
  for (int64_t d = 0; d < D; d++) {
    double a = 0.0;
    for (int64_t b = 0; b < B; b++) a += gw[static_cast<size_t>(b * D + d)];
    dw[d] = static_cast<float>(a);
  }
}

void gated_add(const float* s, const float* gate, const float* h, float* y, int64_t B, int64_t L, int64_t D, int threads) {
  split(B * L, D, threads, [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* gt = gate + (r / L) * D;
      const int64_t o = r * D;
      for (int64_t d = 0; d < D; d++) y[o + d] = s[o + d] + gt[d] * h[o + d];
    }
  });
}

void gated_add_grad(const float* gate, const float* h, const float* dy, float* ds, float* dgate, float* dh, int64_t B, int64_t L,
                    int64_t D, int threads) {
  split(B, L * D, threads, [=](int64_t b0, int64_t b1) {
    std::vector<double> gg(static_cast<size_t>(D));
    for (int64_t b = b0; b < b1; b++) {
      const float* gt = gate + b * D;
      std::fill(gg.begin(), gg.end(), 0.0);
      for (int64_t l = 0; l < L; l++) {
        const int64_t o = (b * L + l) * D;
        for (int64_t d = 0; d < D; d++) {
          ds[o + d] = dy[o + d];
          dh[o + d] = dy[o + d] * gt[d];
          gg[static_cast<size_t>(d)] += static_cast<double>(dy[o + d] * h[o + d]);
        }
      }
      for (int64_t d = 0; d < D; d++) dgate[b * D + d] = static_cast<float>(gg[static_cast<size_t>(d)]);
    }
  });
}

}  // namespace adaln
