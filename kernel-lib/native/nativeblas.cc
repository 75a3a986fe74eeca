// nativeblas: a tiny N-API add-on that runs row-major float32 GEMMs on Float32Array views
// (for pixnerd-ts: the tfjs wasm backend's BatchMatMul / _FusedMatMul computed on views of
// the wasm heap). See /work/shared/design/native-blas.md for the measured design.
//
// exports
//   sgemm(A, B, C, M, N, K, transA, transB, batch, strideA, strideB, accumulate?, bias?)
//       C[b] = op(A[b]) * op(B[b]) for b < batch, row-major, C[b] is M x N at offset b*M*N;
//       with accumulate, C[b] += op(A[b]) * op(B[b]) (beta 1); with bias (a Float32Array of N),
//       every row of C starts as the bias and the product is added (each thread fills its own
//       rows or columns just before its product: no separate pass over C). Not both.
//       op(A) is M x K (stored K x M when transA), op(B) is K x N (stored N x K when transB).
//       strideA / strideB are in elements; 0 broadcasts that operand to every batch entry.
//       Bounds are checked against the views' lengths (a detached view has length 0 and
//       throws a RangeError instead of corrupting memory).
//   sgemmBuiltin(...)   the same, always with the built-in loop (for tests and comparisons)
//   sgemmBf16(...)      the same with bf16 products and fp32 sums (oneDNN, see dnnl-gemm.cc); throws
//                       an Error where bf16Info().available is false
//   bf16Info()          { available, reason, lib?, version? }: loads oneDNN on the first call (and
//                       again while it is missing); reason says which of the CPU feature
//                       AVX512_BF16 or the library is missing, or what runs
//   setThreads(n)       threads used from the next call on (n >= 1)
//   info()              { lib, config, threads, builtin, coretype?, fp32, fp32Note }: fp32 is the GEMM
//                       that sgemm() runs: "onednn" (dnnl_sgemm, see dnnl-gemm.cc; the default where
//                       oneDNN loads), "openblas" or "builtin"; fp32Note what loaded or why not
//   adamwStep(p, pOut, m, v, g, lr, beta1, beta2, eps, weightDecay, bc1, bc2)
//       one AdamW update on equal-length views: m and v in place, the new parameter into pOut
//       (a fresh buffer: tfjs-wasm's XNNPACK matMul caches packed weights by buffer, so a
//       parameter must never change in place). See adamw_range for the exact float32
//       arithmetic, which is the op-by-op formula of kernel-lib/training/adamw.ts.
//   emaStep(e, eOut, p, decay)   eOut <- e * decay + p * (1 - decay) (decay 0 copies p)
//   reduceSum(x, out, outer, R, inner)
//       out[o, i] = sum_r x[o, r, i] (any contiguous block of reduced axes, without a transpose)
//   silu(x, y), siluGrad(x, dy, dx)                     y = x sigmoid(x) and its gradient
//   swiGlu(a, b, y), swiGluGrad(a, b, dy, da, db)       y = silu(a) * b and its gradients
//   rmsNorm(x, w, y, rstd, rows, n, eps)                y = x rstd * w over rows of n, rstd per row
//   rmsNormGrad(x, w, rstd, dy, dx, dw, rows, n)
//   l2Normalize(x, y, rinv, outer, K, inner, eps)       y = x / max(||x||, eps) along K of [outer, K, inner]
//   l2NormalizeGrad(x, rinv, dy, dx, outer, K, inner, eps)
//   nerfBlock(z, g, gen, out, N, P, hx, hr, norm1, norm2, rmsEps, l2Eps)
//       the neural field's block for every patch in one pass (see "the neural-field block, fused")
//   nerfBlockGrad(z, g, gen, dy, dz, dg, dgen, N, P, hx, hr, norm1, norm2, rmsEps, l2Eps)
//   nerfBlockBf16(z, g, gen, out, ...)   nerfBlock with bf16 GEMMs (see "... forward in bf16");
//                                        returns false where it ran the fp32 block instead
//   setSimd(name)      the fused field kernels' instruction set (avx512 | avx2 | sse, capped by the CPU)
//   im2col3x3(x, out, B, H, W, C, stride)             3x3 patches, padding 1: [B,H,W,C] -> [B*Ho*Wo, 9C]
//   Every view's length is checked against the sizes; outputs are written, never read first.
//   The element-wise functions split big arrays across the threads (kParallelElems).
//
// BLAS is dlopen()ed at module load: $NATIVEBLAS_LIB (the word "builtin" forces the built-in
// loop), then libopenblas.so.0, libopenblas.so, libblas.so.3; if none exports cblas_sgemm the
// built-in i-k-j loop is used. No BLAS headers are needed at build time. OpenBLAS's core type is
// chosen from the CPU features unless OPENBLAS_CORETYPE is set (see force_coretype).
// sgemm() runs oneDNN's dnnl_sgemm instead wherever oneDNN loads (first call; dnnl-gemm.cc says
// why: 2x OpenBLAS under OPENBLAS_CORETYPE=Haswell); NATIVEBLAS_FP32_GEMM=openblas keeps OpenBLAS.
// NATIVEBLAS_THREADS=n sets the initial thread count (default: hardware concurrency).
#include <node_api.h>
#include <dlfcn.h>

#include "adaln.h"
#include "attention.h"
#include "field-output.h"
#include "rms.h"
#include "dnnl-gemm.h"
#include "parallel.h"
#ifdef BF16GEMM_X86
#include <immintrin.h>
#endif

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// cblas enums (values fixed by the CBLAS standard).
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

typedef void (*sgemm_fn)(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A,
                         int lda, const float* B, int ldb, float beta, float* C, int ldc);
typedef void (*set_threads_fn)(int);
typedef char* (*get_config_fn)(void);

struct Blas {
  void* handle = nullptr;
  sgemm_fn sgemm = nullptr;
  set_threads_fn set_threads = nullptr;
  get_config_fn get_config = nullptr;
  std::string lib = "builtin";
  std::string config = "built-in i-k-j loop (no BLAS found)";
  int threads = 1;       // what callers asked for
  int blas_threads = -1; // what OpenBLAS is set to now (-1: unknown)
  std::string coretype;  // OPENBLAS_CORETYPE we set for the load ("" if none)
  bool forced_builtin = false;  // NATIVEBLAS_LIB=builtin: no BLAS, and no oneDNN either
  int dnnl_fp32 = -1;           // sgemm through oneDNN (dnnl-gemm.h): -1 undecided, 0 no, 1 yes
};

Blas g;

// OpenBLAS (DYNAMIC_ARCH) picks its kernels from the CPU model, and falls back to generic SSE3
// "Prescott" kernels on models it does not know (e.g. 0.3.21 on newer Xeons: 10x slower). Unless
// the user set OPENBLAS_CORETYPE, choose the core from the CPU's features (which the OS must
// enable; __builtin_cpu_supports checks that) for the duration of our dlopen.
// NATIVEBLAS_CORETYPE=NAME forces a core, NATIVEBLAS_CORETYPE=auto leaves OpenBLAS's detection.
std::string force_coretype() {
  if (std::getenv("OPENBLAS_CORETYPE")) return "";
  std::string ct;
  if (const char* want = std::getenv("NATIVEBLAS_CORETYPE")) ct = want;
#if defined(__x86_64__) || defined(__i386__)
  if (ct.empty()) {
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("avx512cd");
    if (avx512 && __builtin_cpu_supports("avx512bf16")) ct = "Cooperlake";
    else if (avx512) ct = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ct = "Haswell";
  }
#endif
  if (ct.empty() || ct == "auto") return "";
  setenv("OPENBLAS_CORETYPE", ct.c_str(), 1);
  return ct;
}

