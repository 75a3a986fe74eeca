// adaln: the trunk block's adaLN pieces as kernels (see adaln.cc). Shapes: rows R = B*L of D
// channels; shift, scale, gate [B, D] (one row per image, L rows each). `threads`: at most this many
// of the pool's threads (parallel.h).
#pragma once

#include <cstdint>

namespace adaln {

// y = RMSNorm(x) w (1 + scale) + shift, rstd [R] saved for the backward.
void norm_modulate(const float* x, const float* w, const float* shift, const float* scale, float* y, float* rstd, int64_t B, int64_t L,
                   int64_t D, float eps, int threads);
// Gradients for dy: dx [R, D], dw [D], dshift, dscale [B, D].
void norm_modulate_grad(const float* x, const float* w, const float* scale, const float* rstd, const float* dy, float* dx, float* dw,
                        float* dshift, float* dscale, int64_t B, int64_t L, int64_t D, int threads);

// y = s + gate h.
void gated_add(const float* s, const float* gate, const float* h, float* y, int64_t B, int64_t L, int64_t D, int threads);
// Gradients for dy: ds = dy [R, D] (a copy), dgate [B, D], dh [R, D].
void gated_add_grad(const float* gate, const float* h, const float* dy, float* ds, float* dgate, float* dh, int64_t B, int64_t L,
                    int64_t D, int threads);

}  // namespace adaln
