// field-output: the neural field's output layer, NerfFinalLayer = RMSNorm(hx) -> Linear(hx -> C)
// (kernel-lib/heads/nerf-head.ts, nerfFinal), fused for every pixel row.
//
// Why hand-written: the layer runs on every pixel (bench-S: 131,072 rows of 64) and is pure
// memory traffic as ops: the norm reads and writes the [R, hx] activations, then a GEMM with
// C = 1-3 output columns reads them again (oneDNN: ~4 ms for 50 MFLOP at bench-S); one pass per
// row reads them once. No BLAS routine has a norm prologue, and oneDNN 2.6's matmul post-ops come
// after the product, not before.
//
// Numerics: float32; the dot products in 16 interleaved partial sums (so that they vectorise),
// the reductions over rows in float for 64 rows at a time, then in double, as the fused RMSNorm
// (nativeblas.cc); results match the op path to ~1e-6 relative. Rows are reduced
// in fixed blocks (kBlock rows) whose partial sums are added in block order, so gradients do not
// depend on the thread count.
#include "field-output.h"

#include "parallel.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace field_output {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FO_VEC __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FO_VEC
#endif

constexpr int64_t kBlock = 2048;                   // rows per unit of work
constexpr int64_t kParallelRows = int64_t(1) << 14;  // fewer rows run on one thread (~15 us to wake a pool worker)

// f(block) for every block of rows, blocks spread over up to `threads` threads (contiguous ranges).
template <class F>
void for_blocks(int64_t R, int threads, F f) {
  const int64_t blocks = (R + kBlock - 1) / kBlock;
  const int64_t nt = std::min<int64_t>({static_cast<int64_t>(std::max(1, threads)), blocks, std::max<int64_t>(1, R / kParallelRows)});
  native_parallel::ranges(blocks, nt, [&](int64_t b0, int64_t b1) {
    for (int64_t k = b0; k < b1; k++) f(k, k * kBlock, std::min(R, (k + 1) * kBlock));
  });
}

constexpr int64_t kLanes = 16;  // partial sums per reduction: one AVX-512 vector
constexpr int64_t kFlush = 64;  // rows summed in float before they are added in double

// sum_k a[k] b[k] in kLanes interleaved float partial sums (vectorised), added at the end.
FO_VEC float dot_lanes(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[kLanes] = {0};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int64_t l = 0; l < kLanes; l++) acc[l] += a[k + l] * b[k + l];
  for (int64_t l = 0; k + l < n; l++) acc[l] += a[k + l] * b[k + l];
  float s = 0;
  for (int64_t l = 0; l < kLanes; l++) s += acc[l];
  return s;
}

// Rows [r0, r1). Wt is W transposed [C, hx].
FO_VEC void forward_rows(const float* __restrict z, const float* __restrict g, const float* __restrict Wt, const float* __restrict b,
                         float* __restrict out, float* __restrict rstd, int64_t r0, int64_t r1, int64_t hx, int64_t C, float eps) {
  std::vector<float> y(static_cast<size_t>(hx));
  for (int64_t r = r0; r < r1; r++) {
    const float* x = z + r * hx;
    const float rs = 1.0f / std::sqrt(dot_lanes(x, x, hx) / static_cast<float>(hx) + eps);
    rstd[r] = rs;
    for (int64_t k = 0; k < hx; k++) y[static_cast<size_t>(k)] = (x[k] * rs) * g[k];
    for (int64_t c = 0; c < C; c++) out[r * C + c] = dot_lanes(y.data(), Wt + c * hx, hx) + b[c];
  }
}

