/**
 * Patchify / unpatchify and the condition embedders (paper.md 1.1, 1.2).
 *
 * Legend: B batch, H x W image, C channels, p patch, L = (H/p)(W/p) tokens, D width.
 * Layout: images are NHWC [B, H, W, C]; tokens are [B, L, C*p*p] in the reference's
 * channel-major order (index c*p*p + i*p + j), tokens row-major over the patch grid.
 */
import * as tf from '@tensorflow/tfjs';
import { check } from '../util/assert';
import { linear, param, silu, type Params } from './ops';

/** Timestep frequency features (256 = 128 cos + 128 sin). */
export const TIMESTEP_FEATURES = 256;
/** max_period of the sinusoidal timestep embedding: 10, not 10000, because t is in [0, 1]. */
export const TIMESTEP_MAX_PERIOD = 10;

function checkDivisible(H: number, W: number, ph: number, pw: number): void {
  check(H % ph === 0 && W % pw === 0, () => `image ${H}x${W} is not a multiple of the patch ${ph}x${pw}`);
}

/** x [B, H, W, C] -> tokens [B, L, C*p*p], channel-major inside a token (torch unfold order). */
export function patchify(x: tf.Tensor4D, p: number): tf.Tensor3D {
  const [B, H, W, C] = x.shape;
  checkDivisible(H, W, p, p);
  return tf.tidy(() =>
    x
      .reshape([B, H / p, p, W / p, p, C]) //     [B, Hp, p, Wp, p, C]
      .transpose([0, 1, 3, 5, 2, 4]) //            [B, Hp, Wp, C, p, p]
      .reshape([B, (H / p) * (W / p), C * p * p]),
  );
}

/** tokens [B, L, C*p*p] -> x [B, H, W, C]; the exact inverse of patchify (torch fold). */
export function unpatchify(tokens: tf.Tensor3D, p: number, H: number, W: number, C: number): tf.Tensor4D {
  const [B, L, P] = tokens.shape;
  checkDivisible(H, W, p, p);
  check(L === (H / p) * (W / p) && P === C * p * p, () => `tokens [${tokens.shape}] do not fold to ${H}x${W}x${C} with patch ${p}`);
  return tf.tidy(() =>
    tokens
      .reshape([B, H / p, W / p, C, p, p]) //     [B, Hp, Wp, C, p, p]
      .transpose([0, 1, 4, 2, 5, 3]) //            [B, Hp, p, Wp, p, C]
      .reshape([B, H, W, C]),
  );
}

/**
 * The pixels of every patch for the neural field, pixel-major (index i*pw + j) with the
 * channels last.  x [B, H, W, C] -> [B*L, ph*pw, C]
 */
export function patchPixels(x: tf.Tensor4D, ph: number, pw: number): tf.Tensor3D {
  const [B, H, W, C] = x.shape;
  checkDivisible(H, W, ph, pw);
  return tf.tidy(() =>
    x
      .reshape([B, H / ph, ph, W / pw, pw, C]) // [B, Hp, ph, Wp, pw, C]
      .transpose([0, 1, 3, 2, 4, 5]) //           [B, Hp, Wp, ph, pw, C]
      .reshape([B * (H / ph) * (W / pw), ph * pw, C]),
  );
}

/** Inverse of patchPixels: [B*L, ph*pw, C] -> [B, H, W, C]. */
export function foldPatchPixels(pixels: tf.Tensor3D, B: number, H: number, W: number, ph: number, pw: number): tf.Tensor4D {
  const C = pixels.shape[2];
  checkDivisible(H, W, ph, pw);
  return tf.tidy(() =>
    pixels
      .reshape([B, H / ph, W / pw, ph, pw, C]) // [B, Hp, Wp, ph, pw, C]
      .transpose([0, 1, 3, 2, 4, 5]) //           [B, Hp, ph, Wp, pw, C]
      .reshape([B, H, W, C]),
  );
}

/**
 * Sinusoidal timestep features: f_k = exp(-ln(10) k / 128), [cos(t f), sin(t f)] (cos first).
 * t [B] -> [B, 256]
 */
export function timestepFeatures(t: tf.Tensor1D): tf.Tensor2D {
  const half = TIMESTEP_FEATURES / 2;
  const freqs = new Float32Array(half);
  for (let k = 0; k < half; k++) freqs[k] = Math.exp((-Math.log(TIMESTEP_MAX_PERIOD) * k) / half);
  return tf.tidy(() => {
    const args = tf.mul(t.reshape([-1, 1]), tf.tensor2d(freqs, [1, half])); // [B, 128]
    return tf.concat([tf.cos(args), tf.sin(args)], 1) as tf.Tensor2D; //       [B, 256]
  });
}

/** TimestepEmbedder: Linear(256 -> D), SiLU, Linear(D -> D).  t [B] -> t_emb [B, D] */
export function timestepEmbed(params: Params, t: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const f = timestepFeatures(t);
    const h = silu(linear(f, param(params, 't_embedder.mlp.0.weight'), param(params, 't_embedder.mlp.0.bias')));
    return linear(h, param(params, 't_embedder.mlp.2.weight'), param(params, 't_embedder.mlp.2.bias')); // [B, D]
  });
}

/** LabelEmbedder: a (K+1)-row table; row K is the null label.  y [B] int32 -> y_emb [B, D] */
export function labelEmbed(params: Params, y: tf.Tensor1D): tf.Tensor2D {
  return tf.gather(param(params, 'y_embedder.embedding_table.weight'), y) as tf.Tensor2D;
}

/** s_embedder: Linear(C*p*p -> D) on every token.  tokens [B, L, C*p*p] -> s [B, L, D] */
export function patchEmbed(params: Params, tokens: tf.Tensor3D): tf.Tensor3D {
  const [B, L, P] = tokens.shape;
  return tf.tidy(() => {
    const s = linear(tokens.reshape([B * L, P]), param(params, 's_embedder.proj.weight'), param(params, 's_embedder.proj.bias'));
    return s.reshape([B, L, -1]) as tf.Tensor3D; // [B, L, D]
  });
}