void load_blas() {
  unsigned hc = std::thread::hardware_concurrency();
  g.threads = hc > 0 ? static_cast<int>(hc) : 1;
  if (const char* t = std::getenv("NATIVEBLAS_THREADS")) {
    int n = std::atoi(t);
    if (n >= 1) g.threads = n;
  }
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("NATIVEBLAS_LIB")) {
    if (std::strcmp(env, "builtin") == 0) {
      g.config = "built-in i-k-j loop (NATIVEBLAS_LIB=builtin)";
      g.forced_builtin = true;
      return;
    }
    if (*env) candidates.push_back(env);
  }
  const std::string forced = force_coretype();
  // OpenBLAS's idle workers spin for 2^28 cycles (~0.1 s) after each threaded call, on the cores
  // that this add-on's own threaded kernels run on next: the fused field block ran 3.4 ms after an
  // sgemm instead of 1.6 alone (2 cores). 2^4 cycles makes them sleep at once; the sgemm itself was
  // not slower, and a tiny-32/8 training step on OpenBLAS gained ~7 %. A user's setting stays.
  const bool timeout = std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr;
  if (timeout) setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
  for (const char* c : {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"}) candidates.push_back(c);
  for (const std::string& name : candidates) {
    void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    sgemm_fn f = reinterpret_cast<sgemm_fn>(dlsym(h, "cblas_sgemm"));
    if (!f) {
      dlclose(h);
      continue;
    }
    g.handle = h;
    g.sgemm = f;
    g.set_threads = reinterpret_cast<set_threads_fn>(dlsym(h, "openblas_set_num_threads"));
    g.get_config = reinterpret_cast<get_config_fn>(dlsym(h, "openblas_get_config"));
    g.lib = name;
    if (g.get_config) {
      const char* cfg = g.get_config();
      g.config = cfg ? std::string(cfg) : std::string("OpenBLAS");
    } else {
      g.config = "cblas (" + name + ")";
    }
    if (!forced.empty() && g.get_config) g.coretype = forced;
    break;
  }
  if (!forced.empty()) unsetenv("OPENBLAS_CORETYPE");  // only for our dlopen, not for child processes
  if (timeout) unsetenv("OPENBLAS_THREAD_TIMEOUT");
}

void set_blas_threads(int n) {
  if (!g.set_threads || g.blas_threads == n) return;
  g.set_threads(n);
  g.blas_threads = n;
}

// ---- built-in loop -------------------------------------------------------------------------

// Rows [r0, r1) of C (M x N) = op(A) op(B). `bt` is op(B) packed row-major K x N when transB
// (else null, B used directly); `arow` is K floats of scratch for a row of op(A) when transA.
void builtin_rows(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool tA,
                  int64_t r0, int64_t r1, float* arow, bool acc) {
  for (int64_t i = r0; i < r1; i++) {
    const float* a;
    if (tA) {
      for (int64_t k = 0; k < K; k++) arow[k] = A[k * M + i];
      a = arow;
    } else {
      a = A + i * K;
    }
    float* c = C + i * N;
    if (!acc)
      for (int64_t j = 0; j < N; j++) c[j] = 0.0f;
    for (int64_t k = 0; k < K; k++) {
      const float av = a[k];
      const float* b = B + k * N;
      for (int64_t j = 0; j < N; j++) c[j] += av * b[j];
    }
  }
}

// One matrix with the built-in loop, rows [r0, r1). Packs B^T when transB.
void builtin_matrix(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool tA, bool tB,
                    int64_t r0, int64_t r1, std::vector<float>& scratchA, std::vector<float>& scratchB, bool acc) {
  const float* b = B;
  if (tB) {
    scratchB.resize(static_cast<size_t>(K * N));
    for (int64_t j = 0; j < N; j++)
      for (int64_t k = 0; k < K; k++) scratchB[k * N + j] = B[j * K + k];
    b = scratchB.data();
  }
  if (tA) scratchA.resize(static_cast<size_t>(K));
  builtin_rows(A, b, C, M, N, K, tA, r0, r1, tA ? scratchA.data() : nullptr, acc);
}

// ---- dispatch --------------------------------------------------------------------------------

// Whether sgemm runs through oneDNN's dnnl_sgemm (decided on the first call, from the JS thread):
// where it loads, unless NATIVEBLAS_LIB=builtin or NATIVEBLAS_FP32_GEMM=openblas.
bool use_dnnl_fp32() {
  if (g.dnnl_fp32 < 0) g.dnnl_fp32 = !g.forced_builtin && dnnl_gemm::load_fp32().ok ? 1 : 0;
  return g.dnnl_fp32 == 1;
}

struct Gemm {
  const float* A;
  const float* B;
  float* C;
  int64_t M, N, K;
  bool tA, tB;
  int64_t batch, strideA, strideB;
  bool accumulate;  // C += op(A) op(B) (beta 1: C holds a bias), else C = op(A) op(B)
};

void blas_one(const Gemm& p, int64_t b) {
  const int lda = static_cast<int>(std::max<int64_t>(1, p.tA ? p.M : p.K));
  const int ldb = static_cast<int>(std::max<int64_t>(1, p.tB ? p.K : p.N));
  const int ldc = static_cast<int>(std::max<int64_t>(1, p.N));
  g.sgemm(kRowMajor, p.tA ? kTrans : kNoTrans, p.tB ? kTrans : kNoTrans, static_cast<int>(p.M),
          static_cast<int>(p.N), static_cast<int>(p.K), 1.0f, p.A + b * p.strideA, lda, p.B + b * p.strideB, ldb,
          p.accumulate ? 1.0f : 0.0f, p.C + b * p.M * p.N, ldc);
}

// Below kSmallWork total FLOPs: one thread. The design measured 8 MFLOP on an idle
// 2-core machine; on a shared 2-core machine a second BLAS thread that is not scheduled at once
// made 11-25 MFLOP products 10x slower (0.09 ms -> 1-2 ms), while one thread runs them in
// 0.09-0.18 ms, so the cut-off is higher.
constexpr double kSmallWork = 32e6;
constexpr double kSmallMatrix = 64e6;    // per-matrix FLOPs under which a batch is split across threads

void run_gemm(const Gemm& p, bool builtin) {
  const int64_t MN = p.M * p.N;
  if (p.batch == 0 || MN == 0) return;
  if (p.K == 0) {
    if (!p.accumulate) std::memset(p.C, 0, sizeof(float) * static_cast<size_t>(p.batch * MN));
    return;
  }
  const double per = 2.0 * static_cast<double>(p.M) * static_cast<double>(p.N) * static_cast<double>(p.K);
  const double total = per * static_cast<double>(p.batch);
  const int T = std::max(1, g.threads);
  if (builtin || !g.sgemm) {
    // Built-in loop: split the batch (or, for one matrix, the rows) across threads.
    int nt = total < kSmallWork ? 1 : T;
    if (p.batch >= 2) {
      nt = static_cast<int>(std::min<int64_t>(nt, p.batch));
      auto work = [&p, MN](int t, int nthreads) {
        std::vector<float> sa, sb;
        for (int64_t b = t; b < p.batch; b += nthreads)
          builtin_matrix(p.A + b * p.strideA, p.B + b * p.strideB, p.C + b * MN, p.M, p.N, p.K, p.tA, p.tB, 0, p.M,
                         sa, sb, p.accumulate);
      };
      native_parallel::run(nt, nt, [&](int t) { work(t, nt); });
    } else {
      nt = static_cast<int>(std::min<int64_t>(nt, p.M));
      // Pack B^T once (shared, read-only), then rows split across threads.
      std::vector<float> bt;
      const float* b = p.B;
      if (p.tB) {
        bt.resize(static_cast<size_t>(p.K * p.N));
        for (int64_t j = 0; j < p.N; j++)
          for (int64_t k = 0; k < p.K; k++) bt[k * p.N + j] = p.B[j * p.K + k];
        b = bt.data();
      }
      auto work = [&p, b](int t, int nthreads) {
        const int64_t r0 = p.M * t / nthreads, r1 = p.M * (t + 1) / nthreads;
        std::vector<float> arow(p.tA ? static_cast<size_t>(p.K) : 0);
        builtin_rows(p.A, b, p.C, p.M, p.N, p.K, p.tA, r0, r1, p.tA ? arow.data() : nullptr, p.accumulate);
      };
      native_parallel::run(nt, nt, [&](int t) { work(t, nt); });
    }
    return;
  }
  if (total < kSmallWork || T == 1) {
    set_blas_threads(1);
    for (int64_t b = 0; b < p.batch; b++) blas_one(p, b);
  } else if (p.batch >= 2 && per < kSmallMatrix) {
    // Many small matrices: OpenBLAS single-threaded, the batch split round-robin across threads.
    set_blas_threads(1);
    const int nt = static_cast<int>(std::min<int64_t>(T, p.batch));
    auto work = [&p](int t, int nthreads) {
      for (int64_t b = t; b < p.batch; b += nthreads) blas_one(p, b);
    };
    native_parallel::run(nt, nt, [&](int t) { work(t, nt); });
  } else {
    set_blas_threads(T);
    for (int64_t b = 0; b < p.batch; b++) blas_one(p, b);
  }
}


// ---- element-wise updates ------------------------------------------------------------------

// Hot element-wise loops are compiled twice, for AVX2 and for baseline x86-64 (SSE2), and the
// loader picks one for the CPU (GCC function multi-versioning). No FMA: the float32 rounding of
// each step stays that of the tfjs op formulas. The file is built with -fno-trapping-math and
// -fno-math-errno, which let GCC vectorise the selects and sqrt (the results do not change).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEC __attribute__((target_clones("avx2", "default")))
#else
#define VEC
#endif

// Reductions over shorter arrays run on the calling thread (set when each call spawned a thread,
// ~50 us; left as it was: where it splits decides how their partial sums are grouped, so moving it
// would change their values).
constexpr int64_t kParallelElems = int64_t(1) << 19;

// f(begin, end) over [0, n), split in contiguous chunks (multiples of 16 elements) across the
// configured threads, native_parallel::min_per_thread() elements or more each. Element-wise work
// only: the split never changes a value. It was kParallelElems (2^19) a thread before the pool:
// then every AdamW update but the field generator's ran on one thread (a bench-S step's AdamW
// took ~30 ms, 83 % of it on the calling thread: perf, 20 steps).
template <class F>
void parallel_for(int64_t n, F f) {
  const int64_t nt = native_parallel::threads_for(n, g.threads);
  if (nt <= 1) {
    f(int64_t(0), n);
    return;
  }
  auto bound = [n, nt](int64_t t) { return t == nt ? n : (n * t / nt) & ~int64_t(15); };
  native_parallel::run(static_cast<int>(nt), static_cast<int>(nt), [&](int t) { f(bound(t), bound(t + 1)); });
}

struct AdamW {
  float lr, b1, ob1, b2, ob2, eps, decay, bc1, bc2;
  bool has_decay;
};

// The same float32 operations, in the same order, as the op path:
//   m = m*b1 + g*(1-b1);  v = v*b2 + (g*g)*(1-b2);  u = (m/bc1) / (sqrt(v/bc2) + eps)
//   p = (wd ? p*(1 - lr*wd) : p) - u*lr
VEC void adamw_range(const float* __restrict p, float* __restrict p_out, float* __restrict m, float* __restrict v,
                     const float* __restrict gr, const AdamW& h, int64_t i0, int64_t i1) {
  const float lr = h.lr, b1 = h.b1, ob1 = h.ob1, b2 = h.b2, ob2 = h.ob2, eps = h.eps, bc1 = h.bc1, bc2 = h.bc2;
  const float decay = h.has_decay ? h.decay : 1.0f;
  for (int64_t i = i0; i < i1; i++) {
    const float gi = gr[i];
    const float mi = m[i] * b1 + gi * ob1;
    const float vi = v[i] * b2 + (gi * gi) * ob2;
    m[i] = mi;
    v[i] = vi;
    const float u = (mi / bc1) / (std::sqrt(vi / bc2) + eps);
    p_out[i] = p[i] * decay - u * lr;  // decay 1 when there is no weight decay: p*1 is exact
  }
}

VEC void ema_range(const float* __restrict e, float* __restrict e_out, const float* __restrict p, float decay, float keep,
                   int64_t i0, int64_t i1) {
  if (decay == 0.0f) {
    std::memcpy(e_out + i0, p + i0, sizeof(float) * static_cast<size_t>(i1 - i0));
    return;
  }
  for (int64_t i = i0; i < i1; i++) e_out[i] = e[i] * decay + p[i] * keep;
}

// ---- fused element-wise kernels (for the tfjs wasm backend's model ops) ------------------------

// exp(x) in float32 for |x| <= 80 (Cephes expf: range reduction by ln 2 and a degree-5
// polynomial; ~1 ulp), written with plain arithmetic so that GCC vectorises it.
static inline float exp_f32(float x) {
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest (|t| < 2^22)
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n in [-116, 116]
  float p2;
  std::memcpy(&p2, &bits, sizeof p2);
  return y * p2;
}

// sigmoid(x) = 1 / (1 + exp(-x)) with x clamped to [-80, 80]: sigmoid(80) rounds to 1, and
// sigmoid(-80) = 1.8e-35 stands for the even smaller true values. The clamp also keeps every
// lane's result normal: GCC evaluates the clamped branch for all lanes, and a denormal there
// (exp(88) overflows toward 1/(1+e) = 4e-39) made the whole loop ~10x slower (FP assists).
static inline float sigmoid_f32(float x) {
  x = x < -80.0f ? -80.0f : x;
  x = x > 80.0f ? 80.0f : x;
  return 1.0f / (1.0f + exp_f32(-x));
}

// f(begin, end) over units [0, units) of `per` elements each, split across threads when big.
template <class F>
void parallel_units(int64_t units, int64_t per, F f) {
  const int64_t work = units * std::max<int64_t>(1, per);
  const int64_t nt = std::min<int64_t>({static_cast<int64_t>(std::max(1, g.threads)), units, work / kParallelElems});
  if (nt <= 1) {
    f(int64_t(0), units, 0);
    return;
  }
  native_parallel::run(static_cast<int>(nt), static_cast<int>(nt), [&](int t) { f(units * t / nt, units * (t + 1) / nt, t); });
}

int64_t thread_slots(int64_t units, int64_t per) {
  const int64_t work = units * std::max<int64_t>(1, per);
  return std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(std::max(1, g.threads)), units, work / kParallelElems}));
}

VEC void silu_range(const float* __restrict x, float* __restrict y, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) y[i] = x[i] * sigmoid_f32(x[i]);
}

// d/dx x s(x) = s (1 + x (1 - s))
VEC void silu_grad_range(const float* __restrict x, const float* __restrict dy, float* __restrict dx, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) {
    const float s = sigmoid_f32(x[i]);
    dx[i] = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
  }
}

VEC void swiglu_range(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) y[i] = (a[i] * sigmoid_f32(a[i])) * b[i];
}

VEC void swiglu_grad_range(const float* __restrict a, const float* __restrict b, const float* __restrict dy,
                       float* __restrict da, float* __restrict db, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) {
    const float s = sigmoid_f32(a[i]);
    const float g = dy[i];
    db[i] = g * (a[i] * s);
    da[i] = (g * b[i]) * (s * (1.0f + a[i] * (1.0f - s)));
  }
}

// out[o, i] = sum over r of x[o, r, i]; `acc` holds `inner` doubles. Rows are summed in float
// in blocks of kBlock and the blocks in double, so long sums (65,536 rows) stay accurate.
constexpr int64_t kSumBlock = 64;
VEC void sum_rows_into(const float* __restrict x, int64_t r0, int64_t r1, int64_t inner, double* __restrict acc,
                   float* __restrict tmp) {
  for (int64_t rb = r0; rb < r1; rb += kSumBlock) {
    const int64_t re = std::min(r1, rb + kSumBlock);
    const float* row = x + rb * inner;
    for (int64_t i = 0; i < inner; i++) tmp[i] = row[i];
    for (int64_t r = rb + 1; r < re; r++) {
      row = x + r * inner;
      for (int64_t i = 0; i < inner; i++) tmp[i] += row[i];
    }
    for (int64_t i = 0; i < inner; i++) acc[i] += tmp[i];
  }
}

