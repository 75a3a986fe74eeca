/**
 * Multi-head self-attention with q/k RMSNorm and 2D RoPE (paper.md 1.3).
 *
 * qkv = Linear(D -> 3D, no bias), viewed [B, L, 3, h, Dh]; RMSNorm over Dh on q and k
 * (learnable); RoPE on q and k; softmax(q k^T / sqrt(Dh)) v; proj Linear(D -> D, bias).
 */
import * as tf from '@tensorflow/tfjs';
import { linear, param, rmsNorm, type Params } from './ops';
import { applyRope, type RopeTables } from './rope';

/** Attention of trunk block `prefix` (e.g. `blocks.3.attn`).  z [B, L, D] -> [B, L, D] */
export function attention(params: Params, prefix: string, z: tf.Tensor3D, numHeads: number, rope: RopeTables): tf.Tensor3D {
  const [B, L, D] = z.shape;
  const Dh = D / numHeads;
  return tf.tidy(() => {
    const qkv = linear(z.reshape([B * L, D]), param(params, `${prefix}.qkv.weight`)); // [B*L, 3D], columns (3, h, Dh)
    // 2-D column slices: tf.split on the 5-D view is ~30x slower on wasm
    const [q0, k0, v0] = [0, 1, 2].map((i) => qkv.slice([0, i * D], [B * L, D]).reshape([B, L, numHeads, Dh]) as tf.Tensor4D); // 3 x [B, L, h, Dh]
    const q1 = applyRope(rmsNorm(q0, param(params, `${prefix}.q_norm.weight`)) as tf.Tensor4D, rope);
    const k1 = applyRope(rmsNorm(k0, param(params, `${prefix}.k_norm.weight`)) as tf.Tensor4D, rope);
    const q = tf.mul(q1, 1 / Math.sqrt(Dh)).transpose([0, 2, 1, 3]); // [B, h, L, Dh], scale folded into q
    const k = k1.transpose([0, 2, 1, 3]); //                             [B, h, L, Dh]
    const v = v0.transpose([0, 2, 1, 3]); //                             [B, h, L, Dh]
    const attn = tf.softmax(tf.matMul(q, k, false, true)); //           [B, h, L, L]
    const o = tf.matMul(attn, v).transpose([0, 2, 1, 3]).reshape([B * L, D]); // [B*L, D]
    return linear(o as tf.Tensor2D, param(params, `${prefix}.proj.weight`), param(params, `${prefix}.proj.bias`)).reshape([B, L, D]) as tf.Tensor3D;
  });
}
