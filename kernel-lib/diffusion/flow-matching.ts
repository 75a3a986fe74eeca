/**
 * Rectified flow as PixNerd trains it (paper.md 2.1-2.3): t = 0 is noise, t = 1 is data.
 *
 *   x_t = t x + (1 - t) eps,   target v = x - eps,   loss = mean((v_hat - v)^2)
 *
 * Legend: B batch, images NHWC [B, H, W, C] in [-1, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../util/seed';

export type TimeSampling = 'lognorm' | 'uniform';
export const TIME_SAMPLINGS: readonly TimeSampling[] = ['lognorm', 'uniform'];

/** What the network predicts: the velocity (reference) or the clean image (JiT-style x-prediction). */
export type PredictionTarget = 'v' | 'x';
export const PREDICTION_TARGETS: readonly PredictionTarget[] = ['v', 'x'];

/** x-prediction divides by (1 - t); the divisor is clamped from below by this (JiT). */
export const X_PRED_MIN_DENOM = 0.05;

/** Time shift t' = t / (t + (1 - t) s); s > 1 moves t toward noise, s = 1 is the identity. */
export function shiftTime(t: number, shift: number): number {
  return t / (t + (1 - t) * shift);
}

/** Training times [B]: logit-normal (sigmoid of N(0, 1)) or uniform, then shifted. Seeded. */
export function sampleTimesteps(B: number, kind: TimeSampling, shift: number, seed: number): tf.Tensor1D {
  return tf.tidy(() => {
    const t = kind === 'lognorm' ? tf.sigmoid(tf.randomNormal([B], 0, 1, 'float32', seed)) : tf.randomUniform([B], 0, 1, 'float32', seed);
    if (shift === 1) return t as tf.Tensor1D;
    return tf.div(t, tf.add(t, tf.mul(tf.sub(1, t), shift))) as tf.Tensor1D;
  });
}

/** x_t = t x + (1 - t) eps.  x, eps [B, H, W, C], t [B] -> [B, H, W, C] */
export function interpolate(x: tf.Tensor4D, eps: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const tb = t.reshape([-1, 1, 1, 1]);
    return tf.add(tf.mul(tb, x), tf.mul(tf.sub(1, tb), eps)) as tf.Tensor4D;
  });
}

/** The clean estimate x_hat = x_t + (1 - t) v at one time t.  xt, v [B, H, W, C] -> [B, H, W, C] */
export function cleanEstimate(xt: tf.Tensor4D, v: tf.Tensor4D, t: number): tf.Tensor4D {
  return tf.tidy(() => tf.add(xt, tf.mul(v, 1 - t)) as tf.Tensor4D);
}

/**
 * The velocity implied by a network output: v itself, or (x_hat - x_t) / max(1 - t, 0.05)
 * for x-prediction.  out, xt [B, H, W, C], t [B] -> [B, H, W, C]
 */
export function toVelocity(out: tf.Tensor4D, xt: tf.Tensor4D, t: tf.Tensor1D, target: PredictionTarget): tf.Tensor4D {
  if (target === 'v') return out;
  return tf.tidy(() => tf.div(tf.sub(out, xt), tf.maximum(tf.sub(1, t.reshape([-1, 1, 1, 1])), X_PRED_MIN_DENOM)) as tf.Tensor4D);
}

/** Flow-matching loss mean((v_hat - (x - eps))^2) over all elements. */
export function flowMatchingLoss(vHat: tf.Tensor4D, x: tf.Tensor4D, eps: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(vHat, tf.sub(x, eps))) as tf.Scalar);
}

/** Classifier-free-guidance label dropout: each label becomes the null label K with probability p. Seeded. */
export function dropLabels(labels: ArrayLike<number>, nullLabel: number, p: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  return Int32Array.from(labels, (y) => (rand() < p ? nullLabel : y));
}