void reduce_sum(const float* x, float* out, int64_t outer, int64_t R, int64_t inner) {
  if (outer * inner == 0) return;
  if (R == 0) {
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(outer * inner));
    return;
  }
  if (inner == 1) {
    // innermost reduction: one double sum per output
    parallel_units(outer, R, [=](int64_t o0, int64_t o1, int) {
      for (int64_t o = o0; o < o1; o++) {
        const float* row = x + o * R;
        double acc = 0;
        for (int64_t rb = 0; rb < R; rb += kSumBlock) {
          float t = 0;
          const int64_t re = std::min(R, rb + kSumBlock);
          for (int64_t r = rb; r < re; r++) t += row[r];
          acc += t;
        }
        out[o] = static_cast<float>(acc);
      }
    });
    return;
  }
  const int64_t slots = thread_slots(outer >= 2 ? outer : R, outer >= 2 ? R * inner : inner);
  if (outer >= slots) {
    parallel_units(outer, R * inner, [=](int64_t o0, int64_t o1, int) {
      std::vector<double> acc(static_cast<size_t>(inner));
      std::vector<float> tmp(static_cast<size_t>(inner));
      for (int64_t o = o0; o < o1; o++) {
        std::fill(acc.begin(), acc.end(), 0.0);
        sum_rows_into(x + o * R * inner, 0, R, inner, acc.data(), tmp.data());
        for (int64_t i = 0; i < inner; i++) out[o * inner + i] = static_cast<float>(acc[i]);
      }
    });
    return;
  }
  // few outer blocks (a bias gradient: outer 1): split the rows, one partial sum per thread
  for (int64_t o = 0; o < outer; o++) {
    const float* xo = x + o * R * inner;
    const int64_t nt = thread_slots(R, inner);
    std::vector<std::vector<double>> part(static_cast<size_t>(nt), std::vector<double>(static_cast<size_t>(inner), 0.0));
    parallel_units(R, inner, [&, xo](int64_t r0, int64_t r1, int t) {
      std::vector<float> tmp(static_cast<size_t>(inner));
      sum_rows_into(xo, r0, r1, inner, part[static_cast<size_t>(t)].data(), tmp.data());
    });
    for (int64_t i = 0; i < inner; i++) {
      double a = 0;
      for (int64_t t = 0; t < nt; t++) a += part[static_cast<size_t>(t)][static_cast<size_t>(i)];
      out[o * inner + i] = static_cast<float>(a);
    }
  }
}

// out[i] = a[i] + b[i mod m] for i in [i0, i1): b repeats along a's leading axes (a broadcast add).
VEC void add_range(const float* __restrict a, const float* __restrict b, float* __restrict out, int64_t m, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1;) {
    const int64_t j = i % m, run = std::min(i1 - i, m - j);
    for (int64_t k = 0; k < run; k++) out[i + k] = a[i + k] + b[j + k];
    i += run;
  }
}

// RMSNorm over rows [r0, r1) of n: rstd = 1 / sqrt(mean(x^2) + eps), y = (x rstd) w.
VEC void rms_norm_rows(const float* __restrict x, const float* __restrict w, float* __restrict y, float* __restrict rstd,
                       int64_t r0, int64_t r1, int64_t n, float eps) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const float rs = native_rms::rstd(xr, n, eps);
    rstd[r] = rs;
    for (int64_t j = 0; j < n; j++) yr[j] = (xr[j] * rs) * w[j];
  }
}

void rms_norm(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t n, float eps) {
  parallel_units(rows, n, [=](int64_t r0, int64_t r1, int) { rms_norm_rows(x, w, y, rstd, r0, r1, n, eps); });
}

// Rows [r0, r1): dx = rstd (dy w) - x rstd^3 mean(dy w x); adds sum over rows of dy x rstd to
// acc (float32 blocks of kSumBlock rows, added in double).
VEC void rms_norm_grad_rows(const float* __restrict x, const float* __restrict w, const float* __restrict rstd,
                            const float* __restrict dy, float* __restrict dx, double* __restrict acc, float* __restrict tmp,
                            int64_t r0, int64_t r1, int64_t n) {
  int64_t inBlock = 0;
  for (int64_t j = 0; j < n; j++) tmp[j] = 0.0f;
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * n;
    const float* gr = dy + r * n;
    float* dr = dx + r * n;
    const float rs = rstd[r];
    const double dot = native_rms::dot_scaled(gr, w, xr, n);
    const float c = static_cast<float>(dot / static_cast<double>(n)) * (rs * rs * rs);
    for (int64_t j = 0; j < n; j++) {
      dr[j] = rs * (gr[j] * w[j]) - xr[j] * c;
      tmp[j] += gr[j] * (xr[j] * rs);
    }
    if (++inBlock == kSumBlock) {
      for (int64_t j = 0; j < n; j++) acc[j] += tmp[j];
      for (int64_t j = 0; j < n; j++) tmp[j] = 0.0f;
      inBlock = 0;
    }
  }
  for (int64_t j = 0; j < n; j++) acc[j] += tmp[j];
}

void rms_norm_grad(const float* x, const float* w, const float* rstd, const float* dy, float* dx, float* dw,
                   int64_t rows, int64_t n) {
  const int64_t nt = thread_slots(rows, n);
  std::vector<std::vector<double>> part(static_cast<size_t>(nt), std::vector<double>(static_cast<size_t>(n), 0.0));
  parallel_units(rows, n, [&](int64_t r0, int64_t r1, int t) {
    std::vector<float> tmp(static_cast<size_t>(n));
    rms_norm_grad_rows(x, w, rstd, dy, dx, part[static_cast<size_t>(t)].data(), tmp.data(), r0, r1, n);
  });
  for (int64_t j = 0; j < n; j++) {
    double a = 0;
    for (int64_t t = 0; t < nt; t++) a += part[static_cast<size_t>(t)][static_cast<size_t>(j)];
    dw[j] = static_cast<float>(a);
  }
}

// L2 normalisation along K of [outer, K, inner], blocks [o0, o1): rinv[o, i] = 1 / sqrt(max(sum_k x^2, eps^2)).
VEC void l2_normalize_blocks(const float* __restrict x, float* __restrict y, float* __restrict rinv, float* __restrict ss,
                             int64_t o0, int64_t o1, int64_t K, int64_t inner, float eps2) {
  for (int64_t o = o0; o < o1; o++) {
    const float* xo = x + o * K * inner;
    for (int64_t i = 0; i < inner; i++) ss[i] = 0.0f;
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < inner; i++) ss[i] += xo[k * inner + i] * xo[k * inner + i];
    float* ro = rinv + o * inner;
    for (int64_t i = 0; i < inner; i++) ro[i] = 1.0f / std::sqrt(ss[i] > eps2 ? ss[i] : eps2);
    float* yo = y + o * K * inner;
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < inner; i++) yo[k * inner + i] = xo[k * inner + i] * ro[i];
  }
}

void l2_normalize(const float* x, float* y, float* rinv, int64_t outer, int64_t K, int64_t inner, float eps2) {
  parallel_units(outer, K * inner, [=](int64_t o0, int64_t o1, int) {
    std::vector<float> ss(static_cast<size_t>(inner));
    l2_normalize_blocks(x, y, rinv, ss.data(), o0, o1, K, inner, eps2);
  });
}

// dx = rinv dy - x rinv^3 sum_k(dy x), the second term only where sum_k x^2 >= eps^2 (where the
// max() picked the norm; the same rule as tf.maximum's gradient).
VEC void l2_normalize_grad_blocks(const float* __restrict x, const float* __restrict rinv, const float* __restrict dy,
                                  float* __restrict dx, float* __restrict dot, float* __restrict ss, int64_t o0, int64_t o1,
                                  int64_t K, int64_t inner, float eps2) {
  for (int64_t o = o0; o < o1; o++) {
    const float* xo = x + o * K * inner;
    const float* go = dy + o * K * inner;
    float* d = dx + o * K * inner;
    const float* ro = rinv + o * inner;
    for (int64_t i = 0; i < inner; i++) dot[i] = 0.0f, ss[i] = 0.0f;
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < inner; i++) {
        dot[i] += go[k * inner + i] * xo[k * inner + i];
        ss[i] += xo[k * inner + i] * xo[k * inner + i];
      }
    for (int64_t i = 0; i < inner; i++) dot[i] = ss[i] >= eps2 ? dot[i] * (ro[i] * ro[i] * ro[i]) : 0.0f;
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < inner; i++) d[k * inner + i] = ro[i] * go[k * inner + i] - xo[k * inner + i] * dot[i];
  }
}

void l2_normalize_grad(const float* x, const float* rinv, const float* dy, float* dx, int64_t outer, int64_t K,
                       int64_t inner, float eps2) {
  parallel_units(outer, K * inner, [=](int64_t o0, int64_t o1, int) {
    std::vector<float> dot(static_cast<size_t>(inner)), ss(static_cast<size_t>(inner));
    l2_normalize_grad_blocks(x, rinv, dy, dx, dot.data(), ss.data(), o0, o1, K, inner, eps2);
  });
}

// ---- the neural-field block, fused (kernel-lib/heads/nerf-head.ts) ------------------------------
//
// One NerfBlock for every patch n < N (P pixels, width hx, hidden hr), from the generator output
// gen [N, 2 hx hr] (fc1 [hx, hr] then fc2 [hr, hx], each L2-normalised over its input axis when
// norm1 / norm2):
//   out = z + silu(RMSNorm(z) g @ fc1) @ fc2            z, out [N, P, hx], g [hx]
// and its backward (dz, dg, dgen), recomputing the activations patch by patch instead of saving
// them. Why no library: each patch is a pair of tiny GEMMs (64x32x64 for tiny-32/8) with RMSNorm,
// SiLU and two L2 normalisations between them; through tfjs that is ~25 kernels on 8 MB tensors
// plus OpenBLAS's per-matrix call overhead, here it is one pass per patch in L1. The GEMM tiles
// below are a register-blocked outer-product loop on GCC vector types, compiled for AVX-512,
// AVX2+FMA and SSE and picked at load time (NATIVEBLAS_SIMD=avx512|avx2|sse forces one).
// Deterministic: per-patch work has a fixed order, and dg is summed over fixed chunks of patches
// (kNerfChunk) in order, whatever the thread count.

#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")

#define AI __attribute__((always_inline)) inline

typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

template <class VT> AI void vload(VT& v, const float* p) { std::memcpy(&v, p, sizeof v); }

// C[r][0 : V*W] (row stride ldc) = sum_k A(r, k) B[k][0 : V*W] (row stride ldb) for r < R,
// with A(r, k) = A[r*ams + k*aks].
template <class VT, int V, int R>
AI void mm_tile(const float* A, int64_t ams, int64_t aks, int64_t K, const float* B, int64_t ldb, float* C, int64_t ldc) {
  constexpr int W = sizeof(VT) / 4;
  // (the small loops fully unrolled, so that acc stays in registers)
  VT acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) acc[r][v] = VT{};
  for (int64_t k = 0; k < K; k++) {
    VT bv[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) vload<VT>(bv[v], B + k * ldb + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const float x = A[r * ams + k * aks];
#pragma GCC unroll 8
      for (int v = 0; v < V; v++) acc[r][v] += bv[v] * x;
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) std::memcpy(C + r * ldc + v * W, &acc[r][v], sizeof(VT));
}

template <class VT, int V, int R>
AI void mm_cols(const float* A, int64_t ams, int64_t aks, int64_t M, int64_t K, const float* B, int64_t ldb, float* C, int64_t ldc) {
  int64_t m = 0;
  for (; m + R <= M; m += R) mm_tile<VT, V, R>(A + m * ams, ams, aks, K, B, ldb, C + m * ldc, ldc);
  for (; m < M; m++) mm_tile<VT, V, 1>(A + m * ams, ams, aks, K, B, ldb, C + m * ldc, ldc);
}

// C [M, N] (ldc) = A(M, K) B [K, N] (ldb); A(m, k) = A[m*ams + k*aks] (ams = K, aks = 1: A
// row-major; ams = 1, aks = M: A stored [K, M], i.e. A^T B).
template <class VT>
AI void mm(const float* A, int64_t ams, int64_t aks, int64_t M, int64_t K, const float* B, int64_t ldb, int64_t N, float* C, int64_t ldc) {
  constexpr int W = sizeof(VT) / 4;
  // Rows per tile: AVX-512 has 32 vector registers, so 4 x 4, 2 x 8 and 1 x 16 accumulators (4 x 2
  // before: bench-S's 256x64x128 field GEMMs ran the block at 113 GFLOP/s on 2 cores, now 187;
  // powers of two, so the 64- and 256-pixel patches leave no single-row remainder); AVX2 and SSE
  // have 16. The sum of every output is over k in order either way: the results are the same.
  constexpr bool wide = W == 16;
  constexpr int R4 = wide ? 4 : 2, R2 = wide ? 8 : 4, R1 = wide ? 16 : 8;
  int64_t j = 0;
  for (; j + 4 * W <= N; j += 4 * W) mm_cols<VT, 4, R4>(A, ams, aks, M, K, B + j, ldb, C + j, ldc);
  if (j + 2 * W <= N) {
    mm_cols<VT, 2, R2>(A, ams, aks, M, K, B + j, ldb, C + j, ldc);
    j += 2 * W;
  }
  if (j + W <= N) {
    mm_cols<VT, 1, R1>(A, ams, aks, M, K, B + j, ldb, C + j, ldc);
    j += W;
  }
  for (; j < N; j++)
    for (int64_t m = 0; m < M; m++) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; k++) s += A[m * ams + k * aks] * B[k * ldb + j];
      C[m * ldc + j] = s;
    }
}

