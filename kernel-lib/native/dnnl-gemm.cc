// dnnl-gemm: the nativeblas add-on's GEMMs through oneDNN (see dnnl-gemm.h): fp32 for training
// and sampling, bf16 for inference only.
//
// Why oneDNN for fp32: Debian's OpenBLAS runs the kernels of its core type, and these machines set
// OPENBLAS_CORETYPE=Haswell (AVX2), which the project does not override. oneDNN's dnnl_sgemm picks
// its JIT kernels from the CPU itself (AVX-512 here) and measured 2x OpenBLAS-Haswell on one Zen 5
// core on every shape of a tiny-32/8 training step (190-205 vs 87-100 GFLOP/s for 512x128x128 to
// 1024^3), with a call overhead of ~0.3 us on 16x32x16 (the same as OpenBLAS). OpenBLAS stays the
// fallback where oneDNN is not installed (NATIVEBLAS_FP32_GEMM=openblas forces it).
//
// Why oneDNN for bf16: OpenBLAS's sbgemm wants bf16 inputs too, and oneDNN's dnnl_gemm_bf16bf16f32
// (an exported C symbol, row-major like dnnl_sgemm, not in the public header) runs AVX512_BF16
// kernels (vdpbf16ps: two bf16 products per fp32 lane, fp32 sums) at ~4x the fp32 OpenBLAS rate
// measured here ([1024]^3: ~415 GFLOP/s on one Zen 5 core vs ~100 for two cores of OpenBLAS).
//
// oneDNN is dlopen()ed on the first load_*() call, never at build time: $NATIVEBLAS_DNNL_LIB (a
// path, or "none" to disable it), then libdnnl.so.2, libdnnl.so.3, libdnnl.so. The bf16 GEMM also
// needs AVX512_BF16 (cpuid, with OS support of the AVX-512 state); NATIVEBLAS_SIMD=avx2|sse hides it.
//
// Threads: oneDNN (Debian's build) threads with OpenMP, whose teams spin and, on a shared machine,
// stall at barriers when a member is descheduled (1024^3 products measured at 17-770 GFLOP/s,
// run to run). So every calling thread sets its OpenMP team to 1, and this file splits a product
// into chunks (row or column blocks, or whole matrices of a batch) that the calling thread and
// helper threads claim from a counter: the caller waits only for chunks a helper has claimed,
// never for a helper the scheduler has not run yet (a fixed split, joined, ran a [512, 1024] x
// [1024, 384] product at 190 GFLOP/s on 2 busy cores where one thread alone ran 360). The chunks
// are fixed by the shape, so the result does not depend on which thread ran which. A product
// whose K is long beside both sides of C is split along K instead (split_k: each chunk packs only
// its share of both operands; the partial products are added in chunk order): the hypernetwork's
// input gradient at bench-S, [256, 16384] x [16384, 384], went from 206 to 295 GFLOP/s, the
// trunk's [256, 1024] x [1024, 384] from 196 to 292 (2 cores; NATIVEBLAS_SPLIT_K=0 turns it off).
//
// Signals: Debian's oneDNN 2.6.3 corrupts the heap when a signal handler runs on a thread inside
// dnnl_sgemm (its JIT kernels appear to keep data below the stack pointer, where the kernel writes
// the handler's frame). Reproduced in plain C: a SIGPROF handler at 10 kHz while calling dnnl_sgemm
// on [512, 128] x [128, 4096] aborts with "corrupted size vs. prev_size" within 400 calls, and
// `node --cpu-prof` (V8's sampler signals the main thread) crashed a tiny-32/8 training step
// within 5 steps; OpenBLAS and the same calls with signals blocked run clean. So every product
// holds the calling thread's asynchronous signals (SignalsHeld) until it returns: they are
// delivered then, a few milliseconds late; helper threads inherit the mask from their creator.
//
// The hand-written part is the fp32 -> bf16 conversion (vcvtne2ps2bf16, round to nearest even,
// NaN kept NaN): oneDNN's gemm takes bf16 only, and a plain C loop converts at a third of the
// speed. Inputs are converted on every call (~2 ms for the 6.3 M-element field-generator weight,
// against ~16 ms of its GEMM): a cache keyed by heap address would be wrong after an in-place
// write or a freed-and-reused buffer, which this layer cannot see.
#include "dnnl-gemm.h"
#include "parallel.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#ifdef BF16GEMM_X86
#include <immintrin.h>
#endif

