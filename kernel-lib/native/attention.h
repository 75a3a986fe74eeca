// attention: the trunk's attention core as one kernel (see attention.cc), forward and backward.
#pragma once

#include <cstdint>

namespace attention {

// The sizes and inputs of one call. qkv [B*L, 3D] (columns (3, h, Dh), D = h*Dh), the q/k RMSNorm
// gains qw, kw [Dh], the RoPE tables cos, sin [L*Dh] (kernel-lib/model/rope.ts).
struct Args {
  const float* qkv;
  const float* qw;
  const float* kw;
  const float* cos;
  const float* sin;
  int64_t B, L, h, Dh;
  float eps;    // the q/k RMSNorm epsilon
  int threads;  // at most this many threads
};

// o [B*L, D]: softmax(q k^T) v per (batch, head), heads merged, where q = RoPE(RMSNorm(q0) qw) /
// sqrt(Dh) and k = RoPE(RMSNorm(k0) kw).
void forward(const Args& a, float* o);

// Gradients for do_ [B*L, D]: dqkv [B*L, 3D], dqw, dkw [Dh] (recomputes the forward).
void backward(const Args& a, const float* do_, float* dqkv, float* dqw, float* dkw);

}  // namespace attention