struct NerfArgs {
  const float* z;
  const float* g;
  const float* gen;
  const float* dy;  // backward only
  float* out;       // forward: out; backward: dz
  float* dgen;      // backward only
  double* dg_chunks;  // backward only: [chunks, hx]
  int64_t N, P, hx, hr;
  bool norm1, norm2;
  float rms_eps, l2_eps2;
};

constexpr int64_t kNerfChunk = 16;

// Per-thread scratch (floats) of one patch.
int64_t nerf_scratch_size(const NerfArgs& a) {
  const int64_t w = a.hx * a.hr;
  return 4 * w + 2 * (a.hx + a.hr) + a.P + 2 * a.P * a.hx + 4 * a.P * a.hr + (a.hx + a.hr);
}

// y[k][o] = x[k][o] r[o], r[o] = 1 / sqrt(max(sum_k x[k][o]^2, eps2)); ss[o] keeps the sum.
AI void l2_cols(const float* x, float* y, float* r, float* ss, int64_t K, int64_t n, float eps2) {
  for (int64_t o = 0; o < n; o++) ss[o] = 0.0f;
  for (int64_t k = 0; k < K; k++)
    for (int64_t o = 0; o < n; o++) ss[o] += x[k * n + o] * x[k * n + o];
  for (int64_t o = 0; o < n; o++) r[o] = 1.0f / std::sqrt(ss[o] > eps2 ? ss[o] : eps2);
  for (int64_t k = 0; k < K; k++)
    for (int64_t o = 0; o < n; o++) y[k * n + o] = x[k * n + o] * r[o];
}

// dx = r dy - x r^3 sum_k(dy x) (the second term only where sum_k x^2 >= eps2), as l2_normalize_grad.
AI void l2_cols_grad(const float* x, const float* r, const float* ss, const float* dy, float* dx, float* dot, int64_t K, int64_t n, float eps2) {
  for (int64_t o = 0; o < n; o++) dot[o] = 0.0f;
  for (int64_t k = 0; k < K; k++)
    for (int64_t o = 0; o < n; o++) dot[o] += dy[k * n + o] * x[k * n + o];
  for (int64_t o = 0; o < n; o++) dot[o] = ss[o] >= eps2 ? dot[o] * (r[o] * r[o] * r[o]) : 0.0f;
  for (int64_t k = 0; k < K; k++)
    for (int64_t o = 0; o < n; o++) dx[k * n + o] = r[o] * dy[k * n + o] - x[k * n + o] * dot[o];
}

struct NerfScratch {
  float *w1, *w2, *w1t, *w2t, *r1, *r2, *ss1, *ss2, *rstd, *zn, *dzn, *h, *s, *a, *da, *tmp;
  NerfScratch(const NerfArgs& q, float* base) {
    const int64_t w = q.hx * q.hr;
    float* p = base;
    auto take = [&p](int64_t n) { float* r = p; p += n; return r; };
    w1 = take(w), w2 = take(w), w1t = take(w), w2t = take(w);
    r1 = take(q.hr), ss1 = take(q.hr), r2 = take(q.hx), ss2 = take(q.hx);
    rstd = take(q.P), zn = take(q.P * q.hx), dzn = take(q.P * q.hx);
    h = take(q.P * q.hr), s = take(q.P * q.hr), a = take(q.P * q.hr), da = take(q.P * q.hr);
    tmp = take(q.hx + q.hr);
  }
};

// The generated weights of patch n (normalised as configured; pointers into gen or scratch) and
// zn = RMSNorm(z_n) g with its rstd.
AI void nerf_prologue(const NerfArgs& q, int64_t n, NerfScratch& S, const float** W1, const float** W2) {
  const int64_t P = q.P, hx = q.hx, hr = q.hr;
  const float* A1 = q.gen + n * 2 * hx * hr;
  const float* A2 = A1 + hx * hr;
  if (q.norm1) l2_cols(A1, S.w1, S.r1, S.ss1, hx, hr, q.l2_eps2);
  if (q.norm2) l2_cols(A2, S.w2, S.r2, S.ss2, hr, hx, q.l2_eps2);
  *W1 = q.norm1 ? S.w1 : A1;
  *W2 = q.norm2 ? S.w2 : A2;
  const float* z = q.z + n * P * hx;
  const float* g = q.g;
  for (int64_t p = 0; p < P; p++) {
    const float* zr = z + p * hx;
    const float rs = native_rms::rstd(zr, hx, q.rms_eps);
    S.rstd[p] = rs;
    for (int64_t j = 0; j < hx; j++) S.zn[p * hx + j] = (zr[j] * rs) * g[j];
  }
}

template <class VT>
AI void nerf_fwd_range(const NerfArgs& q, float* scratch, int64_t n0, int64_t n1) {
  NerfScratch S(q, scratch);
  const int64_t P = q.P, hx = q.hx, hr = q.hr;
  for (int64_t n = n0; n < n1; n++) {
    const float *W1, *W2;
    nerf_prologue(q, n, S, &W1, &W2);
    mm<VT>(S.zn, hx, 1, P, hx, W1, hr, hr, S.h, hr);  // h = zn fc1
    for (int64_t i = 0; i < P * hr; i++) S.a[i] = S.h[i] * sigmoid_f32(S.h[i]);
    float* o = q.out + n * P * hx;
    mm<VT>(S.a, hr, 1, P, hr, W2, hx, hx, o, hx);  // silu(h) fc2
    const float* z = q.z + n * P * hx;
    for (int64_t i = 0; i < P * hx; i++) o[i] = z[i] + o[i];
  }
}

template <class VT>
AI void nerf_bwd_range(const NerfArgs& q, float* scratch, int64_t c0, int64_t c1) {
  NerfScratch S(q, scratch);
  const int64_t P = q.P, hx = q.hx, hr = q.hr;
  for (int64_t c = c0; c < c1; c++) {
    double* dgc = q.dg_chunks + c * hx;
    for (int64_t j = 0; j < hx; j++) dgc[j] = 0.0;
    for (int64_t n = c * kNerfChunk; n < std::min(q.N, (c + 1) * kNerfChunk); n++) {
      const float *W1, *W2;
      nerf_prologue(q, n, S, &W1, &W2);
      const float* z = q.z + n * P * hx;
      const float* dy = q.dy + n * P * hx;
      float* dz = q.out + n * P * hx;
      float* dA1 = q.dgen + n * 2 * hx * hr;
      float* dA2 = dA1 + hx * hr;
      const float* A1 = q.gen + n * 2 * hx * hr;
      const float* A2 = A1 + hx * hr;
      mm<VT>(S.zn, hx, 1, P, hx, W1, hr, hr, S.h, hr);  // h = zn fc1
      for (int64_t i = 0; i < P * hr; i++) {
        const float sg = sigmoid_f32(S.h[i]);
        S.s[i] = sg;
        S.a[i] = S.h[i] * sg;
      }
      // fc2: d fc2 = a^T dy, da = dy fc2^T
      float* dW2 = q.norm2 ? S.w2t : dA2;  // w2t is free until the transpose below
      mm<VT>(S.a, 1, hr, hr, P, dy, hx, hx, dW2, hx);
      if (q.norm2) l2_cols_grad(A2, S.r2, S.ss2, dW2, dA2, S.tmp, hr, hx, q.l2_eps2);
      for (int64_t k = 0; k < hr; k++)
        for (int64_t j = 0; j < hx; j++) S.w2t[j * hr + k] = W2[k * hx + j];
      mm<VT>(dy, hx, 1, P, hx, S.w2t, hr, hr, S.da, hr);
      // silu: dh = da s (1 + h (1 - s)), in place of da
      for (int64_t i = 0; i < P * hr; i++) S.da[i] = S.da[i] * (S.s[i] * (1.0f + S.h[i] * (1.0f - S.s[i])));
      // fc1: d fc1 = zn^T dh, dzn = dh fc1^T
      float* dW1 = q.norm1 ? S.w1t : dA1;
      mm<VT>(S.zn, 1, hx, hx, P, S.da, hr, hr, dW1, hr);
      if (q.norm1) l2_cols_grad(A1, S.r1, S.ss1, dW1, dA1, S.tmp, hx, hr, q.l2_eps2);
      for (int64_t i = 0; i < hx; i++)
        for (int64_t k = 0; k < hr; k++) S.w1t[k * hx + i] = W1[i * hr + k];
      mm<VT>(S.da, hr, 1, P, hr, S.w1t, hx, hx, S.dzn, hx);
      // RMSNorm: dz = dy + rstd (dzn g) - z rstd^3 mean(dzn g z); dg += sum_p dzn z rstd
      float* pg = S.tmp;
      for (int64_t j = 0; j < hx; j++) pg[j] = 0.0f;
      for (int64_t p = 0; p < P; p++) {
        const float* zr = z + p * hx;
        const float* gr = S.dzn + p * hx;
        const float rs = S.rstd[p];
        const double dot = native_rms::dot_scaled(gr, q.g, zr, hx);
        const float cc = static_cast<float>(dot / static_cast<double>(hx)) * (rs * rs * rs);
        for (int64_t j = 0; j < hx; j++) {
          dz[p * hx + j] = dy[p * hx + j] + (rs * (gr[j] * q.g[j]) - zr[j] * cc);
          pg[j] += gr[j] * (zr[j] * rs);
        }
      }
      for (int64_t j = 0; j < hx; j++) dgc[j] += pg[j];
    }
  }
}

#define NERF_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define NERF_AVX2 __attribute__((target("avx2,fma")))
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
NERF_AVX512 void nerf_fwd_avx512(const NerfArgs& q, float* s, int64_t a, int64_t b) { nerf_fwd_range<v16f>(q, s, a, b); }
NERF_AVX512 void nerf_bwd_avx512(const NerfArgs& q, float* s, int64_t a, int64_t b) { nerf_bwd_range<v16f>(q, s, a, b); }
NERF_AVX2 void nerf_fwd_avx2(const NerfArgs& q, float* s, int64_t a, int64_t b) { nerf_fwd_range<v8f>(q, s, a, b); }
NERF_AVX2 void nerf_bwd_avx2(const NerfArgs& q, float* s, int64_t a, int64_t b) { nerf_bwd_range<v8f>(q, s, a, b); }
#define NERF_HAS_X86 1
#endif
void nerf_fwd_base(const NerfArgs& q, float* s, int64_t a, int64_t b) { nerf_fwd_range<v4f>(q, s, a, b); }
void nerf_bwd_base(const NerfArgs& q, float* s, int64_t a, int64_t b) { nerf_bwd_range<v4f>(q, s, a, b); }

// ---- the neural-field block's forward in bf16 (the bf16 matMul precision, inference only) ----
//
// The same block with both per-patch GEMMs on bf16 inputs (zn, the normalised fc1 / fc2, silu(h),
// each rounded to nearest even) and fp32 sums: AVX512_BF16's vdpbf16ps, two products per fp32
// lane. Hand-written for the reason the fp32 tiles are (a pair of tiny GEMMs per patch, in L1);
// the GEMMs were ~70% of the fp32 block. RMSNorm, the L2 normalisations, SiLU and the residual
// stay fp32. Needs hx and hr multiples of 16 (nerf_block_bf16 runs the fp32 block otherwise).
#ifdef BF16GEMM_X86
#define NERF_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma")))

// C[r][0 : 16V] (ldc) = sum_k A(r, k) B(k, 0 : 16V) for r < R: A bf16 row-major (lda, K even),
// B bf16 in pairs of rows, Bp[(k/2) * ldb2 + 2 j + k % 2] = B(k, j) (ldb2 = 2 N).
template <int V, int R>
NERF_BF16 AI void mm_bf16_tile(const uint16_t* A, int64_t lda, int64_t K, const uint16_t* Bp, int64_t ldb2, float* C, int64_t ldc) {
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
  for (int64_t k2 = 0; k2 < K / 2; k2++) {
    __m512i bv[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) bv[v] = _mm512_loadu_si512(Bp + k2 * ldb2 + 32 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      int32_t pair;
      std::memcpy(&pair, A + r * lda + 2 * k2, sizeof pair);
      const __m512bh a = reinterpret_cast<__m512bh>(_mm512_set1_epi32(pair));
#pragma GCC unroll 8
      for (int v = 0; v < V; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, reinterpret_cast<__m512bh>(bv[v]));
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) _mm512_storeu_ps(C + r * ldc + 16 * v, acc[r][v]);
}

template <int V>
NERF_BF16 AI void mm_bf16_cols(const uint16_t* A, int64_t lda, int64_t M, int64_t K, const uint16_t* Bp, int64_t ldb2, float* C, int64_t ldc) {
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) mm_bf16_tile<V, 4>(A + m * lda, lda, K, Bp, ldb2, C + m * ldc, ldc);
  for (; m < M; m++) mm_bf16_tile<V, 1>(A + m * lda, lda, K, Bp, ldb2, C + m * ldc, ldc);
}

