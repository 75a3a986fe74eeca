/**
 * The reference implementation's I/O layout around `pixnerdForward`: inputs x [B, C, H, W],
 * t [B], y [B] (class ids as int32, int64 or float32) as safetensors entries; output v [B, C, H, W].
 * The project computes in NHWC, so x goes in transposed and v comes out transposed back.
 *
 * Example:
 *   const cfg = resolveModelConfig(JSON.parse(readFileSync('C.json', 'utf8')));
 *   const params = initParams(cfg, 0);
 *   assignParams(params, fromReferenceTensors(cfg, readSafetensors('W.safetensors').tensors, 'ema_denoiser.', 'W.safetensors'));
 *   const v = await referenceForward(params, cfg, readSafetensors('I.safetensors').tensors);
 *   writeSafetensors('O.safetensors', { v });
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/model-config';
import type { SafeTensor } from '../checkpoint/safetensors';
import { pixnerdForward } from './pixnerd';

/** A [B, C, H, W] entry as an NHWC tensor [B, H, W, C]. */
export function nchwToNhwc(name: string, t: SafeTensor | undefined): tf.Tensor4D {
  if (!t) throw new Error(`inputs: tensor "${name}" is missing`);
  if (t.shape.length !== 4) throw new Error(`inputs: "${name}" must be [B, C, H, W], got [${t.shape.join(', ')}]`);
  return tf.tidy(() => tf.tensor(Float32Array.from(t.data), t.shape).transpose([0, 2, 3, 1]) as tf.Tensor4D);
}

/** One forward pass on reference-layout inputs {x, t, y}; returns v [B, C, H, W] as float32 data. */
export async function referenceForward(params: Record<string, tf.Variable>, cfg: ModelConfig, inputs: Map<string, SafeTensor>): Promise<{ shape: number[]; data: Float32Array }> {
  const x = nchwToNhwc('x', inputs.get('x'));
  const B = x.shape[0];
  const tIn = inputs.get('t');
  const yIn = inputs.get('y');
  if (!tIn || tIn.shape.join() !== String(B)) {
    x.dispose();
    throw new Error(`inputs: "t" must be float [${B}]`);
  }
  if (!yIn || yIn.shape.join() !== String(B)) {
    x.dispose();
    throw new Error(`inputs: "y" must be [${B}] class ids`);
  }
  const labels = Array.from(yIn.data, (v) => Math.round(v));
  const bad = labels.filter((l) => !(l >= 0 && l <= cfg.numClasses));
  if (bad.length) {
    x.dispose();
    throw new Error(`inputs: labels ${bad.join(', ')} outside 0..${cfg.numClasses} (${cfg.numClasses} = null label)`);
  }
  const vNchw = tf.tidy(() => pixnerdForward(params, cfg, x, tf.tensor1d(Float32Array.from(tIn.data)), tf.tensor1d(labels, 'int32')).v.transpose([0, 3, 1, 2]));
  x.dispose();
  const data = (await vNchw.data()) as Float32Array;
  const shape = vNchw.shape;
  vNchw.dispose();
  return { shape, data };
}
