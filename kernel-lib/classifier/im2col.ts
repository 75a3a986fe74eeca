/**
 * 3x3 convolution that trains on the wasm backend.
 *
 * tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so `tf.conv2d` cannot be trained there
 * (stack.md section 2). The usual workaround, im2col from pad + nine shifted slices + concat, has
 * gradients but they are slow on wasm (each slice's gradient pads a full-size zero tensor:
 * ~360 ms for one [64, 16, 16, 32] layer), and `tf.gather`-based im2col is slower still (the wasm
 * Gather kernel moved 4.7 M floats in ~280 ms). Here im2col is one op with a custom gradient,
 * both directions plain loops on the host:
 *
 *   patches3x3(x, s)      x [B, H, W, C] -> P [B*Ho*Wo, 9*C]     (zero padding 1, stride s)
 *   d patches / d x       col2im: each patch entry added back to the pixel it came from
 *   conv3x3(x, w, b, s) = P w + b                                  w [9*C, Cout] -> [B, Ho, Wo, Cout]
 *
 * so the filter gradient is the matMul gradient P^T dY, and the input gradient is col2im(dY w^T).
 * Columns are ordered (ky, kx, c), the row-major flattening of a TensorFlow HWIO filter
 * [3, 3, C, Cout], so `w` reshaped to [3, 3, C, Cout] gives the same result with `tf.conv2d(x, w,
 * s, 'same')` for odd H, W or stride 1 (tested).
 *
 * Legend: B batch, H x W input size, C input channels, Ho = ceil(H / s), Wo = ceil(W / s).
 * Output pixel (i, j) is centred on input pixel (i*s, j*s).
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape, check } from '../util/assert';

/** Output size of a 3x3, padding-1 convolution with stride s along an axis of n pixels. */
export function convOutSize(n: number, stride: number): number {
  return Math.ceil(n / stride);
}

/**
 * Host im2col: x [B, H, W, C] (row-major) -> [B*Ho*Wo, 9*C], zero outside the image.
 * Column (ky*3 + kx)*C + c of row (b, i, j) holds x[b, i*s + ky - 1, j*s + kx - 1, c].
 */
export function im2col3x3(x: Float32Array, B: number, H: number, W: number, C: number, stride: number): Float32Array {
  const out = new Float32Array(B * convOutSize(H, stride) * convOutSize(W, stride) * 9 * C);
  im2col3x3Into(x, out, B, H, W, C, stride);
  return out;
}

/** im2col3x3 into `out` (every element written, zeros included: `out` may hold garbage, as a fresh wasm-heap buffer). */
export function im2col3x3Into(x: Float32Array, out: Float32Array, B: number, H: number, W: number, C: number, stride: number): void {
  const Ho = convOutSize(H, stride);
  const Wo = convOutSize(W, stride);
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        for (let ky = 0; ky < 3; ky++) {
          const y = i * stride + ky - 1;
          for (let kx = 0; kx < 3; kx++, o += C) {
            const xx = j * stride + kx - 1;
            if (y < 0 || y >= H || xx < 0 || xx >= W) {
              out.fill(0, o, o + C);
              continue;
            }
            const src = ((b * H + y) * W + xx) * C;
            if (C >= 16) out.set(x.subarray(src, src + C), o);
            else for (let c = 0; c < C; c++) out[o + c] = x[src + c]!;
          }
        }
      }
    }
  }
}

/**
 * The wasm kernel of the forward im2col (registered by kernel-lib/backend/wasm-kernels.ts):
 * straight from the input's heap buffer into the output's, in the nativeblas add-on or a JS
 * loop, instead of a dataSync() copy out, a host loop and an upload.
 */
export const IM2COL_KERNEL = 'PixnerdIm2col3x3';

/** Host col2im, the adjoint of im2col3x3: [B*Ho*Wo, 9*C] -> [B, H, W, C], overlapping taps summed. */
export function col2im3x3(p: Float32Array, B: number, H: number, W: number, C: number, stride: number): Float32Array {
  const Ho = convOutSize(H, stride);
  const Wo = convOutSize(W, stride);
  const out = new Float32Array(B * H * W * C);
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        for (let ky = 0; ky < 3; ky++) {
          const y = i * stride + ky - 1;
          for (let kx = 0; kx < 3; kx++, o += C) {
            const xx = j * stride + kx - 1;
            if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
            const dst = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) out[dst + c] += p[o + c]!;
          }
        }
      }
    }
  }
  return out;
}

/**
 * The 3x3 patches of x as rows, with a gradient (col2im).  x [B, H, W, C] -> [B*Ho*Wo, 9*C]
 * On wasm the forward is one kernel on the heap (IM2COL_KERNEL); elsewhere it reads x back to the
 * host. The gradient (classifier training only) reads dy back to the host.
 */
export function patches3x3(x: tf.Tensor4D, stride: number): tf.Tensor2D {
  check(stride === 1 || stride === 2, () => `patches3x3: stride must be 1 or 2, got ${stride}`);
  const [B, H, W, C] = x.shape;
  const rows = B * convOutSize(H, stride) * convOutSize(W, stride);
  const onHeap = tf.getBackend() === 'wasm' && tf.getKernel(IM2COL_KERNEL, 'wasm') !== undefined;
  const op = tf.customGrad((xIn: tf.Tensor | tf.GradSaveFunc) => ({
    value: onHeap
      ? (tf.engine().runKernel(IM2COL_KERNEL, { x: xIn as tf.Tensor }, { stride }) as tf.Tensor2D)
      : tf.tensor2d(im2col3x3((xIn as tf.Tensor).dataSync() as Float32Array, B, H, W, C, stride), [rows, 9 * C]),
    gradFunc: (dy: tf.Tensor) => tf.tensor4d(col2im3x3(dy.dataSync() as Float32Array, B, H, W, C, stride), [B, H, W, C]),
  }));
  return op(x.dtype === 'float32' ? x : x.toFloat()) as tf.Tensor2D;
}

/**
 * 3x3 convolution, padding 1 ('same' for stride 1), trainable on wasm.
 * x [B, H, W, C], w [9*C, Cout] (HWIO flattened), b [Cout] -> [B, Ho, Wo, Cout]
 */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor, stride: number): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  assertShape(w, [9 * C, null], `conv3x3 weight for ${C} input channels`);
  const cout = w.shape[1]!;
  assertShape(b, [cout], 'conv3x3 bias');
  return tf.tidy(() => {
    const p = patches3x3(x, stride); // [B*Ho*Wo, 9C]
    // one fused matMul + bias (on wasm with the add-on the bias goes into the GEMM: no broadcasting Add)
    return tf.fused.matMul({ a: p, b: w as tf.Tensor2D, bias: b }).reshape([B, convOutSize(H, stride), convOutSize(W, stride), cout]) as tf.Tensor4D; // [B, Ho, Wo, Cout]
  });
}