namespace dnnl_gemm {
namespace {

// dnnl_gemm_bf16bf16f32(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): row-major,
// 'N' / 'T', dnnl_dim_t = int64_t, bf16 as uint16_t; returns a dnnl_status_t (0: success).
typedef int (*gemm_fn)(char, char, int64_t, int64_t, int64_t, float, const uint16_t*, int64_t, const uint16_t*, int64_t,
                       float, float*, int64_t);
// dnnl_sgemm: the same arguments in fp32 (public API).
typedef int (*sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
                        float*, int64_t);
struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};
typedef const DnnlVersion* (*version_fn)();
typedef void (*omp_set_fn)(int);

struct Lib {
  void* handle = nullptr;
  std::string name, version;
  omp_set_fn omp_set_num_threads = nullptr;
  gemm_fn gemm = nullptr;    // dnnl_gemm_bf16bf16f32
  sgemm_fn sgemm = nullptr;  // dnnl_sgemm
  Status status;             // of the bf16 GEMM
  Status fp32;               // of the fp32 GEMM
};
Lib g;

// Below `small_work` FLOPs in all: one thread; batches of matrices under `small_matrix` FLOPs each
// are split by whole matrices. bf16: nativeblas.cc's OpenBLAS cut-offs (32 and 64 MFLOP, ~0.3 ms)
// at the bf16 rate (~4x): a [512, 384] x [384, 384] product (151 MFLOP) ran at 126 GFLOP/s split
// over the 2 cores of a busy machine, 377 on one. fp32: the OpenBLAS cut-offs; waking a pool
// worker costs ~15 us (parallel.h), and a call never waits for one: the caller claims chunks too.
struct Cutoffs {
  double small_work, small_matrix;
};
constexpr Cutoffs kBf16Cutoffs{128e6, 256e6};
constexpr Cutoffs kFp32Cutoffs{32e6, 64e6};
// ... unless its operands and result span this many bytes: a skinny product is memory-bound, and
// two cores stream more than one. At bench-S the adaLN projections ([16, 384] x [384, 2304] and
// its two gradients, 28 MFLOP over a 3.5 MB weight) ran at 59-84 GFLOP/s on one thread, and the
// field's pixel layers ([65536, 3] x [3, 64] and back, 16 MB) at 18-32.
constexpr double kSmallBytes = double(1 << 20);
// Products with K >= this many times both sides of C are split along K (split_k), in chunks of
// multiples of kSplitKAlign.
constexpr int64_t kSplitKRatio = 2;
constexpr int64_t kSplitKAlign = 64;
// Conversions shorter than this run on one thread (~0.1 ms).
constexpr int64_t kCvtParallel = int64_t(1) << 19;

// What is missing on this CPU for the bf16 kernels ("" when nothing).
std::string cpu_missing() {
#ifdef BF16GEMM_X86
  __builtin_cpu_init();
  if (const char* s = std::getenv("NATIVEBLAS_SIMD")) {
    if (std::strcmp(s, "avx2") == 0 || std::strcmp(s, "sse") == 0)
      return std::string("the CPU feature AVX512_BF16 (hidden by NATIVEBLAS_SIMD=") + s + ")";
  }
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl");
  if (!avx512 || !__builtin_cpu_supports("avx512bf16")) return "the CPU feature AVX512_BF16 (this CPU has none)";
  return "";
#else
  return "the CPU feature AVX512_BF16 (this build cannot use it: x86-64 with GCC >= 10 only)";
#endif
}

// Blocks the calling thread's asynchronous signals for its lifetime (see "Signals" above); the
// synchronous ones (a fault in the call) stay deliverable, so a crash still reports as one.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t all;
    sigfillset(&all);
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&all, s);
    pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t old_;
};

// Sets the calling thread's OpenMP team to 1 thread, once per thread.
void one_omp_thread() {
  thread_local bool done = false;
  if (done) return;
  if (g.omp_set_num_threads) g.omp_set_num_threads(1);
  done = true;
}

