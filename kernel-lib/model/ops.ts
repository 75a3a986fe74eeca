/**
 * The small functions every PixNerd layer is made of (paper.md 1.3): linear, RMSNorm,
 * LayerNorm, SiLU, adaLN modulation. Pure, shape-documented, no state; each frees its own
 * intermediates (tf.tidy), so calling one outside a tidy leaks nothing.
 *
 * Linear weights are stored [in, out] (the transpose of PyTorch's [out, in]), so every
 * shared-weight matMul is a 2-D `[N, in] x [in, out]`, the fast path on every backend.
 *
 * SiLU, the SwiGLU gate, RMSNorm and L2 normalisation each have two implementations with the
 * same math: the tfjs-op formula (every backend), and, where the wasm backend has the fused
 * kernels of kernel-lib/backend/native-kernels.ts (the nativeblas add-on), one forward and one
 * backward kernel joined by tf.customGrad: one pass over memory instead of 3-15 ops.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeMatmul2d } from '../backend/native-matmul';
import { FUSED_KERNELS, fusedKernel } from '../backend/native-kernels';
import { CheckpointError } from '../util/errors';
import { dim } from '../util/scope';

/** A tree of named tensors (model parameters, EMA copies), keyed by reference names. */
export type Params = Record<string, tf.Tensor>;

/** RMSNorm epsilon of the reference (also used for the q/k norms). */
export const RMS_EPS = 1e-6;

/** The parameter `name`, or an error naming it (a missing key is never guessed). */
export function param(params: Params, name: string): tf.Tensor {
  const p = params[name];
  if (p === undefined) throw new CheckpointError(`parameter "${name}" is missing from the parameter tree`);
  return p;
}

/**
 * x [N, in] @ w [in, out] (+ b [out]) -> [N, out], one fused 2-D matMul.
 *
 * Where the native matMuls take 2-D operands (nativeMatmul2d), the product and its gradients
 * (dx = dy w^T, dw = x^T dy, db = sum of dy's rows) are the same kernels tf.fused.matMul runs,
 * called on the 2-D tensors under one tf.customGrad: tf.fused.matMul reshapes to 3-D and back and
 * wraps its own customGrad, ~12 more tfjs ops a layer under the tape (~40 us of JS each, fwd + bwd,
 * ~67 layers a bench-S step). Same kernels, same shapes to the GEMMs: the same values.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  if (x.rank === 2 && w.rank === 2 && (b === undefined || b.rank === 1) && allF32(b ? [x, w, b] : [x, w]) && nativeMatmul2d()) {
    if (tf.engine().state.gradientDepth === 0) return matMul2d(x, w, false, false, b) as tf.Tensor2D;
    return (b ? linearBiasGrad(x, w, b) : linearGrad(x, w)) as tf.Tensor2D;
  }
  return tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D;
}

/** op(a) @ op(b) (+ bias) through the backend's (native) _FusedMatMul / BatchMatMul. [M, K] x [K, N] -> [M, N] */
function matMul2d(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, bias?: tf.Tensor): tf.Tensor {
  if (bias) return tf.engine().runKernel('_FusedMatMul', { a, b, bias }, { transposeA, transposeB, activation: 'linear' }) as tf.Tensor;
  return tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA, transposeB }) as tf.Tensor;
}

const linearGrad = fusedOp(
  ([x, w]) => ({ value: matMul2d(x!, w!, false, false), save: [x!, w!] }),
  (dy, [x, w]) => [matMul2d(dy, w!, false, true), matMul2d(x!, dy, true, false)],
);
const linearBiasGrad = fusedOp(
  ([x, w, b]) => ({ value: matMul2d(x!, w!, false, false, b!), save: [x!, w!] }),
  (dy, [x, w]) => [matMul2d(dy, w!, false, true), matMul2d(x!, dy, true, false), tf.sum(dy, 0)],
);

/** Linear on the last axis of any rank: [..., in] -> [..., out], through a 2-D reshape. */
export function linearNd(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => linear(x.reshape([-1, dim(x, -1)]) as tf.Tensor2D, w, b).reshape([...x.shape.slice(0, -1), dim(w, 1)]));
}

/** A fused kernel's outputs (kernel-lib/backend/native-kernels.ts). */
export function runFused(kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(kernel, inputs, attrs);
  return Array.isArray(out) ? out : [out];
}

/**
 * tf.customGrad for a fused forward kernel and its backward kernel. `forward` returns the
 * output and the tensors the backward needs; `backward` maps (dy, saved) to one gradient per input.
 */
export function fusedOp(forward: (inputs: tf.Tensor[]) => { value: tf.Tensor; save: tf.Tensor[] }, backward: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[]): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const { value, save: kept } = forward(args as tf.Tensor[]);
    save(kept);
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved) };
  });
}

const siluFused = fusedOp(
  ([x]) => ({ value: runFused(FUSED_KERNELS.silu, { x: x! })[0]!, save: [x!] }),
  (dy, [x]) => runFused(FUSED_KERNELS.siluGrad, { x: x!, dy }),
);

