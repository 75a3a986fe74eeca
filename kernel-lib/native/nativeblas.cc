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
//
// BLAS is dlopen()ed at module load: $NATIVEBLAS_LIB (the word "builtin" forces the built-in
// loop), then libopenblas.so.0, libopenblas.so, libblas.so.3; if none exports cblas_sgemm the
// built-in i-k-j loop is used. No BLAS headers are needed at build time. OpenBLAS's core type is
// chosen from the CPU features unless OPENBLAS_CORETYPE is set (see force_coretype).
// NATIVEBLAS_THREADS=n sets the initial thread count (default: hardware concurrency).
#include <node_api.h>
#include <dlfcn.h>

#include <algorithm>
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

// ---- N-API glue ------------------------------------------------------------------------------

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) {                         \
      napi_throw_error(env, nullptr, "N-API failure: " #call); \
      return nullptr;                                \
    }                                                \
  } while (0)

bool get_f32(napi_env env, napi_value v, const char* name, float** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, nullptr, (std::string("nativeblas.sgemm: ") + name + " must be a Float32Array").c_str());
    return false;
  }
  napi_typedarray_type type;
  void* ptr = nullptr;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &off) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, (std::string("nativeblas.sgemm: ") + name + " must be a Float32Array").c_str());
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
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
