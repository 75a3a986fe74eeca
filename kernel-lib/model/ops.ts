/**
 * The small functions every PixNerd layer is made of (paper.md 1.3): linear, RMSNorm,
 * LayerNorm, SiLU, adaLN modulation. Pure, shape-documented, no state.
 *
 * Linear weights are stored [in, out] (the transpose of PyTorch's [out, in]), so every
 * shared-weight matMul is a 2-D `[N, in] x [in, out]`, the fast path on every backend.
 */
import * as tf from '@tensorflow/tfjs';
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

/** x [N, in] @ w [in, out] (+ b [out]) -> [N, out], one fused 2-D matMul. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D;
}

/** Linear on the last axis of any rank: [..., in] -> [..., out], through a 2-D reshape. */
export function linearNd(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const y = linear(x.reshape([-1, dim(x, -1)]) as tf.Tensor2D, w, b);
  return y.reshape([...x.shape.slice(0, -1), dim(w, 1)]);
}

/** SiLU(x) = x * sigmoid(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/** RMSNorm over the last axis with a learnable gain: x / sqrt(mean(x^2) + eps) * weight. [..., n] -> [..., n] */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps = RMS_EPS): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight);
}

/** LayerNorm over the last axis without affine parameters (DiT final layer). [..., n] -> [..., n] */
export function layerNorm(x: tf.Tensor, eps = 1e-6): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
}

/** adaLN modulation: z * (1 + scale) + shift.  z [B, L, D], shift/scale [B, 1, D] -> [B, L, D] */
export function modulate(z: tf.Tensor, shift: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(z, tf.add(scale, 1)), shift);
}

/**
 * L2-normalises along `axis` as torch.nn.functional.normalize: x / max(||x||, eps).
 * Used on the generated field weights along their input axis.
 */
export function l2Normalize(x: tf.Tensor, axis: number, eps = 1e-12): tf.Tensor {
  const sq = tf.sum(tf.square(x), axis, true);
  return tf.mul(x, tf.rsqrt(tf.maximum(sq, eps * eps)));
}
