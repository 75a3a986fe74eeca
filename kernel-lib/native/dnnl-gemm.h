// dnnl-gemm: row-major GEMMs through oneDNN loaded at run time (see dnnl-gemm.cc): the fp32 GEMM
// (dnnl_sgemm) and the bf16 one (bfloat16 products, float32 sums). Part of the nativeblas add-on;
// nativeblas.cc exports them to JS.
#pragma once

#include <cstdint>
#include <string>

// The AVX512_BF16 code is compiled by GCC >= 10 on x86-64 (older GCCs and clang's bf16 vector
// types differ); other builds report the CPU feature missing and run fp32.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#define BF16GEMM_X86 1
#endif

namespace dnnl_gemm {

struct Status {
  bool ok = false;
  // Why not (which is missing: the CPU feature or the library), or what runs.
  std::string reason;
  // The oneDNN library loaded ("" when none) and its version ("2.7.3").
  std::string lib;
  std::string version;
};

// Whether the CPU has AVX512_BF16 (with OS support; NATIVEBLAS_SIMD=avx2|sse hides it). The
// add-on's own bf16 kernels need only this; gemm_bf16() needs load_bf16().ok.
bool cpu_ok();

// Checks the CPU and loads oneDNN on the first call; while that fails, later calls try again
// (so a test can change NATIVEBLAS_DNNL_LIB). Called from the JS thread only.
const Status& load_bf16();

// Loads oneDNN's dnnl_sgemm on the first call (any x86-64 CPU: oneDNN picks its own kernels,
// AVX-512 where the CPU has it, whatever OPENBLAS_CORETYPE says). Not ok where the library is
// missing, NATIVEBLAS_DNNL_LIB=none, or NATIVEBLAS_FP32_GEMM=openblas asks for OpenBLAS; then
// nativeblas.cc runs its OpenBLAS path. Tried again while it fails. JS thread only.
const Status& load_fp32();

// Rows [r0, r1), columns [c0, c1) of C (row stride N) = the bias row's columns: where a product
// with a bias starts (every GEMM path of the add-on).
void fill_bias(float* C, const float* bias, int64_t N, int64_t r0, int64_t r1, int64_t c0, int64_t c1);

// C[b] = op(A[b]) op(B[b]) for b < batch (C[b] += ... with accumulate; C[b] = bias rows + ... where
// `bias`, a row of N, is given, each chunk of rows filled just before its product): fp32 in and out, every
// product of bf16-rounded inputs, summed in fp32. op(A) is M x K (stored K x M when tA), op(B)
// K x N (stored N x K when tB), C[b] M x N at b*M*N; strides in elements, 0 broadcasts. The
// inputs are converted to bf16 (round to nearest even) on every call. `threads` >= 1 split the
// work. Needs load_bf16().ok; the caller checked the views' lengths. *status: 0, else oneDNN's
// dnnl_status_t of the first failing call.
void gemm_bf16(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool tA, bool tB, int64_t batch,
               int64_t strideA, int64_t strideB, bool accumulate, const float* bias, int threads, int* status);

// The same product in fp32 (dnnl_sgemm), split over `threads` in fixed chunks, so the result does
// not depend on which thread ran which chunk. Needs load_fp32().ok.
void gemm_fp32(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool tA, bool tB, int64_t batch,
               int64_t strideA, int64_t strideB, bool accumulate, const float* bias, int threads, int* status);

}  // namespace dnnl_gemm