// work(c) for every c < n on up to `threads` threads of the pool (the caller one of them),
// claimed in order; returns the first failure by chunk order (0 when none failed).
int run_chunks(int64_t n, int threads, const std::function<int(int64_t)>& work) {
  if (n <= 0) return 0;
  std::vector<int> status(static_cast<size_t>(n), 0);
  native_parallel::run(static_cast<int>(n), threads, [&](int c) {
    one_omp_thread();
    status[static_cast<size_t>(c)] = work(c);
  });
  for (const int s : status)
    if (s != 0) return s;
  return 0;
}

uint16_t bf16_scalar(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays (quiet) NaN
  u += 0x7fffu + ((u >> 16) & 1u);                                                        // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

#ifdef BF16GEMM_X86
// y[i] = bf16(x[i]) for i < n, 32 at a time, the tail masked.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void cvt_avx512(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(reinterpret_cast<void*>(y + i), reinterpret_cast<__m512i>(v));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1u);
    const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
    _mm256_mask_storeu_epi16(reinterpret_cast<void*>(y + i), m, reinterpret_cast<__m256i>(v));
  }
}
#endif

void cvt(const float* x, uint16_t* y, int64_t n) {
#ifdef BF16GEMM_X86
  cvt_avx512(x, y, n);  // load() checked the CPU
#else
  for (int64_t i = 0; i < n; i++) y[i] = bf16_scalar(x[i]);
#endif
}

// dst[b*len + i] = bf16(src[b*stride + i]) for b < blocks, i < len; contiguous sources split
// across threads when long.
void to_bf16(const float* src, int64_t blocks, int64_t len, int64_t stride, uint16_t* dst, int threads) {
  if (blocks == 1 || stride == len) {
    const int64_t n = blocks * len;
    const int64_t chunks = std::max<int64_t>(1, n / kCvtParallel);
    if (chunks == 1 || threads == 1) return cvt(src, dst, n);
    run_chunks(chunks, threads, [=](int64_t c) {
      const int64_t i0 = (n * c / chunks) & ~int64_t(31), i1 = c + 1 == chunks ? n : (n * (c + 1) / chunks) & ~int64_t(31);
      cvt(src + i0, dst + i0, i1 - i0);
      return 0;
    });
    return;
  }
  for (int64_t b = 0; b < blocks; b++) cvt(src + b * stride, dst + b * len, len);
}

// One product for run(): T is the operands' element type (uint16_t bf16 or float), fn the oneDNN
// gemm of that type.
template <class T>
struct Job {
  int (*fn)(char, char, int64_t, int64_t, int64_t, float, const T*, int64_t, const T*, int64_t, float, float*, int64_t);
  const T* A;  // op(A) blocks of M*K, A + b*sA
  const T* B;
  float* C;
  int64_t M, N, K, sA, sB;
  bool tA, tB;
  float beta;
  int64_t lda, ldb, ldc;
  Cutoffs cut;
  const float* bias;  // a row of N that C starts as (beta 1), or null
};

// Rows [r0, r1) and columns [c0, c1) of C[b]; returns the dnnl status.
template <class T>
int block(const Job<T>& j, int64_t b, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (r1 <= r0 || c1 <= c0) return 0;
  const T* a = j.A + b * j.sA + (j.tA ? r0 : r0 * j.K);
  const T* bb = j.B + b * j.sB + (j.tB ? c0 * j.K : c0);
  float* c = j.C + b * j.M * j.N + r0 * j.N + c0;
  if (j.bias) fill_bias(j.C + b * j.M * j.N, j.bias, j.N, r0, r1, c0, c1);  // this chunk's block, just before its product
  return j.fn(j.tA ? 'T' : 'N', j.tB ? 'T' : 'N', r1 - r0, c1 - c0, j.K, 1.0f, a, j.lda, bb, j.ldb, j.beta, c, j.ldc);
}

