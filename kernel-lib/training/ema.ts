/**
 * Exponential moving average of the weights (paper.md 2.5): decay 0.9999 every optimizer step;
 * sampling uses the EMA weights. As in DiT, the first call with decay 0 copies the weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model/ops';

/** ema <- decay * ema + (1 - decay) * params, for every key of `ema`. */
export function updateEma(ema: Record<string, tf.Variable>, params: Params, decay: number): void {
  tf.tidy(() => {
    for (const [name, e] of Object.entries(ema)) {
      const p = params[name];
      if (!p) throw new Error(`EMA: parameter "${name}" is missing`);
      e.assign(decay === 0 ? p : tf.add(tf.mul(e, decay), tf.mul(p, 1 - decay)));
    }
  });
}

/** A non-trainable copy of a parameter tree (the EMA weights). */
export function copyParams(params: Params): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [name, p] of Object.entries(params)) out[name] = tf.variable(p, false);
  return out;
}

/**
 * EMA decay at a step: the configured decay, or with warm-up min(decay, (1 + k) / (10 + k)),
 * which lets short CPU runs' EMA track the weights instead of staying at init.
 */
export function emaDecayAt(step: number, decay: number, warmup: boolean): number {
  return warmup ? Math.min(decay, (1 + step) / (10 + step)) : decay;
}
