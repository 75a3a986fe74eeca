/**
 * The DiT final layer, the paper's "Baseline" head: LayerNorm (no affine), adaLN shift and
 * scale from c, Linear(D -> p*p*C), un-patchify (channel-major, as torch fold).
 */
import * as tf from '@tensorflow/tfjs';
import { unpatchify } from '../model/embedders';
import { adaLN } from '../model/dit-block';
import { layerNorm, linear, modulate, param, type Params } from '../model/ops';

/** s [B, L, D], c [B, D] -> v [B, H, W, C] */
export function linearHead(params: Params, s: tf.Tensor3D, c: tf.Tensor2D, p: number, H: number, W: number, C: number): tf.Tensor4D {
  const [B, L, D] = s.shape;
  return tf.tidy(() => {
    const [shift, scale] = adaLN(params, 'final_layer.adaLN_modulation.0', c, 2); // 2 x [B, 1, D]
    const z = modulate(layerNorm(s), shift, scale).reshape([B * L, D]);
    const out = linear(z as tf.Tensor2D, param(params, 'final_layer.linear.weight'), param(params, 'final_layer.linear.bias')); // [B*L, C*p*p]
    return unpatchify(out.reshape([B, L, C * p * p]), p, H, W, C); // [B, H, W, C]
  });
}
