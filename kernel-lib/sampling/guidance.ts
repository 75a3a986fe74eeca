/**
 * Classifier-free guidance, written once (DiT forward_with_cfg; paper.md 3.2): the batch is
 * doubled as [x, x] with labels [null, y] (unconditional half first), and
 *
 *   v = v_u + w (v_c - v_u)   only while lo < t < hi (strict); outside, v = v_c.
 *
 * Legend: B batch, images [B, H, W, C], K = numClasses is the null label.
 */
import * as tf from '@tensorflow/tfjs';

/** The denoiser's velocity for a batch at one time: x [B, H, W, C], t [B], y int32 [B] -> [B, H, W, C]. */
export type VelocityModel = (x: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D) => tf.Tensor4D;

export interface GuidanceOptions {
  /** w; 1 = no guidance (the doubled batch is skipped). */
  scale: number;
  /** CFG only for lo < t < hi (reference c2i: [0.1, 1.0]). */
  interval: [number, number];
  /** The null label (= numClasses). */
  nullLabel: number;
}

/** Whether guidance applies at time t (strict inequalities, as the reference). */
export function guidanceActive(t: number, interval: [number, number]): boolean {
  return interval[0] < t && t < interval[1];
}

/** Guided velocity at time t.  x [B, H, W, C], y int32 [B] -> [B, H, W, C] */
export function guidedVelocity(model: VelocityModel, x: tf.Tensor4D, t: number, y: tf.Tensor1D, g: GuidanceOptions): tf.Tensor4D {
  const B = x.shape[0];
  return tf.tidy(() => {
    if (g.scale === 1) return model(x, tf.fill([B], t) as tf.Tensor1D, y);
    const xx = tf.concat([x, x], 0) as tf.Tensor4D; //                                        [2B, H, W, C]
    const yy = tf.concat([tf.fill([B], g.nullLabel, 'int32'), y], 0) as tf.Tensor1D; //       [null..., y...]
    const v = model(xx, tf.fill([2 * B], t) as tf.Tensor1D, yy);
    const vu = v.slice([0, 0, 0, 0], [B, -1, -1, -1]); // unconditional half first
    const vc = v.slice([B, 0, 0, 0], [B, -1, -1, -1]);
    if (!guidanceActive(t, g.interval)) return vc;
    return tf.add(vu, tf.mul(tf.sub(vc, vu), g.scale)) as tf.Tensor4D;
  });
}
