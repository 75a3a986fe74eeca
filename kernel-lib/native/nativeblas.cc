// nativeblas: a tiny N-API add-on that runs row-major float32 GEMMs on Float32Array views
// (for pixnerd-ts: the tfjs wasm backend's BatchMatMul / _FusedMatMul computed on views of
// the wasm heap). See /work/shared/design/native-blas.md for the measured design.
//
// exports
//   sgemm(A, B, C, M, N, K, transA, transB, batch, strideA, strideB)
//       C[b] = op(A[b]) * op(B[b]) for b < batch, row-major, C[b] is M x N at offset b*M*N.
//       op(A) is M x K (stored K x M when transA), op(B) is K x N (stored N x K when transB).
//       strideA / strideB are in elements; 0 broadcasts that operand to every batch entry.
//       Bounds are checked against the views' lengths (a detached view has length 0 and
//       throws a RangeError instead of corrupting memory).
//   sgemmBuiltin(...)   the same, always with the built-in loop (for tests and comparisons)
//   setThreads(n)       threads used from the next call on (n >= 1)
//   info()              { lib, config, threads, builtin, coretype? }
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
//   Every view's length is checked against the sizes; outputs are written, never read first.
//   The element-wise functions split big arrays across the threads (kParallelElems).
//
// BLAS is dlopen()ed at module load: $NATIVEBLAS_LIB (the word "builtin" forces the built-in
// loop), then libopenblas.so.0, libopenblas.so, libblas.so.3; if none exports cblas_sgemm the
// built-in i-k-j loop is used. No BLAS headers are needed at build time. OpenBLAS's core type is
// chosen from the CPU features unless OPENBLAS_CORETYPE is set (see force_coretype).
// NATIVEBLAS_THREADS=n sets the initial thread count (default: hardware concurrency).
#include <node_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <initializer_list>
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
      return;
    }
    if (*env) candidates.push_back(env);
  }
  const std::string forced = force_coretype();
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
                  int64_t r0, int64_t r1, float* arow) {
  for (int64_t i = r0; i < r1; i++) {
    const float* a;
    if (tA) {
      for (int64_t k = 0; k < K; k++) arow[k] = A[k * M + i];
      a = arow;
    } else {
      a = A + i * K;
    }
    float* c = C + i * N;
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
                    int64_t r0, int64_t r1, std::vector<float>& scratchA, std::vector<float>& scratchB) {
  const float* b = B;
  if (tB) {
    scratchB.resize(static_cast<size_t>(K * N));
    for (int64_t j = 0; j < N; j++)
      for (int64_t k = 0; k < K; k++) scratchB[k * N + j] = B[j * K + k];
    b = scratchB.data();
  }
  if (tA) scratchA.resize(static_cast<size_t>(K));
  builtin_rows(A, b, C, M, N, K, tA, r0, r1, tA ? scratchA.data() : nullptr);
}

// ---- dispatch --------------------------------------------------------------------------------

struct Gemm {
  const float* A;
  const float* B;
  float* C;
  int64_t M, N, K;
  bool tA, tB;
  int64_t batch, strideA, strideB;
};

void blas_one(const Gemm& p, int64_t b) {
  const int lda = static_cast<int>(std::max<int64_t>(1, p.tA ? p.M : p.K));
  const int ldb = static_cast<int>(std::max<int64_t>(1, p.tB ? p.K : p.N));
  const int ldc = static_cast<int>(std::max<int64_t>(1, p.N));
  g.sgemm(kRowMajor, p.tA ? kTrans : kNoTrans, p.tB ? kTrans : kNoTrans, static_cast<int>(p.M),
          static_cast<int>(p.N), static_cast<int>(p.K), 1.0f, p.A + b * p.strideA, lda, p.B + b * p.strideB, ldb,
          0.0f, p.C + b * p.M * p.N, ldc);
}

// Below kSmallWork total FLOPs: one thread, no spawn. The design measured 8 MFLOP on an idle
// 2-core machine; on a shared 2-core machine a second BLAS thread that is not scheduled at once
// made 11-25 MFLOP products 10x slower (0.09 ms -> 1-2 ms), while one thread runs them in
// 0.09-0.18 ms, so the cut-off is higher.
constexpr double kSmallWork = 32e6;
constexpr double kSmallMatrix = 64e6;    // per-matrix FLOPs under which a batch is split across threads

void run_gemm(const Gemm& p, bool builtin) {
  const int64_t MN = p.M * p.N;
  if (p.batch == 0 || MN == 0) return;
  if (p.K == 0) {
    std::memset(p.C, 0, sizeof(float) * static_cast<size_t>(p.batch * MN));
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
                         sa, sb);
      };
      std::vector<std::thread> pool;
      for (int t = 1; t < nt; t++) pool.emplace_back(work, t, nt);
      work(0, nt);
      for (auto& th : pool) th.join();
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
        builtin_rows(p.A, b, p.C, p.M, p.N, p.K, p.tA, r0, r1, p.tA ? arow.data() : nullptr);
      };
      std::vector<std::thread> pool;
      for (int t = 1; t < nt; t++) pool.emplace_back(work, t, nt);
      work(0, nt);
      for (auto& th : pool) th.join();
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
    std::vector<std::thread> pool;
    for (int t = 1; t < nt; t++) pool.emplace_back(work, t, nt);
    work(0, nt);
    for (auto& th : pool) th.join();
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

