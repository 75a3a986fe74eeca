/**
 * Multi-head self-attention with q/k RMSNorm and 2D RoPE (paper.md 1.3).
 *
 * qkv = Linear(D -> 3D, no bias), viewed [B, L, 3, h, Dh]; RMSNorm over Dh on q and k
 * (learnable); RoPE on q and k; softmax(q k^T / sqrt(Dh)) v; proj Linear(D -> D, bias).
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS, fusedKernel, type AttentionAttrs } from '../backend/native-kernels';
import { fusedOp, linear, param, RMS_EPS, rmsNorm, runFused, type Params } from './ops';
import { applyRope, type RopeTables } from './rope';

/**
 * The attention core as one fused kernel and its backward (kernel-lib/native/attention.cc), where
 * the wasm backend has them: qkv [B*L, 3D], q/k gains [Dh] -> heads merged [B*L, D].
 */
function fusedCore(qkv: tf.Tensor2D, qw: tf.Tensor, kw: tf.Tensor, attrs: AttentionAttrs): tf.Tensor2D {
  const named = attrs as unknown as tf.NamedAttrMap;
  return fusedOp(
    ([qkv, qw, kw]) => ({ value: runFused(FUSED_KERNELS.attention, { qkv: qkv!, qw: qw!, kw: kw! }, named)[0]!, save: [qkv!, qw!, kw!] }),
    (dy, [qkv, qw, kw]) => runFused(FUSED_KERNELS.attentionGrad, { qkv: qkv!, qw: qw!, kw: kw!, dy }, named),
  )(qkv, qw, kw) as tf.Tensor2D;
}

/** Attention of trunk block `prefix` (e.g. `blocks.3.attn`).  z [B, L, D] -> [B, L, D] */
export function attention(params: Params, prefix: string, z: tf.Tensor3D, numHeads: number, rope: RopeTables): tf.Tensor3D {
  const [B, L, D] = z.shape;
  const Dh = D / numHeads;
  return tf.tidy(() => {
    const qkv = linear(z.reshape([B * L, D]), param(params, `${prefix}.qkv.weight`)); // [B*L, 3D], columns (3, h, Dh)
    const [qw, kw] = [param(params, `${prefix}.q_norm.weight`), param(params, `${prefix}.k_norm.weight`)];
    const proj = (o: tf.Tensor2D) => linear(o, param(params, `${prefix}.proj.weight`), param(params, `${prefix}.proj.bias`)).reshape([B, L, D]) as tf.Tensor3D;
    if (fusedKernel('attention') && qkv.dtype === 'float32' && qw.dtype === 'float32' && kw.dtype === 'float32') {
      return proj(fusedCore(qkv, qw, kw, { L, h: numHeads, eps: RMS_EPS, cos: rope.cos, sin: rope.sin }));
    }
    // 2-D column slices: tf.split on the 5-D view is ~30x slower on wasm
    const [q0, k0, v0] = [0, 1, 2].map((i) => qkv.slice([0, i * D], [B * L, D]).reshape([B, L, numHeads, Dh]) as tf.Tensor4D); // 3 x [B, L, h, Dh]
    const q1 = applyRope(rmsNorm(q0, qw) as tf.Tensor4D, rope);
    const k1 = applyRope(rmsNorm(k0, kw) as tf.Tensor4D, rope);
    const q = tf.mul(q1, 1 / Math.sqrt(Dh)).transpose([0, 2, 1, 3]); // [B, h, L, Dh], scale folded into q
    const k = k1.transpose([0, 2, 1, 3]); //                             [B, h, L, Dh]
    const v = v0.transpose([0, 2, 1, 3]); //                             [B, h, L, Dh]
    const attn = tf.softmax(tf.matMul(q, k, false, true)); //           [B, h, L, L]
    return proj(tf.matMul(attn, v).transpose([0, 2, 1, 3]).reshape([B * L, D]) as tf.Tensor2D); // [B*L, D] heads merged
  });
}
