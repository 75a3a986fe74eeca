/**
 * AdamW (decoupled weight decay, as torch.optim.AdamW) with its state in plain Variables so
 * it can be checkpointed. Reference defaults: lr 1e-4, betas (0.9, 0.999), eps 1e-8, wd 0.
 *
 *   p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)        (k = step, 1-based)
 *
 * On the wasm backend the update is one call per parameter tensor on the wasm heap (moments in
 * place, the parameter into a fresh buffer; kernel-lib/backend/native-update.ts: the add-on's
 * C++ loop, else a JS loop, same float32 arithmetic); elsewhere the tfjs-op formula below.
 */
import * as tf from '@tensorflow/tfjs';
import { adamwOnHeap, inPlaceUpdates, type AdamWScalars, type InPlaceKind } from '../backend/native-update';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  /** Number of updates applied so far. */
  step: number;
  m: Record<string, tf.Variable>;
  v: Record<string, tf.Variable>;
}

/** Zero moments for every parameter. */
export function initAdamW(params: Record<string, tf.Variable>): AdamWState {
  const m: Record<string, tf.Variable> = {};
  const v: Record<string, tf.Variable> = {};
  // tidy frees the zeros tensors, so each moment owns its buffer (the in-place update needs that)
  tf.tidy(() => {
    for (const [name, p] of Object.entries(params)) {
      m[name] = tf.variable(tf.zerosLike(p), false);
      v[name] = tf.variable(tf.zerosLike(p), false);
    }
  });
  return { step: 0, m, v };
}

/** Which implementation adamwStep uses: `auto` (on the wasm heap on wasm, tfjs ops elsewhere), or one forced (tests). */
export type AdamWPath = 'auto' | 'ops' | InPlaceKind;

/** One AdamW update of every parameter that has a gradient (grads keyed like params). */
export function adamwStep(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, state: AdamWState, hp: AdamWHyper, path: AdamWPath = 'auto'): void {
  state.step += 1;
  const k = state.step;
  const s: AdamWScalars = { ...hp, bc1: 1 - Math.pow(hp.beta1, k), bc2: 1 - Math.pow(hp.beta2, k) };
  const inPlace = path === 'ops' ? null : inPlaceUpdates(path === 'auto' ? undefined : path);
  if (path !== 'auto' && path !== 'ops' && inPlace === null) throw new Error(`adamwStep: the in-place path "${path}" needs the wasm backend (now ${tf.getBackend()})`);
  if (inPlace) {
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (g) adamwOnHeap(p, state.m[name]!, state.v[name]!, g, s, inPlace);
    }
    return;
  }
  tf.tidy(() => {
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (!g) continue;
      const m = state.m[name]!;
      const v = state.v[name]!;
      m.assign(tf.add(tf.mul(m, hp.beta1), tf.mul(g, 1 - hp.beta1)));
      v.assign(tf.add(tf.mul(v, hp.beta2), tf.mul(tf.square(g), 1 - hp.beta2)));
      const update = tf.div(tf.div(m, s.bc1), tf.add(tf.sqrt(tf.div(v, s.bc2)), hp.eps));
      const decayed = hp.weightDecay === 0 ? p : tf.mul(p, 1 - hp.lr * hp.weightDecay);
      p.assign(tf.sub(decayed, tf.mul(update, hp.lr)));
    }
  });
}

/** Global L2 norm of a set of gradients. */
export function globalNorm(grads: Record<string, tf.Tensor>): number {
  return tf.tidy(() => Math.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
}

/** Scales gradients in place (returns new tensors, disposing the old) so their global norm is <= maxNorm. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const norm = globalNorm(grads);
  if (!(norm > maxNorm)) return { grads, norm };
  const scale = maxNorm / (norm + 1e-6);
  const out: Record<string, tf.Tensor> = {};
  for (const [k, g] of Object.entries(grads)) {
    out[k] = tf.mul(g, scale);
    g.dispose();
  }
  return { grads: out, norm };
}