/** SiLU(x) = x * sigmoid(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  if (x.dtype === 'float32' && fusedKernel('silu')) return siluFused(x) as T;
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

const swiGluFused = fusedOp(
  ([a, b]) => ({ value: runFused(FUSED_KERNELS.swiGlu, { a: a!, b: b! })[0]!, save: [a!, b!] }),
  (dy, [a, b]) => runFused(FUSED_KERNELS.swiGluGrad, { a: a!, b: b!, dy }),
);

/** The SwiGLU gate SiLU(a) * b.  a, b [..., F] -> [..., F] */
export function swiGluGate(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.dtype === 'float32' && b.dtype === 'float32' && sameShape(a, b) && fusedKernel('swiGlu')) return swiGluFused(a, b);
  return tf.tidy(() => tf.mul(silu(a), b));
}

function sameShape(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
}

/** RMSNorm over the last axis with a learnable gain: x / sqrt(mean(x^2) + eps) * weight. [..., n] -> [..., n] */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps = RMS_EPS): tf.Tensor {
  if (x.dtype === 'float32' && weight.dtype === 'float32' && weight.rank === 1 && x.rank >= 1 && weight.shape[0] === dim(x, -1) && fusedKernel('rmsNorm')) {
    return fusedOp(
      ([x, w]) => {
        const [y, rstd] = runFused(FUSED_KERNELS.rmsNorm, { x: x!, weight: w! }, { eps }); // rstd [..., 1]
        return { value: y!, save: [x!, w!, rstd!] };
      },
      (dy, [x, w, rstd]) => runFused(FUSED_KERNELS.rmsNormGrad, { x: x!, weight: w!, rstd: rstd!, dy }),
    )(x, weight);
  }
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight);
  });
}

/** LayerNorm over the last axis without affine parameters (DiT final layer). [..., n] -> [..., n] */
export function layerNorm(x: tf.Tensor, eps = 1e-6): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}

/** adaLN modulation: z * (1 + scale) + shift.  z [B, L, D], shift/scale [B, 1, D] -> [B, L, D] */
export function modulate(z: tf.Tensor, shift: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(z, tf.add(scale, 1)), shift));
}

const allF32 = (ts: tf.Tensor[]) => ts.every((t) => t.dtype === 'float32');

/**
 * modulate(rmsNorm(x, weight), shift, scale), as one fused kernel pair where registered.
 * x [B, L, D], weight [D], shift/scale [B, 1, D] -> [B, L, D]
 */
export function normModulate(x: tf.Tensor, weight: tf.Tensor, shift: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  if (x.rank === 3 && weight.rank === 1 && allF32([x, weight, shift, scale]) && fusedKernel('normModulate')) {
    return fusedOp(
      ([x, w, shift, scale]) => {
        const [y, rstd] = runFused(FUSED_KERNELS.normModulate, { x: x!, w: w!, shift: shift!, scale: scale! }, { eps: RMS_EPS });
        return { value: y!, save: [x!, w!, scale!, rstd!] };
      },
      (dy, [x, w, scale, rstd]) => runFused(FUSED_KERNELS.normModulateGrad, { x: x!, w: w!, scale: scale!, rstd: rstd!, dy }),
    )(x, weight, shift, scale);
  }
  return tf.tidy(() => modulate(rmsNorm(x, weight), shift, scale));
}

/** The gated residual s + gate * h, as one fused kernel pair where registered.  s, h [B, L, D], gate [B, 1, D] -> [B, L, D] */
export function gatedAdd(s: tf.Tensor, gate: tf.Tensor, h: tf.Tensor): tf.Tensor {
  if (s.rank === 3 && allF32([s, gate, h]) && fusedKernel('gatedAdd')) {
    return fusedOp(
      ([s, gate, h]) => ({ value: runFused(FUSED_KERNELS.gatedAdd, { s: s!, gate: gate!, h: h! })[0]!, save: [gate!, h!] }),
      (dy, [gate, h]) => runFused(FUSED_KERNELS.gatedAddGrad, { gate: gate!, h: h!, dy }),
    )(s, gate, h);
  }
  return tf.tidy(() => tf.add(s, tf.mul(gate, h)));
}

/**
 * L2-normalises along `axis` as torch.nn.functional.normalize: x / max(||x||, eps).
 * Used on the generated field weights along their input axis.
 */
export function l2Normalize(x: tf.Tensor, axis: number, eps = 1e-12): tf.Tensor {
  if (x.dtype === 'float32' && fusedKernel('l2Normalize')) {
    const attrs = { axis: axis < 0 ? x.rank + axis : axis, eps };
    return fusedOp(
      ([x]) => {
        const [y, rinv] = runFused(FUSED_KERNELS.l2Normalize, { x: x! }, attrs); // rinv: x's shape with 1 on axis
        return { value: y!, save: [x!, rinv!] };
      },
      (dy, [x, rinv]) => runFused(FUSED_KERNELS.l2NormalizeGrad, { x: x!, rinv: rinv!, dy }, attrs),
    )(x);
  }
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), axis, true);
    return tf.mul(x, tf.rsqrt(tf.maximum(sq, eps * eps)));
  });
}