// Whether a product is split along K rather than along a side of C: K long beside both sides
// (the hypernetwork's input gradient, [256, 16384] x [16384, 384] at bench-S). A split of C's
// longer side has every chunk pack the whole of the other operand again (4 chunks: 4 x 16 MB
// there, 206 GFLOP/s); K chunks pack only their own share of both.
// NATIVEBLAS_SPLIT_K=0 turns it off (A/B timings).
bool split_k(int64_t M, int64_t N, int64_t K) {
  static const bool on = [] {
    const char* e = std::getenv("NATIVEBLAS_SPLIT_K");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on && K >= kSplitKRatio * std::max(M, N) && K >= 2 * kSplitKAlign;
}

// One product as K chunks, one a thread: chunk 0 into C (with the job's beta), the others into
// scratch products, then added to C in chunk order (fixed by the shape: the result does not
// depend on which thread ran which chunk).
template <class T>
int run_split_k(const Job<T>& j, int threads) {
  const int64_t chunks = std::min<int64_t>(threads, j.K / kSplitKAlign);
  const int64_t MN = j.M * j.N;
  std::unique_ptr<float[]> part(new float[static_cast<size_t>((chunks - 1) * MN)]);  // written whole (beta 0): no zeroing
  const auto k_at = [&j, chunks](int64_t c) { return c == chunks ? j.K : (j.K * c / chunks) / kSplitKAlign * kSplitKAlign; };
  const int s = run_chunks(chunks, threads, [&](int64_t c) {
    const int64_t k0 = k_at(c), k1 = k_at(c + 1);
    const T* a = j.A + (j.tA ? k0 * j.M : k0);
    const T* b = j.B + (j.tB ? k0 : k0 * j.N);
    float* out = c == 0 ? j.C : part.get() + (c - 1) * MN;
    if (c == 0 && j.bias) fill_bias(j.C, j.bias, j.N, 0, j.M, 0, j.N);
    return j.fn(j.tA ? 'T' : 'N', j.tB ? 'T' : 'N', j.M, j.N, k1 - k0, 1.0f, a, j.lda, b, j.ldb, c == 0 ? j.beta : 0.0f, out, j.N);
  });
  if (s != 0) return s;
  for (int64_t c = 1; c < chunks; c++) {
    const float* p = part.get() + (c - 1) * MN;
    for (int64_t i = 0; i < MN; i++) j.C[i] += p[i];
  }
  return 0;
}

template <class T>
int run(const Job<T>& j, int64_t batch, int threads) {
  const double per = 2.0 * static_cast<double>(j.M) * static_cast<double>(j.N) * static_cast<double>(j.K);
  const double total = per * static_cast<double>(batch);
  const int T_ = std::max(1, threads);
  const SignalsHeld held;  // the pool's workers block every signal themselves (parallel.h)
  const double bytes = sizeof(T) * static_cast<double>(batch) * static_cast<double>(j.M * j.K + j.K * j.N) + 4.0 * static_cast<double>(batch * j.M * j.N);
  if ((total < j.cut.small_work && bytes < kSmallBytes) || T_ == 1) {
    one_omp_thread();
    for (int64_t b = 0; b < batch; b++)
      if (const int s = block(j, b, 0, j.M, 0, j.N)) return s;
    return 0;
  }
  if (batch >= 2 && per < j.cut.small_matrix) {
    // many small matrices: whole matrices (groups of them, 4 chunks a thread) as chunks
    const int64_t chunks = std::min<int64_t>(batch, 4 * T_);
    return run_chunks(chunks, T_, [&j, batch, chunks](int64_t c) {
      for (int64_t b = batch * c / chunks; b < batch * (c + 1) / chunks; b++)
        if (const int s = block(j, b, 0, j.M, 0, j.N)) return s;
      return 0;
    });
  }
  if (batch == 1 && split_k(j.M, j.N, j.K)) return run_split_k(j, T_);
  // big matrices: each in one chunk a thread along the longer side of C (rows in 16s, columns in
  // 64s); every chunk packs its own share of the other operand, so no finer. Two chunks a thread
  // before the pool (parallel.h): on [256, 384] x [384, 1024] 304 -> 326 GFLOP/s, [256, 1024] x
  // [384, 1024]^T (unsplit) 234 -> 305, [256, 384]^T x [256, 1024] 332 -> 359 (medians of 41 calls)
  const bool rows = j.M >= j.N;
  const int64_t side = rows ? j.M : j.N, align = rows ? 16 : 64;
  const int64_t per_matrix = std::max<int64_t>(1, std::min<int64_t>(T_, side / align));
  return run_chunks(batch * per_matrix, T_, [&j, rows, side, align, per_matrix](int64_t c) {
    const int64_t b = c / per_matrix, k = c % per_matrix;
    const int64_t lo = k == 0 ? 0 : (side * k / per_matrix) / align * align;
    const int64_t hi = k + 1 == per_matrix ? side : (side * (k + 1) / per_matrix) / align * align;
    return rows ? block(j, b, lo, hi, 0, j.N) : block(j, b, 0, j.M, lo, hi);
  });
}

// A row-major Job: leading dimensions from the shape (op(A) stored K x M when tA, op(B) N x K when tB).
template <class T>
Job<T> job(decltype(Job<T>::fn) fn, const T* A, const T* B, float* C, int64_t M, int64_t N, int64_t K, int64_t sA, int64_t sB,
           bool tA, bool tB, bool accumulate, const float* bias, Cutoffs cut) {
  return Job<T>{fn, A, B, C, M, N, K, sA, sB, tA, tB, accumulate || bias ? 1.0f : 0.0f, std::max<int64_t>(1, tA ? M : K),
                std::max<int64_t>(1, tB ? K : N), std::max<int64_t>(1, N), cut, bias};
}

// Products with no work for oneDNN: an empty C, or K = 0 (C = the bias rows, else 0, or unchanged
// with accumulate).
bool empty_product(float* C, int64_t M, int64_t N, int64_t K, int64_t batch, bool accumulate, const float* bias) {
  if (batch == 0 || M * N == 0) return true;
  if (K != 0) return false;
  if (bias) fill_bias(C, bias, N, 0, batch * M, 0, N);
  else if (!accumulate) std::memset(C, 0, sizeof(float) * static_cast<size_t>(batch * M * N));
  return true;
}

// 2x2 products of exact values: the symbols are the gemms they claim to be, row-major.
bool self_test_bf16() {
  const uint16_t a[4] = {bf16_scalar(1), bf16_scalar(2), bf16_scalar(3), bf16_scalar(4)};
  const uint16_t b[4] = {bf16_scalar(5), bf16_scalar(6), bf16_scalar(7), bf16_scalar(8)};
  float c[4] = {0, 0, 0, 0};
  one_omp_thread();
  const SignalsHeld held;
  if (g.gemm('N', 'N', 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2) != 0) return false;
  return c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50;
}

bool self_test_fp32() {
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  float c[4] = {0, 0, 0, 0};
  one_omp_thread();
  const SignalsHeld held;
  if (g.sgemm('N', 'T', 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2) != 0) return false;
  return c[0] == 17 && c[1] == 23 && c[2] == 39 && c[3] == 53;
}

// Opens oneDNN once (a handle, name and version in g); "" or why not. Tried again while it fails.
std::string open_lib() {
  if (g.handle) return "";
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("NATIVEBLAS_DNNL_LIB")) {
    if (std::strcmp(env, "none") == 0) return "the oneDNN library (loading disabled by NATIVEBLAS_DNNL_LIB=none)";
    if (*env) candidates.push_back(env);
  }
  if (candidates.empty())
    for (const char* c : {"libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"}) candidates.push_back(c);
  std::string tried;
  for (const std::string& name : candidates) {
    void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      tried += (tried.empty() ? "" : "; ") + (e ? std::string(e) : name + ": not found");
      continue;
    }
    g.handle = h;
    g.name = name;
    g.omp_set_num_threads = reinterpret_cast<omp_set_fn>(dlsym(h, "omp_set_num_threads"));
    if (auto v = reinterpret_cast<version_fn>(dlsym(h, "dnnl_version"))) {
      const DnnlVersion* d = v();
      if (d) g.version = std::to_string(d->major) + "." + std::to_string(d->minor) + "." + std::to_string(d->patch);
    }
    return "";
  }
  return "the oneDNN library (" + tried + "; install libdnnl2)";
}