// Arrays shorter than this run on the calling thread: spawning costs ~50 us, about what one
// core needs for ~1M elements of these memory-bound loops.
constexpr int64_t kParallelElems = int64_t(1) << 19;

// f(begin, end) over [0, n), split in contiguous chunks (multiples of 16 elements) across the
// configured threads when n is large.
template <class F>
void parallel_for(int64_t n, F f) {
  int64_t nt = std::min<int64_t>(std::max(1, g.threads), n / kParallelElems);
  if (nt <= 1) {
    f(int64_t(0), n);
    return;
  }
  auto bound = [n, nt](int64_t t) { return t == nt ? n : (n * t / nt) & ~int64_t(15); };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < nt; t++) pool.emplace_back(f, bound(t), bound(t + 1));
  f(int64_t(0), bound(1));
  for (auto& th : pool) th.join();
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
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < nt; t++) pool.emplace_back(f, units * t / nt, units * (t + 1) / nt, static_cast<int>(t));
  f(int64_t(0), units / nt, 0);
  for (auto& th : pool) th.join();
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

// RMSNorm over rows [r0, r1) of n: rstd = 1 / sqrt(mean(x^2) + eps), y = (x rstd) w.
VEC void rms_norm_rows(const float* __restrict x, const float* __restrict w, float* __restrict y, float* __restrict rstd,
                       int64_t r0, int64_t r1, int64_t n, float eps) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    double ss = 0;
    for (int64_t j = 0; j < n; j++) ss += static_cast<double>(xr[j]) * xr[j];
    const float rs = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
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
    double dot = 0;
    for (int64_t j = 0; j < n; j++) dot += static_cast<double>(gr[j] * w[j]) * xr[j];
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

napi_value sgemm_impl(napi_env env, napi_callback_info info, bool builtin) {
  size_t argc = 11;
  napi_value argv[11];
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
    Gemm p{A, B, C, M, N, K, tA, tB, batch, sA, sB};
    run_gemm(p, builtin);
  }
  napi_value undef;
  CHECK(napi_get_undefined(env, &undef));
  return undef;
}

napi_value Sgemm(napi_env env, napi_callback_info info) { return sgemm_impl(env, info, false); }
napi_value SgemmBuiltin(napi_env env, napi_callback_info info) { return sgemm_impl(env, info, true); }


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
  float* v[8];
  size_t len[8];
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
  if (!g.coretype.empty()) {
    CHECK(napi_create_string_utf8(env, g.coretype.c_str(), NAPI_AUTO_LENGTH, &coretype));
    CHECK(napi_set_named_property(env, obj, "coretype", coretype));
  }
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
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamwStep", nullptr, AdamWStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"emaStep", nullptr, EmaStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"silu", nullptr, Silu, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"siluGrad", nullptr, SiluGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"swiGlu", nullptr, SwiGlu, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"swiGluGrad", nullptr, SwiGluGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"rmsNorm", nullptr, RmsNorm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"rmsNormGrad", nullptr, RmsNormGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"l2Normalize", nullptr, L2Normalize, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"l2NormalizeGrad", nullptr, L2NormalizeGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