// C [M, N] = A [M, K] B [K, N] (A bf16 row-major, K even; B packed as above; N a multiple of 16).
NERF_BF16 void mm_bf16(const uint16_t* A, int64_t M, int64_t K, const uint16_t* Bp, int64_t N, float* C) {
  int64_t j = 0;
  for (; j + 64 <= N; j += 64) mm_bf16_cols<4>(A, K, M, K, Bp + 2 * j, 2 * N, C + j, N);
  if (j + 32 <= N) {
    mm_bf16_cols<2>(A, K, M, K, Bp + 2 * j, 2 * N, C + j, N);
    j += 32;
  }
  if (j + 16 <= N) mm_bf16_cols<1>(A, K, M, K, Bp + 2 * j, 2 * N, C + j, N);
}

// bf16 of x, round to nearest even (NaN stays NaN), 16 at a time (n a multiple of 16).
NERF_BF16 AI void to_bf16_16s(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i))));
}

// W [K, N] fp32 -> Bp, bf16 in pairs of rows (K even, N a multiple of 16).
NERF_BF16 AI void pack_pairs_bf16(const float* W, int64_t K, int64_t N, uint16_t* Bp) {
  for (int64_t k = 0; k < K; k += 2)
    for (int64_t j = 0; j < N; j += 16) {
      const __m512i lo = reinterpret_cast<__m512i>(_mm512_castsi256_si512(reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(W + k * N + j)))));
      const __m512i hi = reinterpret_cast<__m512i>(_mm512_castsi256_si512(reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(W + (k + 1) * N + j)))));
      // interleave the 16-bit lanes of row k and row k+1: (k, j), (k+1, j), (k, j+1), ...
      const __m512i idx = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
      _mm512_storeu_si512(Bp + k * N + 2 * j, _mm512_permutex2var_epi16(lo, idx, hi));
    }
}

NERF_BF16 void nerf_fwd_bf16(const NerfArgs& q, float* scratch, int64_t n0, int64_t n1) {
  NerfScratch S(q, scratch);
  const int64_t P = q.P, hx = q.hx, hr = q.hr;
  std::vector<uint16_t> b16(static_cast<size_t>(2 * hx * hr + P * hx + P * hr));
  uint16_t* W1p = b16.data();
  uint16_t* W2p = W1p + hx * hr;
  uint16_t* zn16 = W2p + hx * hr;
  uint16_t* a16 = zn16 + P * hx;
  for (int64_t n = n0; n < n1; n++) {
    const float *W1, *W2;
    nerf_prologue(q, n, S, &W1, &W2);
    pack_pairs_bf16(W1, hx, hr, W1p);
    pack_pairs_bf16(W2, hr, hx, W2p);
    to_bf16_16s(S.zn, zn16, P * hx);
    mm_bf16(zn16, P, hx, W1p, hr, S.h);  // h = zn fc1
    for (int64_t i = 0; i < P * hr; i++) S.a[i] = S.h[i] * sigmoid_f32(S.h[i]);
    to_bf16_16s(S.a, a16, P * hr);
    float* o = q.out + n * P * hx;
    mm_bf16(a16, P, hr, W2p, hx, o);  // silu(h) fc2
    const float* z = q.z + n * P * hx;
    for (int64_t i = 0; i < P * hx; i++) o[i] = z[i] + o[i];
  }
}
#endif

#pragma GCC pop_options

// 2: AVX-512, 1: AVX2 + FMA, 0: baseline; what the CPU has, capped by NATIVEBLAS_SIMD=avx512|avx2|sse
// or by setSimd (tests).
int simd_supported() {
  int l = 0;
#ifdef NERF_HAS_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
  if (l == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    l = 2;
#endif
  return l;
}

int simd_cap(const char* e) { return std::strcmp(e, "sse") == 0 ? 0 : std::strcmp(e, "avx2") == 0 ? 1 : 2; }

int g_simd = -1;

int simd_level() {
  if (g_simd < 0) {
    g_simd = simd_supported();
    if (const char* e = std::getenv("NATIVEBLAS_SIMD")) g_simd = std::min(g_simd, simd_cap(e));
  }
  return g_simd;
}

const char* simd_name() { return simd_level() == 2 ? "avx512" : simd_level() == 1 ? "avx2" : "sse"; }

void nerf_block(const NerfArgs& q) {
  typedef void (*Fn)(const NerfArgs&, float*, int64_t, int64_t);
  Fn f = nerf_fwd_base;
#ifdef NERF_HAS_X86
  if (simd_level() == 2) f = nerf_fwd_avx512;
  else if (simd_level() == 1) f = nerf_fwd_avx2;
#endif
  const int64_t ss = nerf_scratch_size(q);
  parallel_units(q.N, q.P * q.hx * q.hr / 8, [&](int64_t n0, int64_t n1, int) {
    std::vector<float> scratch(static_cast<size_t>(ss));
    f(q, scratch.data(), n0, n1);
  });
}

// The forward with bf16 GEMMs where the CPU has AVX512_BF16 and hx, hr are multiples of 16,
// else the fp32 one. Returns whether it ran bf16.
bool nerf_block_bf16(const NerfArgs& q) {
#ifdef BF16GEMM_X86
  if (dnnl_gemm::cpu_ok() && q.hx % 16 == 0 && q.hr % 16 == 0) {
    const int64_t ss = nerf_scratch_size(q);
    parallel_units(q.N, q.P * q.hx * q.hr / 8, [&](int64_t n0, int64_t n1, int) {
      std::vector<float> scratch(static_cast<size_t>(ss));
      nerf_fwd_bf16(q, scratch.data(), n0, n1);
    });
    return true;
  }
#endif
  nerf_block(q);
  return false;
}

void nerf_block_grad(NerfArgs q, float* dg) {
  typedef void (*Fn)(const NerfArgs&, float*, int64_t, int64_t);
  Fn f = nerf_bwd_base;
#ifdef NERF_HAS_X86
  if (simd_level() == 2) f = nerf_bwd_avx512;
  else if (simd_level() == 1) f = nerf_bwd_avx2;
#endif
  const int64_t chunks = (q.N + kNerfChunk - 1) / kNerfChunk;
  std::vector<double> part(static_cast<size_t>(std::max<int64_t>(1, chunks * q.hx)), 0.0);
  q.dg_chunks = part.data();
  const int64_t ss = nerf_scratch_size(q);
  parallel_units(chunks, kNerfChunk * q.P * q.hx * q.hr / 4, [&](int64_t c0, int64_t c1, int) {
    std::vector<float> scratch(static_cast<size_t>(ss));
    f(q, scratch.data(), c0, c1);
  });
  for (int64_t j = 0; j < q.hx; j++) {
    double acc = 0;
    for (int64_t c = 0; c < chunks; c++) acc += part[static_cast<size_t>(c * q.hx + j)];
    dg[j] = static_cast<float>(acc);
  }
}

// ---- transpose (the wasm backend's Transpose, float32) ---------------------------------------

// out = x with its axes permuted: out axis i is x axis perm[i]; shape is x's (rank <= 8, axes
// already merged by the caller). Whole output rows (the last axis) per unit of work; a memcpy
// when the last axis stays last, else a strided gather.
void transpose(const float* x, float* out, const int64_t* shape, const int64_t* perm, int rank) {
  int64_t in_stride[8], oshape[8];
  in_stride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) in_stride[d] = in_stride[d + 1] * shape[d + 1];
  for (int i = 0; i < rank; i++) oshape[i] = shape[perm[i]];
  const int64_t inner = oshape[rank - 1], rows = [&] {
    int64_t r = 1;
    for (int i = 0; i < rank - 1; i++) r *= oshape[i];
    return r;
  }();
  const int64_t step = in_stride[perm[rank - 1]];
  parallel_units(rows, inner, [=](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t rem = r, off = 0;
      for (int i = rank - 2; i >= 0; i--) {
        off += (rem % oshape[i]) * in_stride[perm[i]];
        rem /= oshape[i];
      }
      float* o = out + r * inner;
      if (step == 1) std::memcpy(o, x + off, sizeof(float) * static_cast<size_t>(inner));
      else
        for (int64_t k = 0; k < inner; k++) o[k] = x[off + k * step];
    }
  });
}

// ---- 3x3 im2col (the small CNN's convolutions, kernel-lib/classifier/im2col.ts) ---------------

// x [B, H, W, C] -> out [B*Ho*Wo, 9*C], padding 1, stride s: row (b, i, j), column (ky*3+kx)*C + c
// holds x[b, i*s+ky-1, j*s+kx-1, c], zero outside the image. A copy: the values are exactly the
// JS loop's. No library fits: XNNPACK's conv is inside tfjs-wasm (no im2col exported), OpenBLAS
// has none, and tfjs-wasm's pad + slices + concat costs ~10 kernels per convolution.
void im2col3x3(const float* x, float* out, int64_t B, int64_t H, int64_t W, int64_t C, int64_t s) {
  const int64_t Ho = (H + s - 1) / s, Wo = (W + s - 1) / s;
  const size_t run = sizeof(float) * static_cast<size_t>(C);
  parallel_units(B * Ho, Wo * 9 * C, [=](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = r / Ho, i = r % Ho;
      float* o = out + r * Wo * 9 * C;
      for (int64_t j = 0; j < Wo; j++) {
        for (int64_t ky = 0; ky < 3; ky++) {
          const int64_t y = i * s + ky - 1;
          for (int64_t kx = 0; kx < 3; kx++, o += C) {
            const int64_t xx = j * s + kx - 1;
            if (y < 0 || y >= H || xx < 0 || xx >= W) std::memset(o, 0, run);
            else std::memcpy(o, x + ((b * H + y) * W + xx) * C, run);
          }
        }
      }
    }
  });
}

// ---- N-API glue ------------------------------------------------------------------------------

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) {                         \
      napi_throw_error(env, nullptr, "N-API failure: " #call); \
      return nullptr;                                \
    }                                                \
  } while (0)

bool get_f32(napi_env env, napi_value v, const char* name, float** data, size_t* len, const char* fn = "sgemm") {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, nullptr, (std::string("nativeblas.") + fn + ": " + name + " must be a Float32Array").c_str());
    return false;
  }
  napi_typedarray_type type;
  void* ptr = nullptr;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &off) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, (std::string("nativeblas.") + fn + ": " + name + " must be a Float32Array").c_str());
    return false;
  }
  *data = static_cast<float*>(ptr);
  return true;
}