// A symbol of the open library, cast; null where absent.
template <class F>
F symbol(const char* name) {
  return g.handle ? reinterpret_cast<F>(dlsym(g.handle, name)) : nullptr;
}

// Opens oneDNN for a loader: st names the library and version, or says what is missing.
bool opened(Status& st) {
  if (const std::string why = open_lib(); !why.empty()) {
    st.reason = "missing " + why;
    return false;
  }
  st.lib = g.name;
  st.version = g.version;
  return true;
}

std::string lib_label() { return "oneDNN " + (g.version.empty() ? std::string("?") : g.version) + " (" + g.name + ")"; }

}  // namespace

void fill_bias(float* C, const float* bias, int64_t N, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  for (int64_t r = r0; r < r1; r++) std::memcpy(C + r * N + c0, bias + c0, sizeof(float) * static_cast<size_t>(c1 - c0));
}

bool cpu_ok() {
  static const bool ok = cpu_missing().empty();
  return ok;
}

const Status& load_bf16() {
  Status& st = g.status;
  if (st.ok) return st;
  st = Status{};
  const std::string cpu = cpu_missing();
  if (!cpu.empty()) {
    st.reason = "missing " + cpu;
    return st;
  }
  if (!opened(st)) return st;
  g.gemm = symbol<gemm_fn>("dnnl_gemm_bf16bf16f32");
  if (!g.gemm) {
    st.reason = "missing dnnl_gemm_bf16bf16f32 in " + g.name;
    return st;
  }
  if (!self_test_bf16()) {
    st.reason = "missing a working oneDNN bf16 gemm (" + g.name + "'s dnnl_gemm_bf16bf16f32 failed its 2x2 self-test)";
    g.gemm = nullptr;
    return st;
  }
  st.ok = true;
  st.reason = lib_label() + " dnnl_gemm_bf16bf16f32, AVX512_BF16";
  return st;
}

