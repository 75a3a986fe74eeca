// adaln: the trunk block's adaLN modulation (kernel-lib/model/dit-block.ts), fused:
//   norm_modulate: RMSNorm with gain, then z (1 + scale) + shift  (before attention and SwiGLU)
//   gated_add:     s + gate h                                      (each residual branch)
// forward and backward each.
//
// Why hand-written: as tfjs ops these are 2 + 3 kernels forward and ~12 backward per use, with
// the broadcast gradients reduced over tokens by separate Sum kernels; at CPU-scale batches
// ([512, 128] for tiny-32/8) each op costs more in tfjs dispatch and tape bookkeeping than in
// arithmetic. One pass per row here; rows are few (B*L), so one thread.
//
// Numerics: the forward does the fused RMSNorm's operations (sum of squares in double) and then
// the modulation's, in the op path's order (x rstd, times w, times (1 + scale), plus shift; no FMA
// contraction under -std=c++17); the sums over rows (gains, shift, scale, gate) run in double, so
// results match the op path to ~1e-6.
#include "adaln.h"

#include "rms.h"
#include <cmath>
#include <vector>

namespace adaln {

void norm_modulate(const float* x, const float* w, const float* shift, const float* scale, float* y, float* rstd, int64_t B, int64_t L,
                   int64_t D, float eps) {
  for (int64_t b = 0; b < B; b++) {
    const float* sh = shift + b * D;
    const float* sc = scale + b * D;
    for (int64_t l = 0; l < L; l++) {
      const int64_t r = b * L + l;
      const float* xr = x + r * D;
      float* yr = y + r * D;
      const float rs = native_rms::rstd(xr, D, eps);
      rstd[r] = rs;
      for (int64_t d = 0; d < D; d++) yr[d] = ((xr[d] * rs) * w[d]) * (sc[d] + 1.0f) + sh[d];
    }
  }
}

void norm_modulate_grad(const float* x, const float* w, const float* scale, const float* rstd, const float* dy, float* dx, float* dw,
                        float* dshift, float* dscale, int64_t B, int64_t L, int64_t D) {
  std::vector<double> gw(static_cast<size_t>(D), 0.0), gsh(static_cast<size_t>(D)), gsc(static_cast<size_t>(D));
  std::vector<float> dn(static_cast<size_t>(D));
  for (int64_t b = 0; b < B; b++) {
    const float* sc = scale + b * D;
    std::fill(gsh.begin(), gsh.end(), 0.0);
    std::fill(gsc.begin(), gsc.end(), 0.0);
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
        gw[static_cast<size_t>(d)] += static_cast<double>(gn * xn);
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
  for (int64_t d = 0; d < D; d++) dw[d] = static_cast<float>(gw[static_cast<size_t>(d)]);
}

void gated_add(const float* s, const float* gate, const float* h, float* y, int64_t B, int64_t L, int64_t D) {
  for (int64_t b = 0; b < B; b++) {
    const float* gt = gate + b * D;
    for (int64_t l = 0; l < L; l++) {
      const int64_t o = (b * L + l) * D;
      for (int64_t d = 0; d < D; d++) y[o + d] = s[o + d] + gt[d] * h[o + d];
    }
  }
}

void gated_add_grad(const float* gate, const float* h, const float* dy, float* ds, float* dgate, float* dh, int64_t B, int64_t L,
                    int64_t D) {
  std::vector<double> gg(static_cast<size_t>(D));
  for (int64_t b = 0; b < B; b++) {
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
}

}  // namespace adaln