bool get_int(napi_env env, napi_value v, const char* name, int64_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d)) ||
      d > 9.0e15) {
    napi_throw_type_error(env, nullptr,
                          (std::string("nativeblas.sgemm: ") + name + " must be a non-negative integer").c_str());
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool get_bool(napi_env env, napi_value v, bool* out) {
  napi_value b;
  if (napi_coerce_to_bool(env, v, &b) != napi_ok) return false;
  return napi_get_value_bool(env, b, out) == napi_ok;
}

enum class GemmPath { blas, builtin, bf16 };

napi_value sgemm_impl(napi_env env, napi_callback_info info, GemmPath path) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 11) {
    napi_throw_type_error(env, nullptr,
                          "nativeblas.sgemm(A, B, C, M, N, K, transA, transB, batch, strideA, strideB): 11 arguments");
    return nullptr;
  }
  float *A, *B, *C;
  size_t la, lb, lc;
  if (!get_f32(env, argv[0], "A", &A, &la) || !get_f32(env, argv[1], "B", &B, &lb) ||
      !get_f32(env, argv[2], "C", &C, &lc))
    return nullptr;
  int64_t M, N, K, batch, sA, sB;
  bool tA, tB;
  if (!get_int(env, argv[3], "M", &M) || !get_int(env, argv[4], "N", &N) || !get_int(env, argv[5], "K", &K) ||
      !get_bool(env, argv[6], &tA) || !get_bool(env, argv[7], &tB) || !get_int(env, argv[8], "batch", &batch) ||
      !get_int(env, argv[9], "strideA", &sA) || !get_int(env, argv[10], "strideB", &sB))
    return nullptr;
  bool accumulate = false;
  if (argc >= 12 && !get_bool(env, argv[11], &accumulate)) return nullptr;
  // bias (optional): a row of N floats that every row of C starts as (C = bias + op(A) op(B))
  float* bias = nullptr;
  size_t lbias = 0;
  if (argc >= 13) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[12], &t));
    if (t != napi_undefined && t != napi_null) {
      if (!get_f32(env, argv[12], "bias", &bias, &lbias)) return nullptr;
      if (static_cast<int64_t>(lbias) < N) {
        napi_throw_range_error(env, nullptr, ("nativeblas.sgemm: bias has " + std::to_string(lbias) + " elements, N = " + std::to_string(N)).c_str());
        return nullptr;
      }
      if (accumulate) {
        napi_throw_type_error(env, nullptr, "nativeblas.sgemm: bias and accumulate exclude each other");
        return nullptr;
      }
    }
  }
  const int64_t kIntMax = 2147483647;
  if (M > kIntMax || N > kIntMax || K > kIntMax) {
    napi_throw_range_error(env, nullptr, "nativeblas.sgemm: M, N, K must fit in 32 bits");
    return nullptr;
  }
  if (batch > 0 && M * N > 0) {
    const int64_t needC = batch * M * N;
    const int64_t needA = (batch - 1) * sA + M * K;
    const int64_t needB = (batch - 1) * sB + K * N;
    if (static_cast<int64_t>(lc) < needC || static_cast<int64_t>(la) < needA || static_cast<int64_t>(lb) < needB) {
      std::string msg = "nativeblas.sgemm: view too short (A " + std::to_string(la) + "/" + std::to_string(needA) +
                        ", B " + std::to_string(lb) + "/" + std::to_string(needB) + ", C " + std::to_string(lc) + "/" +
                        std::to_string(needC) + " elements; a detached heap view has length 0)";
      napi_throw_range_error(env, nullptr, msg.c_str());
      return nullptr;
    }
    if (path == GemmPath::bf16) {
      const dnnl_gemm::Status& st = dnnl_gemm::load_bf16();
      if (!st.ok) {
        napi_throw_error(env, nullptr, ("nativeblas.sgemmBf16: bf16 unavailable: " + st.reason).c_str());
        return nullptr;
      }
      int status = 0;
      dnnl_gemm::gemm_bf16(A, B, C, M, N, K, tA, tB, batch, sA, sB, accumulate, bias, std::max(1, g.threads), &status);
      if (status != 0) {
        napi_throw_error(env, nullptr, ("nativeblas.sgemmBf16: dnnl_gemm_bf16bf16f32 failed (dnnl_status_t " + std::to_string(status) + ")").c_str());
        return nullptr;
      }
    } else if (path == GemmPath::blas && use_dnnl_fp32()) {
      int status = 0;
      dnnl_gemm::gemm_fp32(A, B, C, M, N, K, tA, tB, batch, sA, sB, accumulate, bias, std::max(1, g.threads), &status);
      if (status != 0) {
        napi_throw_error(env, nullptr, ("nativeblas.sgemm: dnnl_sgemm failed (dnnl_status_t " + std::to_string(status) + ")").c_str());
        return nullptr;
      }
    } else {
      if (bias)  // OpenBLAS and the built-in loop: the rows first, then accumulate onto them
        dnnl_gemm::fill_bias(C, bias, N, 0, batch * M, 0, N);
      Gemm p{A, B, C, M, N, K, tA, tB, batch, sA, sB, accumulate || bias != nullptr};
      run_gemm(p, path == GemmPath::builtin);
    }
  }
  napi_value undef;
  CHECK(napi_get_undefined(env, &undef));
  return undef;
}

napi_value Sgemm(napi_env env, napi_callback_info info) { return sgemm_impl(env, info, GemmPath::blas); }
napi_value SgemmBuiltin(napi_env env, napi_callback_info info) { return sgemm_impl(env, info, GemmPath::builtin); }
napi_value SgemmBf16(napi_env env, napi_callback_info info) { return sgemm_impl(env, info, GemmPath::bf16); }

napi_value Bf16Info(napi_env env, napi_callback_info) {
  const dnnl_gemm::Status& st = dnnl_gemm::load_bf16();
  napi_value obj, v;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_get_boolean(env, st.ok, &v));
  CHECK(napi_set_named_property(env, obj, "available", v));
  CHECK(napi_create_string_utf8(env, st.reason.c_str(), NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, obj, "reason", v));
  if (!st.lib.empty()) {
    CHECK(napi_create_string_utf8(env, st.lib.c_str(), NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, obj, "lib", v));
  }
  if (!st.version.empty()) {
    CHECK(napi_create_string_utf8(env, st.version.c_str(), NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, obj, "version", v));
  }
  return obj;
}


bool get_num(napi_env env, napi_value v, const char* fn, const char* name, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok || !std::isfinite(*out)) {
    napi_throw_type_error(env, nullptr, (std::string("nativeblas.") + fn + ": " + name + " must be a finite number").c_str());
    return false;
  }
  return true;
}

// Float32Array views that all have length n (the first one's); throws otherwise.
bool get_views(napi_env env, napi_value* argv, int count, const char* fn, const char* const* names, float** out, size_t* n) {
  for (int i = 0; i < count; i++) {
    size_t len = 0;
    if (!get_f32(env, argv[i], names[i], &out[i], &len, fn)) return false;
    if (i == 0) *n = len;
    else if (len != *n) {
      std::string msg = std::string("nativeblas.") + fn + ": " + names[i] + " has " + std::to_string(len) + " elements, " +
                        names[0] + " has " + std::to_string(*n) + " (a detached heap view has length 0)";
      napi_throw_range_error(env, nullptr, msg.c_str());
      return false;
    }
  }
  return true;
}

napi_value AdamWStep(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 12) {
    napi_throw_type_error(env, nullptr, "nativeblas.adamwStep(p, pOut, m, v, g, lr, beta1, beta2, eps, weightDecay, bc1, bc2): 12 arguments");
    return nullptr;
  }
  static const char* const names[] = {"p", "pOut", "m", "v", "g"};
  float* x[5];
  size_t n = 0;
  if (!get_views(env, argv, 5, "adamwStep", names, x, &n)) return nullptr;
  double lr, b1, b2, eps, wd, bc1, bc2;
  if (!get_num(env, argv[5], "adamwStep", "lr", &lr) || !get_num(env, argv[6], "adamwStep", "beta1", &b1) ||
      !get_num(env, argv[7], "adamwStep", "beta2", &b2) || !get_num(env, argv[8], "adamwStep", "eps", &eps) ||
      !get_num(env, argv[9], "adamwStep", "weightDecay", &wd) || !get_num(env, argv[10], "adamwStep", "bc1", &bc1) ||
      !get_num(env, argv[11], "adamwStep", "bc2", &bc2))
    return nullptr;
  // Scalars rounded to float32 as tfjs does with JS numbers; 1 - beta and 1 - lr*wd in double first.
  const AdamW h{static_cast<float>(lr), static_cast<float>(b1), static_cast<float>(1.0 - b1), static_cast<float>(b2),
                static_cast<float>(1.0 - b2), static_cast<float>(eps), static_cast<float>(1.0 - lr * wd),
                static_cast<float>(bc1), static_cast<float>(bc2), wd != 0.0};
  if (x[0] == x[1]) {
    napi_throw_error(env, nullptr, "nativeblas.adamwStep: pOut must be a fresh buffer, not p");
    return nullptr;
  }
  const float* p = x[0];
  float *p_out = x[1], *m = x[2], *v = x[3];
  const float* gr = x[4];
  parallel_for(static_cast<int64_t>(n), [=, &h](int64_t i0, int64_t i1) { adamw_range(p, p_out, m, v, gr, h, i0, i1); });
  napi_value undef;
  CHECK(napi_get_undefined(env, &undef));
  return undef;
}

napi_value EmaStep(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 4) {
    napi_throw_type_error(env, nullptr, "nativeblas.emaStep(e, eOut, p, decay): 4 arguments");
    return nullptr;
  }
  static const char* const names[] = {"e", "eOut", "p"};
  float* x[3];
  size_t n = 0;
  if (!get_views(env, argv, 3, "emaStep", names, x, &n)) return nullptr;
  double decay;
  if (!get_num(env, argv[3], "emaStep", "decay", &decay)) return nullptr;
  if (x[0] == x[1]) {
    napi_throw_error(env, nullptr, "nativeblas.emaStep: eOut must be a fresh buffer, not e");
    return nullptr;
  }
  const float d = static_cast<float>(decay), keep = static_cast<float>(1.0 - decay);
  const float* e = x[0];
  float* e_out = x[1];
  const float* p = x[2];
  parallel_for(static_cast<int64_t>(n), [=](int64_t i0, int64_t i1) { ema_range(e, e_out, p, d, keep, i0, i1); });
  napi_value undef;
  CHECK(napi_get_undefined(env, &undef));
  return undef;
}

// Parses `nviews` Float32Array views then `nnums` finite numbers; `fn` names the function in errors.
struct KArgs {
  float* v[10];
  size_t len[10];
  double num[8];
};

bool parse_args(napi_env env, napi_callback_info info, const char* fn, const char* const* names, int nviews, int nnums, KArgs& a) {
  size_t argc = 16;
  napi_value argv[16];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  if (static_cast<int>(argc) < nviews + nnums) {
    napi_throw_type_error(env, nullptr, (std::string("nativeblas.") + fn + ": " + std::to_string(nviews + nnums) + " arguments expected").c_str());
    return false;
  }
  for (int i = 0; i < nviews; i++)
    if (!get_f32(env, argv[i], names[i], &a.v[i], &a.len[i], fn)) return false;
  for (int i = 0; i < nnums; i++)
    if (!get_num(env, argv[nviews + i], fn, names[nviews + i], &a.num[i])) return false;
  return true;
}

// Throws a RangeError unless view i holds at least need[i] elements.
bool check_lengths(napi_env env, const char* fn, const char* const* names, const KArgs& a, std::initializer_list<int64_t> need) {
  int i = 0;
  for (int64_t n : need) {
    if (static_cast<int64_t>(a.len[i]) < n) {
      std::string msg = std::string("nativeblas.") + fn + ": " + names[i] + " has " + std::to_string(a.len[i]) + " elements, " +
                        std::to_string(n) + " needed (a detached heap view has length 0)";
      napi_throw_range_error(env, nullptr, msg.c_str());
      return false;
    }
    i++;
  }
  return true;
}

bool get_size(napi_env env, const char* fn, const char* name, double d, int64_t* out) {
  if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d)) || d > 9.0e15) {
    napi_throw_type_error(env, nullptr, (std::string("nativeblas.") + fn + ": " + name + " must be a non-negative integer").c_str());
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

napi_value undefined_value(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value ReduceSum(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "out", "outer", "R", "inner"};
  KArgs a;
  int64_t outer = 0, R = 0, inner = 0;
  if (!parse_args(env, info, "reduceSum", names, 2, 3, a) || !get_size(env, "reduceSum", "outer", a.num[0], &outer) ||
      !get_size(env, "reduceSum", "R", a.num[1], &R) || !get_size(env, "reduceSum", "inner", a.num[2], &inner) ||
      !check_lengths(env, "reduceSum", names, a, {outer * R * inner, outer * inner}))
    return nullptr;
  reduce_sum(a.v[0], a.v[1], outer, R, inner);
  return undefined_value(env);
}

napi_value AddBroadcast(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"a", "b", "out", "n", "m"};
  KArgs a;
  int64_t n = 0, m = 0;
  if (!parse_args(env, info, "addBroadcast", names, 3, 2, a) || !get_size(env, "addBroadcast", "n", a.num[0], &n) ||
      !get_size(env, "addBroadcast", "m", a.num[1], &m) || !check_lengths(env, "addBroadcast", names, a, {n, m, n}))
    return nullptr;
  if (m == 0 || n % m != 0) {
    napi_throw_range_error(env, nullptr, "nativeblas.addBroadcast: the length of b must divide that of a");
    return nullptr;
  }
  const float *x = a.v[0], *b = a.v[1];
  float* y = a.v[2];
  parallel_for(n, [=](int64_t i0, int64_t i1) { add_range(x, b, y, m, i0, i1); });
  return undefined_value(env);
}