// Rows [r0, r1) (one block): dz, and the block's sums of dg [hx], dW^T [C * hx], db [C] into acc
// (double; rows summed in float kFlush at a time, as the fused RMSNorm).
FO_VEC void backward_rows(const float* __restrict z, const float* __restrict g, const float* __restrict Wt, const float* __restrict rstd,
                          const float* __restrict dy, float* __restrict dz, double* __restrict acc, int64_t r0, int64_t r1, int64_t hx,
                          int64_t C) {
  const int64_t per = hx + hx * C + C;
  std::vector<float> buf(static_cast<size_t>(hx + per), 0.0f);
  float* dn = buf.data();
  float* part = dn + hx;  // dg [hx], dWt [C, hx], db [C]
  float* dg = part;
  float* dWt = dg + hx;
  float* db = dWt + hx * C;
  auto flush = [&] {
    for (int64_t i = 0; i < per; i++) {
      acc[i] += part[i];
      part[i] = 0.0f;
    }
  };
  int64_t inBlock = 0;
  for (int64_t r = r0; r < r1; r++) {
    const float* x = z + r * hx;
    const float* d = dy + r * C;
    const float rs = rstd[r];
    for (int64_t k = 0; k < hx; k++) dn[k] = 0;
    for (int64_t c = 0; c < C; c++)
      for (int64_t k = 0; k < hx; k++) dn[k] += d[c] * Wt[c * hx + k];
    for (int64_t k = 0; k < hx; k++) {
      dg[k] += dn[k] * (x[k] * rs);
      dn[k] *= g[k];  // now the gradient of the normalised z
    }
    const float cc = (dot_lanes(dn, x, hx) / static_cast<float>(hx)) * (rs * rs * rs);
    float* o = dz + r * hx;
    for (int64_t k = 0; k < hx; k++) o[k] = rs * dn[k] - x[k] * cc;
    for (int64_t c = 0; c < C; c++) {
      const float dc = d[c];
      for (int64_t k = 0; k < hx; k++) dWt[c * hx + k] += ((x[k] * rs) * g[k]) * dc;
      db[c] += dc;
    }
    if (++inBlock == kFlush) {
      flush();
      inBlock = 0;
    }
  }
  flush();
}

}  // namespace

// W [hx, C] -> [C, hx]
std::vector<float> transposed(const float* W, int64_t hx, int64_t C) {
  std::vector<float> t(static_cast<size_t>(hx * C));
  for (int64_t k = 0; k < hx; k++)
    for (int64_t c = 0; c < C; c++) t[static_cast<size_t>(c * hx + k)] = W[k * C + c];
  return t;
}

void forward(const float* z, const float* g, const float* W, const float* b, float* out, float* rstd, int64_t R, int64_t hx,
             int64_t C, float eps, int threads) {
  const std::vector<float> Wt = transposed(W, hx, C);
  const float* wt = Wt.data();
  for_blocks(R, threads, [=](int64_t, int64_t r0, int64_t r1) { forward_rows(z, g, wt, b, out, rstd, r0, r1, hx, C, eps); });
}

void backward(const float* z, const float* g, const float* W, const float* rstd, const float* dy, float* dz, float* dg, float* dW,
              float* db, int64_t R, int64_t hx, int64_t C, int threads) {
  const std::vector<float> Wt = transposed(W, hx, C);
  const int64_t per = hx + hx * C + C, blocks = (R + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(std::max<int64_t>(1, blocks) * per), 0.0);
  for_blocks(R, threads, [&](int64_t k, int64_t r0, int64_t r1) { backward_rows(z, g, Wt.data(), rstd, dy, dz, part.data() + k * per, r0, r1, hx, C); });
  std::vector<double> sum(static_cast<size_t>(per), 0.0);
  for (int64_t k = 0; k < blocks; k++)
    for (int64_t i = 0; i < per; i++) sum[static_cast<size_t>(i)] += part[static_cast<size_t>(k * per + i)];
  for (int64_t k = 0; k < hx; k++) dg[k] = static_cast<float>(sum[static_cast<size_t>(k)]);
  for (int64_t c = 0; c < C; c++)
    for (int64_t k = 0; k < hx; k++) dW[k * C + c] = static_cast<float>(sum[static_cast<size_t>(hx + c * hx + k)]);
  for (int64_t c = 0; c < C; c++) db[c] = static_cast<float>(sum[static_cast<size_t>(hx + hx * C + c)]);
}

}  // namespace field_output
