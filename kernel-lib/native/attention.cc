// attention: the attention core of a trunk block (kernel-lib/model/attention.ts) as one kernel:
// q/k RMSNorm with gains, 2-D RoPE, softmax(q k^T / sqrt(Dh)) v, heads split from the fused qkv
// projection and merged for the output projection. Forward and backward, per (batch, head).
//
// Why hand-written: the op path is ~35 tfjs kernels forward and ~70 backward per block (slices,
// reshapes, transposes, two batched matMuls, softmax, the RoPE pair swap, the norms), each a trip
// through tfjs's dispatch and tape; at CPU-scale token counts (16-256 tokens of 32-64 channels)
// that bookkeeping, not arithmetic, is the cost. No library has this op on these layouts (oneDNN's
// SDPA primitive arrived in v3.x without qk-norm or RoPE; Debian ships 2.6). The backward
// recomputes the forward (as FlashAttention does) and needs only qkv saved.
//
// Numerics: float32 throughout, sums of squares in double (as the fused RMSNorm); the products are
// not in the op path's order, so results match it to ~1e-6 relative, not bit for bit. Every
// (batch, head) is one unit of work with fixed inputs and outputs, and the gain gradients are
// summed over units in order: the result does not depend on the thread count.
#include "attention.h"

#include "parallel.h"
#include "rms.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace attention {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ATTN_VEC __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ATTN_VEC
#endif

// Below this much work (multiply-adds) a call runs on one thread: waking a pool worker costs ~15 us.
constexpr int64_t kParallelWork = int64_t(1) << 18;

// f(u0, u1) over units [0, n), contiguous ranges on up to `threads` threads.
template <class F>
void parallel_units(int64_t n, int threads, int64_t work, F f) {
  native_parallel::ranges(n, std::min<int64_t>({static_cast<int64_t>(std::max(1, threads)), n, std::max<int64_t>(1, work / kParallelWork)}), f);
}

// One (batch, head): its rows of q, k, v in qkv, its columns of o, and scratch.
struct Unit {
  const float *q, *k, *v;  // row l at + l * ld
  int64_t ld;              // 3D
  int64_t b, head;
};

// Normalised and rotated rows: y[l] = RoPE(x[l] r[l] w) * scale, r[l] = 1 / sqrt(mean(x[l]^2) + eps).
ATTN_VEC void norm_rope(const float* __restrict x, int64_t ld, const float* __restrict w, const float* __restrict cs,
                        const float* __restrict sn, int64_t L, int64_t Dh, float eps, float scale, float* __restrict n_,
                        float* __restrict y, float* __restrict r) {
  for (int64_t l = 0; l < L; l++) {
    const float* xr = x + l * ld;
    const float rs = native_rms::rstd(xr, Dh, eps);
    r[l] = rs;
    float* nr = n_ + l * Dh;
    for (int64_t d = 0; d < Dh; d++) nr[d] = (xr[d] * rs) * w[d];
    const float* c = cs + l * Dh;
    const float* s = sn + l * Dh;
    float* yr = y + l * Dh;
    for (int64_t d = 0; d < Dh; d += 2) {
      yr[d] = (nr[d] * c[d] - nr[d + 1] * s[d]) * scale;
      yr[d + 1] = (nr[d + 1] * c[d + 1] + nr[d] * s[d + 1]) * scale;
    }
  }
}

// xT[d, l] = x[l, d] for rows at stride ld.  [L, Dh] -> [Dh, L]
ATTN_VEC void transpose(const float* __restrict x, int64_t ld, int64_t L, int64_t Dh, float* __restrict xT) {
  for (int64_t l = 0; l < L; l++)
    for (int64_t d = 0; d < Dh; d++) xT[d * L + l] = x[l * ld + d];
}

// C[i, :N] = sum_k A[i*lda + k] B[k, :N] for i < M; rows of B at stride ldb, of C at stride ldc.
// Sums in k order, vectorised over the row.
ATTN_VEC void small_mm(const float* __restrict A, int64_t lda, const float* __restrict B, int64_t ldb, float* __restrict C,
                       int64_t ldc, int64_t M, int64_t N, int64_t K) {
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    for (int64_t j = 0; j < N; j++) c[j] = 0;
    for (int64_t k = 0; k < K; k++) {
      const float aik = A[i * lda + k];
      const float* b = B + k * ldb;
      for (int64_t j = 0; j < N; j++) c[j] += aik * b[j];
    }
  }
}

