/**
 * Exponential moving average of the weights (paper.md 2.5): decay 0.9999 every optimizer step;
 * sampling uses the EMA weights. As in DiT, the first call with decay 0 copies the weights.
 */
import * as tf from '@tensorflow/tfjs';
import { emaOnHeap, inPlaceUpdates, type InPlaceKind } from '../backend/native-update';
import type { Params } from '../model/ops';

/** Which implementation updateEma uses: `auto` (on the wasm heap on wasm, tfjs ops elsewhere), or one forced (tests). */
export type EmaPath = 'auto' | 'ops' | InPlaceKind;

/**
 * ema <- decay * ema + (1 - decay) * params, for every key of `ema`. On the wasm backend one
 * call per tensor on the heap (kernel-lib/backend/native-update.ts); elsewhere tfjs ops.
 */
export function updateEma(ema: Record<string, tf.Variable>, params: Params, decay: number, path: EmaPath = 'auto'): void {
  for (const name of Object.keys(ema)) if (!params[name]) throw new Error(`EMA: parameter "${name}" is missing`);
  const inPlace = path === 'ops' ? null : inPlaceUpdates(path === 'auto' ? undefined : path);
  if (path !== 'auto' && path !== 'ops' && inPlace === null) throw new Error(`updateEma: the in-place path "${path}" needs the wasm backend (now ${tf.getBackend()})`);
  if (inPlace) {
    for (const [name, e] of Object.entries(ema)) emaOnHeap(e, params[name]!, decay, inPlace);
    return;
  }
  tf.tidy(() => {
    for (const [name, e] of Object.entries(ema)) {
      const p = params[name]!;
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
