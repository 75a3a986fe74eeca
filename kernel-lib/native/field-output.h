// field-output: the neural field's output layer (NerfFinalLayer) as one kernel (see field-output.cc).
#pragma once

#include <cstdint>

namespace field_output {

// out[r] = (RMSNorm(z[r]) g) W + b and rstd[r] = 1 / sqrt(mean(z[r]^2) + eps).
// z [R, hx], g [hx], W [hx, C], b [C] -> out [R, C], rstd [R].
void forward(const float* z, const float* g, const float* W, const float* b, float* out, float* rstd, int64_t R, int64_t hx,
             int64_t C, float eps, int threads);

// Gradients for dy [R, C]: dz [R, hx], dg [hx], dW [hx, C], db [C] (rstd from forward).
void backward(const float* z, const float* g, const float* W, const float* rstd, const float* dy, float* dz, float* dg, float* dW,
              float* db, int64_t R, int64_t hx, int64_t C, int threads);

}  // namespace field_output