// Softmax of every row of P in place.  [L, L]
ATTN_VEC void softmax_rows(float* __restrict P, int64_t L) {
  for (int64_t i = 0; i < L; i++) {
    float* p = P + i * L;
    float m = p[0];
    for (int64_t j = 1; j < L; j++) m = std::max(m, p[j]);
    float sum = 0;
    for (int64_t j = 0; j < L; j++) {
      p[j] = std::exp(p[j] - m);
      sum += p[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < L; j++) p[j] *= inv;
  }
}

// The backward of norm_rope for one row set: dy (w.r.t. y) -> dx into rows at stride ld, and
// dw[d] += sum_l dn[l, d] x[l, d] r[l] (double).
ATTN_VEC void norm_rope_grad(const float* __restrict x, int64_t ld, const float* __restrict w, const float* __restrict cs,
                             const float* __restrict sn, const float* __restrict r, const float* __restrict dy, int64_t L, int64_t Dh,
                             float scale, float* __restrict dn, float* __restrict dx, int64_t ldx, double* __restrict dw) {
  for (int64_t l = 0; l < L; l++) {
    const float* c = cs + l * Dh;
    const float* s = sn + l * Dh;
    const float* g = dy + l * Dh;
    for (int64_t d = 0; d < Dh; d += 2) {  // RoPE^T, then the scale
      dn[d] = (g[d] * c[d] + g[d + 1] * s[d + 1]) * scale;
      dn[d + 1] = (g[d + 1] * c[d + 1] - g[d] * s[d]) * scale;
    }
    const float* xr = x + l * ld;
    const float rs = r[l];
    const double dot = native_rms::dot_scaled(dn, w, xr, Dh);
    const float cc = static_cast<float>(dot / static_cast<double>(Dh)) * (rs * rs * rs);
    float* o = dx + l * ldx;
    for (int64_t d = 0; d < Dh; d++) {
      o[d] = rs * (dn[d] * w[d]) - xr[d] * cc;
      dw[d] += static_cast<double>(dn[d] * (xr[d] * rs));
    }
  }
}

// dS = P (dP - rowsum(P dP)) in place of dP.  [L, L]
ATTN_VEC void softmax_grad(const float* __restrict P, float* __restrict dP, int64_t L) {
  for (int64_t i = 0; i < L; i++) {
    float dot = 0;
    for (int64_t j = 0; j < L; j++) dot += P[i * L + j] * dP[i * L + j];
    for (int64_t j = 0; j < L; j++) dP[i * L + j] = P[i * L + j] * (dP[i * L + j] - dot);
  }
}

// Scratch of one unit: n [L, Dh] x 2, qr, kr [L, Dh], rq, rk [L], P, dP [L, L], dqr, dkr [L, Dh],
// a transposed operand T [Dh, L].
struct Scratch {
  std::vector<float> buf;
  float *nq, *nk, *qr, *kr, *rq, *rk, *P, *dP, *dq, *dk, *T;
  Scratch(int64_t L, int64_t Dh) : buf(static_cast<size_t>(7 * L * Dh + 2 * L + 2 * L * L)) {
    float* p = buf.data();
    for (float** f : {&nq, &nk, &qr, &kr, &dq, &dk, &T}) {
      *f = p;
      p += L * Dh;
    }
    for (float** f : {&rq, &rk}) {
      *f = p;
      p += L;
    }
    for (float** f : {&P, &dP}) {
      *f = p;
      p += L * L;
    }
  }
};

Unit unit_of(const Args& a, int64_t u) {
  const int64_t b = u / a.h, head = u % a.h, D = a.h * a.Dh;
  const float* base = a.qkv + b * a.L * 3 * D + head * a.Dh;
  return Unit{base, base + D, base + 2 * D, 3 * D, b, head};
}

void unit_forward(const Args& a, const Unit& t, Scratch& s) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(a.Dh));
  norm_rope(t.q, t.ld, a.qw, a.cos, a.sin, a.L, a.Dh, a.eps, scale, s.nq, s.qr, s.rq);
  norm_rope(t.k, t.ld, a.kw, a.cos, a.sin, a.L, a.Dh, a.eps, 1.0f, s.nk, s.kr, s.rk);
  transpose(s.kr, a.Dh, a.L, a.Dh, s.T);
  small_mm(s.qr, a.Dh, s.T, a.L, s.P, a.L, a.L, a.L, a.Dh);  // q k^T
  softmax_rows(s.P, a.L);
}

}  // namespace