// transpose(x, out, shape, perm): shape and perm as Float32Arrays of the same length (1-8).
napi_value Transpose(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "out", "shape", "perm"};
  KArgs a;
  if (!parse_args(env, info, "transpose", names, 4, 0, a)) return nullptr;
  const int rank = static_cast<int>(a.len[2]);
  if (rank < 1 || rank > 8 || a.len[3] != a.len[2]) {
    napi_throw_range_error(env, nullptr, "nativeblas.transpose: shape and perm must have the same length, 1 to 8");
    return nullptr;
  }
  int64_t shape[8], perm[8], n = 1;
  bool seen[8] = {false};
  for (int i = 0; i < rank; i++) {
    shape[i] = static_cast<int64_t>(a.v[2][i]);
    perm[i] = static_cast<int64_t>(a.v[3][i]);
    if (shape[i] < 0 || perm[i] < 0 || perm[i] >= rank || seen[perm[i]]) {
      napi_throw_range_error(env, nullptr, "nativeblas.transpose: perm must be a permutation of the axes and sizes non-negative");
      return nullptr;
    }
    seen[perm[i]] = true;
    n *= shape[i];
  }
  if (!check_lengths(env, "transpose", names, a, {n, n})) return nullptr;
  if (n > 0) transpose(a.v[0], a.v[1], shape, perm, rank);
  return undefined_value(env);
}

napi_value Silu(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "y"};
  KArgs a;
  if (!parse_args(env, info, "silu", names, 2, 0, a)) return nullptr;
  const int64_t n = static_cast<int64_t>(a.len[0]);
  if (!check_lengths(env, "silu", names, a, {n, n})) return nullptr;
  const float* x = a.v[0];
  float* y = a.v[1];
  parallel_for(n, [=](int64_t i0, int64_t i1) { silu_range(x, y, i0, i1); });
  return undefined_value(env);
}

napi_value SiluGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "dy", "dx"};
  KArgs a;
  if (!parse_args(env, info, "siluGrad", names, 3, 0, a)) return nullptr;
  const int64_t n = static_cast<int64_t>(a.len[0]);
  if (!check_lengths(env, "siluGrad", names, a, {n, n, n})) return nullptr;
  const float *x = a.v[0], *dy = a.v[1];
  float* dx = a.v[2];
  parallel_for(n, [=](int64_t i0, int64_t i1) { silu_grad_range(x, dy, dx, i0, i1); });
  return undefined_value(env);
}

napi_value SwiGlu(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"a", "b", "y"};
  KArgs a;
  if (!parse_args(env, info, "swiGlu", names, 3, 0, a)) return nullptr;
  const int64_t n = static_cast<int64_t>(a.len[0]);
  if (!check_lengths(env, "swiGlu", names, a, {n, n, n})) return nullptr;
  const float *x = a.v[0], *b = a.v[1];
  float* y = a.v[2];
  parallel_for(n, [=](int64_t i0, int64_t i1) { swiglu_range(x, b, y, i0, i1); });
  return undefined_value(env);
}

napi_value SwiGluGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"a", "b", "dy", "da", "db"};
  KArgs a;
  if (!parse_args(env, info, "swiGluGrad", names, 5, 0, a)) return nullptr;
  const int64_t n = static_cast<int64_t>(a.len[0]);
  if (!check_lengths(env, "swiGluGrad", names, a, {n, n, n, n, n})) return nullptr;
  const float *x = a.v[0], *b = a.v[1], *dy = a.v[2];
  float *da = a.v[3], *db = a.v[4];
  parallel_for(n, [=](int64_t i0, int64_t i1) { swiglu_grad_range(x, b, dy, da, db, i0, i1); });
  return undefined_value(env);
}

napi_value RmsNorm(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "w", "y", "rstd", "rows", "n", "eps"};
  KArgs a;
  int64_t rows = 0, n = 0;
  if (!parse_args(env, info, "rmsNorm", names, 4, 3, a) || !get_size(env, "rmsNorm", "rows", a.num[0], &rows) ||
      !get_size(env, "rmsNorm", "n", a.num[1], &n) || !check_lengths(env, "rmsNorm", names, a, {rows * n, n, rows * n, rows}))
    return nullptr;
  if (n > 0) rms_norm(a.v[0], a.v[1], a.v[2], a.v[3], rows, n, static_cast<float>(a.num[2]));
  return undefined_value(env);
}

napi_value RmsNormGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "w", "rstd", "dy", "dx", "dw", "rows", "n"};
  KArgs a;
  int64_t rows = 0, n = 0;
  if (!parse_args(env, info, "rmsNormGrad", names, 6, 2, a) || !get_size(env, "rmsNormGrad", "rows", a.num[0], &rows) ||
      !get_size(env, "rmsNormGrad", "n", a.num[1], &n) ||
      !check_lengths(env, "rmsNormGrad", names, a, {rows * n, n, rows, rows * n, rows * n, n}))
    return nullptr;
  if (n > 0) rms_norm_grad(a.v[0], a.v[1], a.v[2], a.v[3], a.v[4], a.v[5], rows, n);
  return undefined_value(env);
}

napi_value L2Normalize(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "y", "rinv", "outer", "K", "inner", "eps"};
  KArgs a;
  int64_t outer = 0, K = 0, inner = 0;
  if (!parse_args(env, info, "l2Normalize", names, 3, 4, a) || !get_size(env, "l2Normalize", "outer", a.num[0], &outer) ||
      !get_size(env, "l2Normalize", "K", a.num[1], &K) || !get_size(env, "l2Normalize", "inner", a.num[2], &inner) ||
      !check_lengths(env, "l2Normalize", names, a, {outer * K * inner, outer * K * inner, outer * inner}))
    return nullptr;
  const float eps = static_cast<float>(a.num[3]);
  l2_normalize(a.v[0], a.v[1], a.v[2], outer, K, inner, eps * eps);
  return undefined_value(env);
}

napi_value L2NormalizeGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "rinv", "dy", "dx", "outer", "K", "inner", "eps"};
  KArgs a;
  int64_t outer = 0, K = 0, inner = 0;
  if (!parse_args(env, info, "l2NormalizeGrad", names, 4, 4, a) ||
      !get_size(env, "l2NormalizeGrad", "outer", a.num[0], &outer) || !get_size(env, "l2NormalizeGrad", "K", a.num[1], &K) ||
      !get_size(env, "l2NormalizeGrad", "inner", a.num[2], &inner) ||
      !check_lengths(env, "l2NormalizeGrad", names, a, {outer * K * inner, outer * inner, outer * K * inner, outer * K * inner}))
    return nullptr;
  const float eps = static_cast<float>(a.num[3]);
  l2_normalize_grad(a.v[0], a.v[1], a.v[2], a.v[3], outer, K, inner, eps * eps);
  return undefined_value(env);
}

napi_value Im2col3x3(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "out", "B", "H", "W", "C", "stride"};
  KArgs a;
  int64_t B = 0, H = 0, W = 0, C = 0, s = 0;
  if (!parse_args(env, info, "im2col3x3", names, 2, 5, a) || !get_size(env, "im2col3x3", "B", a.num[0], &B) ||
      !get_size(env, "im2col3x3", "H", a.num[1], &H) || !get_size(env, "im2col3x3", "W", a.num[2], &W) ||
      !get_size(env, "im2col3x3", "C", a.num[3], &C) || !get_size(env, "im2col3x3", "stride", a.num[4], &s))
    return nullptr;
  if (s < 1) {
    napi_throw_range_error(env, nullptr, "nativeblas.im2col3x3: stride must be >= 1");
    return nullptr;
  }
  const int64_t rows = B * ((H + s - 1) / s) * ((W + s - 1) / s);
  if (!check_lengths(env, "im2col3x3", names, a, {B * H * W * C, rows * 9 * C})) return nullptr;
  im2col3x3(a.v[0], a.v[1], B, H, W, C, s);
  return undefined_value(env);
}

// Shared by NerfBlock / NerfBlockGrad: sizes and switches after the views.
bool nerf_dims(napi_env env, const char* fn, const KArgs& a, NerfArgs* q) {
  int64_t N = 0, P = 0, hx = 0, hr = 0;
  if (!get_size(env, fn, "N", a.num[0], &N) || !get_size(env, fn, "P", a.num[1], &P) || !get_size(env, fn, "hx", a.num[2], &hx) ||
      !get_size(env, fn, "hr", a.num[3], &hr))
    return false;
  q->N = N, q->P = P, q->hx = hx, q->hr = hr;
  q->norm1 = a.num[4] != 0.0, q->norm2 = a.num[5] != 0.0;
  q->rms_eps = static_cast<float>(a.num[6]);
  const float l2 = static_cast<float>(a.num[7]);
  q->l2_eps2 = l2 * l2;
  return true;
}

// The arguments of nerfBlock / nerfBlockBf16 (the same list) into *q; false after a JS exception.
bool parse_nerf_block(napi_env env, napi_callback_info info, const char* fn, NerfArgs* q) {
  static const char* const names[] = {"z", "g", "gen", "out", "N", "P", "hx", "hr", "norm1", "norm2", "rmsEps", "l2Eps"};
  KArgs a;
  if (!parse_args(env, info, fn, names, 4, 8, a) || !nerf_dims(env, fn, a, q)) return false;
  const int64_t zn = q->N * q->P * q->hx;
  if (!check_lengths(env, fn, names, a, {zn, q->hx, q->N * 2 * q->hx * q->hr, zn})) return false;
  q->z = a.v[0], q->g = a.v[1], q->gen = a.v[2], q->out = a.v[3];
  return true;
}

napi_value NerfBlock(napi_env env, napi_callback_info info) {
  NerfArgs q{};
  if (!parse_nerf_block(env, info, "nerfBlock", &q)) return nullptr;
  if (q.N * q.P * q.hx > 0) nerf_block(q);
  return undefined_value(env);
}

// nerfBlockBf16(...): NerfBlock's arguments; returns true where the GEMMs ran bf16, false where
// it ran the fp32 block (no AVX512_BF16, or hx / hr not multiples of 16).
napi_value NerfBlockBf16(napi_env env, napi_callback_info info) {
  NerfArgs q{};
  if (!parse_nerf_block(env, info, "nerfBlockBf16", &q)) return nullptr;
  bool ran = false;
  if (q.N * q.P * q.hx > 0) ran = nerf_block_bf16(q);
  napi_value r;
  CHECK(napi_get_boolean(env, ran, &r));
  return r;
}

napi_value NerfBlockGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"z", "g", "gen", "dy", "dz", "dg", "dgen", "N", "P", "hx", "hr", "norm1", "norm2", "rmsEps", "l2Eps"};
  KArgs a;
  NerfArgs q{};
  if (!parse_args(env, info, "nerfBlockGrad", names, 7, 8, a) || !nerf_dims(env, "nerfBlockGrad", a, &q)) return nullptr;
  const int64_t zn = q.N * q.P * q.hx, gn = q.N * 2 * q.hx * q.hr;
  if (!check_lengths(env, "nerfBlockGrad", names, a, {zn, q.hx, gn, zn, zn, q.hx, gn})) return nullptr;
  q.z = a.v[0], q.g = a.v[1], q.gen = a.v[2], q.dy = a.v[3], q.out = a.v[4], q.dgen = a.v[6];
  if (q.N == 0 || q.hx == 0) {
    for (int64_t j = 0; j < q.hx; j++) a.v[5][j] = 0.0f;
    std::memset(a.v[6], 0, sizeof(float) * static_cast<size_t>(gn));
    return undefined_value(env);
  }
  if (q.P == 0) {  // no pixels: nothing flows back but zeros
    for (int64_t j = 0; j < q.hx; j++) a.v[5][j] = 0.0f;
    std::memset(a.v[6], 0, sizeof(float) * static_cast<size_t>(gn));
    return undefined_value(env);
  }
  nerf_block_grad(q, a.v[5]);
  return undefined_value(env);
}

// setSimd(name): the fused neural-field kernels' instruction set from now on ("avx512", "avx2",
// "sse"), capped at what the CPU has; returns the one in use (tests compare all of them).
// Reads a.num[0], a.num[1], ... as the sizes named, in order (see get_size).
bool get_sizes(napi_env env, const char* fn, const KArgs& a, std::initializer_list<std::pair<const char*, int64_t*>> sizes) {
  int i = 0;
  for (const auto& [name, out] : sizes)
    if (!get_size(env, fn, name, a.num[i++], out)) return false;
  return true;
}

