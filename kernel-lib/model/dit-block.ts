/**
 * The trunk block (reference FlattenDiTBlock, paper.md 1.3): pre-RMSNorm, adaLN modulation
 * from c, attention and SwiGLU, each added through a gate.
 *
 *   shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = Linear(D -> 6D)(c)
 *   s += gate_a * Attn(modulate(RMSNorm(s)));  s += gate_m * SwiGLU(modulate(RMSNorm(s)))
 */
import * as tf from '@tensorflow/tfjs';
import { attention } from './attention';
import { gatedAdd, linear, normModulate, param, swiGluGate, type Params } from './ops';
import type { RopeTables } from './rope';

/** SwiGLU: w2(SiLU(w1 z) * w3 z), all bias-free.  z [N, D] -> [N, D] */
export function swiglu(params: Params, prefix: string, z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const a = linear(z, param(params, `${prefix}.w1.weight`)); // [N, F]
    const b = linear(z, param(params, `${prefix}.w3.weight`)); // [N, F]
    return linear(swiGluGate(a, b) as tf.Tensor2D, param(params, `${prefix}.w2.weight`)); // [N, D]
  });
}

/** adaLN: the six [B, 1, D] modulation vectors of a block from c [B, D]. */
export function adaLN(params: Params, prefix: string, c: tf.Tensor2D, chunks: number): tf.Tensor3D[] {
  return tf.tidy(() => {
    const m = linear(c, param(params, `${prefix}.weight`), param(params, `${prefix}.bias`)); // [B, chunks*D]
    const [B, CD] = m.shape;
    // one split (gradient: one concat) rather than a slice and a reshape per chunk (gradient: a
    // pad per chunk, added up): ~25 fewer tfjs ops a block under the tape
    return tf.split(m.reshape([B, 1, CD]), chunks, 2) as tf.Tensor3D[]; // chunks x [B, 1, D]
  });
}

/** Trunk block i.  s [B, L, D], c [B, D] -> [B, L, D] */
export function ditBlock(params: Params, i: number, s: tf.Tensor3D, c: tf.Tensor2D, numHeads: number, rope: RopeTables): tf.Tensor3D {
  const [B, L, D] = s.shape;
  const pre = `blocks.${i}`;
  return tf.tidy(() => {
    const [shiftA, scaleA, gateA, shiftM, scaleM, gateM] = adaLN(params, `${pre}.adaLN_modulation.0`, c, 6);
    const za = normModulate(s, param(params, `${pre}.norm1.weight`), shiftA, scaleA) as tf.Tensor3D;
    const s1 = gatedAdd(s, gateA, attention(params, `${pre}.attn`, za, numHeads, rope)); // [B, L, D]
    const zm = normModulate(s1, param(params, `${pre}.norm2.weight`), shiftM, scaleM);
    const ffn = swiglu(params, `${pre}.mlp`, zm.reshape([B * L, D])).reshape([B, L, D]);
    return gatedAdd(s1, gateM, ffn) as tf.Tensor3D; //                                            [B, L, D]
  });
}