void forward(const Args& a, float* o) {
  const int64_t units = a.B * a.h, D = a.h * a.Dh;
  parallel_units(units, a.threads, units * a.L * a.L * a.Dh * 2, [&](int64_t u0, int64_t u1) {
    Scratch s(a.L, a.Dh);
    for (int64_t u = u0; u < u1; u++) {
      const Unit t = unit_of(a, u);
      unit_forward(a, t, s);
      small_mm(s.P, a.L, t.v, t.ld, o + t.b * a.L * D + t.head * a.Dh, D, a.L, a.Dh, a.L);  // P v
    }
  });
}

void backward(const Args& a, const float* do_, float* dqkv, float* dqw, float* dkw) {
  const int64_t units = a.B * a.h, D = a.h * a.Dh, L = a.L, Dh = a.Dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  // per-unit gain gradients, summed in unit order below (independent of the thread split)
  std::vector<double> gq(static_cast<size_t>(units * Dh), 0.0), gk(static_cast<size_t>(units * Dh), 0.0);
  parallel_units(units, a.threads, units * L * L * Dh * 5, [&](int64_t u0, int64_t u1) {
    Scratch s(L, Dh);
    for (int64_t u = u0; u < u1; u++) {
      const Unit t = unit_of(a, u);
      unit_forward(a, t, s);
      const float* dO = do_ + t.b * L * D + t.head * Dh;  // rows at stride D
      float* dQ = dqkv + t.b * L * 3 * D + t.head * Dh;   // rows at stride 3D
      float* dK = dQ + D;
      float* dV = dQ + 2 * D;
      // dV = P^T dO; dP = dO v^T
      // (dV and d(kr) stay plain loops in this non-cloned function: their float rounding is the
      // committed runs' kernel, which a vectorised clone would change)
      for (int64_t j = 0; j < L; j++) {
        float* dv = dV + j * 3 * D;
        for (int64_t d = 0; d < Dh; d++) dv[d] = 0;
        for (int64_t i = 0; i < L; i++) {
          const float pij = s.P[i * L + j];
          const float* g = dO + i * D;
          for (int64_t d = 0; d < Dh; d++) dv[d] += pij * g[d];
        }
      }
      transpose(t.v, t.ld, L, Dh, s.T);
      small_mm(dO, D, s.T, L, s.dP, L, L, L, Dh);
      softmax_grad(s.P, s.dP, L);
      // d(qr) = dS kr, d(kr) = dS^T qr
      small_mm(s.dP, L, s.kr, Dh, s.dq, Dh, L, Dh, L);
      for (int64_t j = 0; j < L; j++) {
        float* dk = s.dk + j * Dh;
        for (int64_t d = 0; d < Dh; d++) dk[d] = 0;
        for (int64_t i = 0; i < L; i++) {
          const float dsij = s.dP[i * L + j];
          const float* q = s.qr + i * Dh;
          for (int64_t d = 0; d < Dh; d++) dk[d] += dsij * q[d];
        }
      }
      // through RoPE, the scale and the norms (nq, nk reused as scratch)
      norm_rope_grad(t.q, t.ld, a.qw, a.cos, a.sin, s.rq, s.dq, L, Dh, scale, s.nq, dQ, 3 * D, gq.data() + u * Dh);
      norm_rope_grad(t.k, t.ld, a.kw, a.cos, a.sin, s.rk, s.dk, L, Dh, 1.0f, s.nk, dK, 3 * D, gk.data() + u * Dh);
    }
  });
  for (int64_t d = 0; d < Dh; d++) {
    double q = 0, k = 0;
    for (int64_t u = 0; u < units; u++) {
      q += gq[static_cast<size_t>(u * Dh + d)];
      k += gk[static_cast<size_t>(u * Dh + d)];
    }
    dqw[d] = static_cast<float>(q);
    dkw[d] = static_cast<float>(k);
  }
}

}  // namespace attention
