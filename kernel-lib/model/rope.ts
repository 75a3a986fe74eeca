/**
 * 2D rotary position embedding (paper.md 1.3, `precompute_freqs_cis_2d`, theta 10000).
 *
 * Token (py, px) sits at x = linspace(0, 16, gridW)[px], y = linspace(0, 16, gridH)[py]:
 * positions always span 0..16 whatever the grid size. Dh/4 frequencies w_m = theta^(-4m/Dh).
 * The Dh channels form Dh/2 adjacent pairs (2k, 2k+1) rotated as complex numbers; pair 2m
 * turns by x * w_m, pair 2m+1 by y * w_m.
 */
import * as tf from '@tensorflow/tfjs';
import { check } from '../util/assert';

export const ROPE_THETA = 10000;
/** RoPE positions span [0, ROPE_POS_SPAN] along each axis whatever the grid size. */
export const ROPE_POS_SPAN = 16;

export interface RopeTables {
  /** cos(angle) for every token and channel, [L * Dh] (each pair's angle repeated twice). */
  cos: Float32Array;
  /** sin(angle), [L * Dh]. */
  sin: Float32Array;
}

/** linspace(a, b, n) as the reference (n = 1 gives [a]). */
export function linspace(a: number, b: number, n: number): number[] {
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

const tableCache = new Map<string, RopeTables>();

/** The cos/sin tables for a gridH x gridW token grid and head dim Dh (memoised; pure). */
export function ropeTables(gridH: number, gridW: number, headDim: number): RopeTables {
  check(headDim % 4 === 0, () => `RoPE needs a head dim divisible by 4, got ${headDim}`);
  const key = `${gridH}x${gridW}x${headDim}`;
  const hit = tableCache.get(key);
  if (hit) return hit;
  const L = gridH * gridW;
  const xs = linspace(0, ROPE_POS_SPAN, gridW);
  const ys = linspace(0, ROPE_POS_SPAN, gridH);
  const cos = new Float32Array(L * headDim);
  const sin = new Float32Array(L * headDim);
  for (let py = 0; py < gridH; py++) {
    for (let px = 0; px < gridW; px++) {
      const l = py * gridW + px;
      for (let pair = 0; pair < headDim / 2; pair++) {
        const m = Math.floor(pair / 2);
        const w = Math.pow(ROPE_THETA, (-4 * m) / headDim);
        const angle = (pair % 2 === 0 ? xs[px] : ys[py]) * w;
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        cos[l * headDim + 2 * pair] = c;
        cos[l * headDim + 2 * pair + 1] = c;
        sin[l * headDim + 2 * pair] = s;
        sin[l * headDim + 2 * pair + 1] = s;
      }
    }
  }
  const tables = { cos, sin };
  if (tableCache.size > 64) tableCache.clear();
  tableCache.set(key, tables);
  return tables;
}

/** The pair-rotation matrix P [Dh, Dh] with (a, b) @ P = (-b, a) on every channel pair. */
function rotateHalfMatrix(headDim: number): tf.Tensor2D {
  const m = new Float32Array(headDim * headDim);
  for (let k = 0; k < headDim / 2; k++) {
    m[(2 * k + 1) * headDim + 2 * k] = -1; // out[2k]   = -in[2k+1]
    m[2 * k * headDim + 2 * k + 1] = 1; //     out[2k+1] =  in[2k]
  }
  return tf.tensor2d(m, [headDim, headDim]);
}

/**
 * Rotates q or k: (a, b) -> (a cos - b sin, a sin + b cos) on every channel pair.
 * x [B, L, h, Dh] -> [B, L, h, Dh]. The pair swap is a 2-D matMul [B*L*h, Dh] x [Dh, Dh].
 */
export function applyRope(x: tf.Tensor4D, tables: RopeTables): tf.Tensor4D {
  const [B, L, h, Dh] = x.shape;
  check(tables.cos.length === L * Dh, () => `RoPE tables for ${tables.cos.length / Dh} tokens, input has ${L}`);
  return tf.tidy(() => {
    const cos = tf.tensor4d(tables.cos, [1, L, 1, Dh]);
    const sin = tf.tensor4d(tables.sin, [1, L, 1, Dh]);
    const swapped = tf.matMul(x.reshape([B * L * h, Dh]), rotateHalfMatrix(Dh)).reshape([B, L, h, Dh]);
    return tf.add(tf.mul(x, cos), tf.mul(swapped, sin)) as tf.Tensor4D;
  });
}