const Status& load_fp32() {
  Status& st = g.fp32;
  if (st.ok) return st;
  st = Status{};
  if (const char* want = std::getenv("NATIVEBLAS_FP32_GEMM"); want && std::strcmp(want, "openblas") == 0) {
    st.reason = "OpenBLAS asked for (NATIVEBLAS_FP32_GEMM=openblas)";
    return st;
  }
  if (!opened(st)) return st;
  g.sgemm = symbol<sgemm_fn>("dnnl_sgemm");
  if (!g.sgemm || !self_test_fp32()) {
    st.reason = "missing a working dnnl_sgemm in " + g.name;
    g.sgemm = nullptr;
    return st;
  }
  st.ok = true;
  st.reason = lib_label() + " dnnl_sgemm";
  return st;
}

void gemm_bf16(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool tA, bool tB, int64_t batch,
               int64_t strideA, int64_t strideB, bool accumulate, const float* bias, int threads, int* status) {
  *status = 0;
  if (empty_product(C, M, N, K, batch, accumulate, bias)) return;
  // Converted operands: one block per batch entry, or one for a broadcast operand (stride 0).
  thread_local std::vector<uint16_t> a16, b16;
  const int64_t nA = strideA == 0 ? 1 : batch, nB = strideB == 0 ? 1 : batch;
  a16.resize(static_cast<size_t>(nA * M * K));
  b16.resize(static_cast<size_t>(nB * K * N));
  to_bf16(A, nA, M * K, strideA, a16.data(), threads);
  to_bf16(B, nB, K * N, strideB, b16.data(), threads);
  *status = run(job(g.gemm, a16.data(), b16.data(), C, M, N, K, strideA == 0 ? 0 : M * K, strideB == 0 ? 0 : K * N, tA, tB,
                     accumulate, bias, kBf16Cutoffs),
                 batch, threads);
}

void gemm_fp32(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool tA, bool tB, int64_t batch,
               int64_t strideA, int64_t strideB, bool accumulate, const float* bias, int threads, int* status) {
  *status = 0;
  if (empty_product(C, M, N, K, batch, accumulate, bias)) return;
  *status = run(job(g.sgemm, A, B, C, M, N, K, strideA, strideB, tA, tB, accumulate, bias, kFp32Cutoffs), batch, threads);
}

}  // namespace dnnl_gemm