// attention(qkv, qw, kw, cos, sin, o, B, L, h, Dh, eps) and attentionGrad(qkv, qw, kw, cos, sin,
// dy, dqkv, dqw, dkw, B, L, h, Dh, eps): see attention.h.
bool attention_args(napi_env env, const char* fn, const char* const* names, const KArgs& a, bool grad, attention::Args* q) {
  int64_t B = 0, L = 0, h = 0, Dh = 0;
  if (!get_sizes(env, fn, a, {{"B", &B}, {"L", &L}, {"h", &h}, {"Dh", &Dh}})) return false;
  if (Dh % 2 != 0 || L == 0 || h == 0 || Dh == 0) {
    napi_throw_range_error(env, nullptr, (std::string("nativeblas.") + fn + ": L, h and Dh must be positive and Dh even").c_str());
    return false;
  }
  const int64_t D = h * Dh, rows = B * L;
  const bool ok = grad ? check_lengths(env, fn, names, a, {rows * 3 * D, Dh, Dh, L * Dh, L * Dh, rows * D, rows * 3 * D, Dh, Dh})
                       : check_lengths(env, fn, names, a, {rows * 3 * D, Dh, Dh, L * Dh, L * Dh, rows * D});
  if (!ok) return false;
  *q = attention::Args{a.v[0], a.v[1], a.v[2], a.v[3], a.v[4], B, L, h, Dh, static_cast<float>(a.num[4]), g.threads};
  return true;
}

napi_value Attention(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"qkv", "qw", "kw", "cos", "sin", "o", "B", "L", "h", "Dh", "eps"};
  KArgs a{};
  attention::Args q{};
  if (!parse_args(env, info, "attention", names, 6, 5, a) || !attention_args(env, "attention", names, a, false, &q)) return nullptr;
  if (q.B > 0) attention::forward(q, a.v[5]);
  return undefined_value(env);
}

napi_value AttentionGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"qkv", "qw", "kw", "cos", "sin", "dy", "dqkv", "dqw", "dkw", "B", "L", "h", "Dh", "eps"};
  KArgs a{};
  attention::Args q{};
  if (!parse_args(env, info, "attentionGrad", names, 9, 5, a) || !attention_args(env, "attentionGrad", names, a, true, &q))
    return nullptr;
  if (q.B > 0) attention::backward(q, a.v[5], a.v[6], a.v[7], a.v[8]);
  else {  // no rows: zero gain gradients
    std::fill(a.v[7], a.v[7] + q.Dh, 0.0f);
    std::fill(a.v[8], a.v[8] + q.Dh, 0.0f);
  }
  return undefined_value(env);
}

// nerfFinal(z, g, W, b, out, rstd, R, hx, C, eps) and nerfFinalGrad(z, g, W, rstd, dy, dz, dg, dW,
// db, R, hx, C): see field-output.h.
napi_value NerfFinal(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"z", "g", "W", "b", "out", "rstd", "R", "hx", "C", "eps"};
  KArgs a{};
  int64_t R = 0, hx = 0, C = 0;
  if (!parse_args(env, info, "nerfFinal", names, 6, 4, a) || !get_sizes(env, "nerfFinal", a, {{"R", &R}, {"hx", &hx}, {"C", &C}}) ||
      !check_lengths(env, "nerfFinal", names, a, {R * hx, hx, hx * C, C, R * C, R}))
    return nullptr;
  if (hx > 0) field_output::forward(a.v[0], a.v[1], a.v[2], a.v[3], a.v[4], a.v[5], R, hx, C, static_cast<float>(a.num[3]), g.threads);
  else std::fill(a.v[4], a.v[4] + R * C, 0.0f);
  return undefined_value(env);
}

napi_value NerfFinalGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"z", "g", "W", "rstd", "dy", "dz", "dg", "dW", "db", "R", "hx", "C"};
  KArgs a{};
  int64_t R = 0, hx = 0, C = 0;
  if (!parse_args(env, info, "nerfFinalGrad", names, 9, 3, a) || !get_sizes(env, "nerfFinalGrad", a, {{"R", &R}, {"hx", &hx}, {"C", &C}}) ||
      !check_lengths(env, "nerfFinalGrad", names, a, {R * hx, hx, hx * C, R, R * C, R * hx, hx, hx * C, C}))
    return nullptr;
  field_output::backward(a.v[0], a.v[1], a.v[2], a.v[3], a.v[4], a.v[5], a.v[6], a.v[7], a.v[8], R, hx, C, g.threads);
  return undefined_value(env);
}

// normModulate(x, w, shift, scale, y, rstd, B, L, D, eps), normModulateGrad(x, w, scale, rstd, dy,
// dx, dw, dshift, dscale, B, L, D), gatedAdd(s, gate, h, y, B, L, D), gatedAddGrad(gate, h, dy, ds,
// dgate, dh, B, L, D): see adaln.h.
napi_value NormModulate(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "w", "shift", "scale", "y", "rstd", "B", "L", "D", "eps"};
  KArgs a{};
  int64_t B = 0, L = 0, D = 0;
  if (!parse_args(env, info, "normModulate", names, 6, 4, a) || !get_sizes(env, "normModulate", a, {{"B", &B}, {"L", &L}, {"D", &D}}) ||
      !check_lengths(env, "normModulate", names, a, {B * L * D, D, B * D, B * D, B * L * D, B * L}))
    return nullptr;
  if (D > 0) adaln::norm_modulate(a.v[0], a.v[1], a.v[2], a.v[3], a.v[4], a.v[5], B, L, D, static_cast<float>(a.num[3]), g.threads);
  return undefined_value(env);
}

napi_value NormModulateGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"x", "w", "scale", "rstd", "dy", "dx", "dw", "dshift", "dscale", "B", "L", "D"};
  KArgs a{};
  int64_t B = 0, L = 0, D = 0;
  if (!parse_args(env, info, "normModulateGrad", names, 9, 3, a) || !get_sizes(env, "normModulateGrad", a, {{"B", &B}, {"L", &L}, {"D", &D}}) ||
      !check_lengths(env, "normModulateGrad", names, a, {B * L * D, D, B * D, B * L, B * L * D, B * L * D, D, B * D, B * D}))
    return nullptr;
  adaln::norm_modulate_grad(a.v[0], a.v[1], a.v[2], a.v[3], a.v[4], a.v[5], a.v[6], a.v[7], a.v[8], B, L, D, g.threads);
  return undefined_value(env);
}

napi_value GatedAdd(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"s", "gate", "h", "y", "B", "L", "D"};
  KArgs a{};
  int64_t B = 0, L = 0, D = 0;
  if (!parse_args(env, info, "gatedAdd", names, 4, 3, a) || !get_sizes(env, "gatedAdd", a, {{"B", &B}, {"L", &L}, {"D", &D}}) ||
      !check_lengths(env, "gatedAdd", names, a, {B * L * D, B * D, B * L * D, B * L * D}))
    return nullptr;
  adaln::gated_add(a.v[0], a.v[1], a.v[2], a.v[3], B, L, D, g.threads);
  return undefined_value(env);
}

napi_value GatedAddGrad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"gate", "h", "dy", "ds", "dgate", "dh", "B", "L", "D"};
  KArgs a{};
  int64_t B = 0, L = 0, D = 0;
  if (!parse_args(env, info, "gatedAddGrad", names, 6, 3, a) || !get_sizes(env, "gatedAddGrad", a, {{"B", &B}, {"L", &L}, {"D", &D}}) ||
      !check_lengths(env, "gatedAddGrad", names, a, {B * D, B * L * D, B * L * D, B * L * D, B * D, B * L * D}))
    return nullptr;
  adaln::gated_add_grad(a.v[0], a.v[1], a.v[2], a.v[3], a.v[4], a.v[5], B, L, D, g.threads);
  return undefined_value(env);
}

napi_value SetSimd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char buf[16] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], buf, sizeof buf, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "nativeblas.setSimd(name): name must be avx512, avx2 or sse");
    return nullptr;
  }
  g_simd = std::min(simd_supported(), simd_cap(buf));
  napi_value out;
  CHECK(napi_create_string_utf8(env, simd_name(), NAPI_AUTO_LENGTH, &out));
  return out;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  double n = 0;
  if (argc < 1 || napi_get_value_double(env, argv[0], &n) != napi_ok || !(n >= 1) || n != static_cast<int>(n) ||
      n > 1024) {
    napi_throw_range_error(env, nullptr, "nativeblas.setThreads(n): n must be an integer in [1, 1024]");
    return nullptr;
  }
  g.threads = static_cast<int>(n);
  napi_value undef;
  CHECK(napi_get_undefined(env, &undef));
  return undef;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, lib, config, threads, builtin, coretype;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_string_utf8(env, g.lib.c_str(), NAPI_AUTO_LENGTH, &lib));
  CHECK(napi_create_string_utf8(env, g.config.c_str(), NAPI_AUTO_LENGTH, &config));
  CHECK(napi_create_int32(env, g.threads, &threads));
  CHECK(napi_get_boolean(env, g.sgemm == nullptr, &builtin));
  CHECK(napi_set_named_property(env, obj, "lib", lib));
  CHECK(napi_set_named_property(env, obj, "config", config));
  CHECK(napi_set_named_property(env, obj, "threads", threads));
  CHECK(napi_set_named_property(env, obj, "builtin", builtin));
  napi_value simd;
  CHECK(napi_create_string_utf8(env, simd_name(), NAPI_AUTO_LENGTH, &simd));
  CHECK(napi_set_named_property(env, obj, "simd", simd));
  if (!g.coretype.empty()) {
    CHECK(napi_create_string_utf8(env, g.coretype.c_str(), NAPI_AUTO_LENGTH, &coretype));
    CHECK(napi_set_named_property(env, obj, "coretype", coretype));
  }
  // fp32: which GEMM sgemm() runs, and (oneDNN) what loaded or (else) why not
  const bool dnnl = use_dnnl_fp32();
  napi_value fp32, fp32Note;
  CHECK(napi_create_string_utf8(env, dnnl ? "onednn" : g.sgemm ? "openblas" : "builtin", NAPI_AUTO_LENGTH, &fp32));
  const std::string note = g.forced_builtin ? std::string("NATIVEBLAS_LIB=builtin") : dnnl_gemm::load_fp32().reason;
  CHECK(napi_create_string_utf8(env, note.c_str(), NAPI_AUTO_LENGTH, &fp32Note));
  CHECK(napi_set_named_property(env, obj, "fp32", fp32));
  CHECK(napi_set_named_property(env, obj, "fp32Note", fp32Note));
  napi_value bias_arg;
  CHECK(napi_get_boolean(env, true, &bias_arg));
  CHECK(napi_set_named_property(env, obj, "sgemmBias", bias_arg));
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  static bool loaded = false;
  if (!loaded) {
    load_blas();
    loaded = true;
  }
  napi_property_descriptor props[] = {
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgemmBuiltin", nullptr, SgemmBuiltin, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgemmBf16", nullptr, SgemmBf16, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"bf16Info", nullptr, Bf16Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamwStep", nullptr, AdamWStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"emaStep", nullptr, EmaStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"addBroadcast", nullptr, AddBroadcast, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"silu", nullptr, Silu, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"siluGrad", nullptr, SiluGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"swiGlu", nullptr, SwiGlu, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"swiGluGrad", nullptr, SwiGluGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"rmsNorm", nullptr, RmsNorm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"rmsNormGrad", nullptr, RmsNormGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"l2Normalize", nullptr, L2Normalize, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"l2NormalizeGrad", nullptr, L2NormalizeGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"im2col3x3", nullptr, Im2col3x3, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"nerfBlock", nullptr, NerfBlock, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"nerfBlockGrad", nullptr, NerfBlockGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"nerfBlockBf16", nullptr, NerfBlockBf16, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"attention", nullptr, Attention, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"attentionGrad", nullptr, AttentionGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"nerfFinal", nullptr, NerfFinal, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"nerfFinalGrad", nullptr, NerfFinalGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"normModulate", nullptr, NormModulate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"normModulateGrad", nullptr, NormModulateGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gatedAdd", nullptr, GatedAdd, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gatedAddGrad", nullptr, GatedAddGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setSimd", nullptr, SetSimd, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
