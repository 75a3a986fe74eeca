/**
 * One training step's loss and gradients: flow matching (+ REPA), with gradient accumulation
 * over equal micro-batches. Every random draw is seeded by (seed, step, micro-batch).
 *
 * Legend: B batch, images NHWC [B, H, W, C] in [-1, 1], raw [B, H, W, C] in [0, 1], y int32 [B].
 */
import * as tf from '@tensorflow/tfjs';
import { derive, type ModelConfig } from '../config/model-config';
import { dropLabels, flowMatchingLoss, interpolate, sampleTimesteps, toVelocity } from '../diffusion/flow-matching';
import { pixnerdForward } from '../model/pixnerd';
import { deriveSeed } from '../util/seed';
import { scoped } from '../util/scope';
import { cosineAlignmentLoss, project, teacherTokens, type Teacher } from './repa';
import type { TrainConfig } from './train-config';
import { randomNormal } from '../util/random-normal';

/** A training batch. The caller owns (and disposes) it. */
export interface Batch {
  /** [B, H, W, C] in [-1, 1] */
  x: tf.Tensor4D;
  /** [B, H, W, C] in [0, 1] (REPA teacher input); optional without REPA */
  raw?: tf.Tensor4D;
  /** int32 [B] class labels in [0, K) */
  y: tf.Tensor1D;
}

/** Everything that is trained: model parameters and, with REPA, the projector. */
export interface Trainable {
  params: Record<string, tf.Variable>;
  proj?: Record<string, tf.Variable>;
}

export interface StepLoss {
  /** total = fm + weight * repa */
  total: number;
  fm: number;
  repa?: number;
}

/** Keys of trainable tensors: `name` for model params, `proj.name` for the projector. */
export function trainableList(tr: Trainable): [string, tf.Variable][] {
  const list: [string, tf.Variable][] = Object.entries(tr.params);
  for (const [k, v] of Object.entries(tr.proj ?? {})) list.push([`proj.${k}`, v]);
  return list;
}

/** One micro-batch with its noise, times and (dropped) labels. */
interface MicroInputs {
  x: tf.Tensor4D;
  raw?: tf.Tensor4D;
  eps: tf.Tensor4D;
  t: tf.Tensor1D;
  y: tf.Tensor1D;
}

/**
 * Noise, times and dropped labels for the whole batch, drawn once from the step's seed and then
 * split, so that gradient accumulation over micro-batches equals one big batch exactly.
 */
function drawInputs(model: ModelConfig, cfg: TrainConfig, batch: Batch, step: number): MicroInputs[] {
  const n = cfg.microBatches;
  const B = batch.x.shape[0];
  if (B % n !== 0) throw new Error(`batch of ${B} does not split into ${n} micro-batches`);
  const seed = deriveSeed(cfg.seed, `step:${step}`);
  const eps = randomNormal(batch.x.shape, deriveSeed(seed, 'eps')) as tf.Tensor4D; // = tf.randomNormal's values
  const t = sampleTimesteps(B, cfg.timeSampling, cfg.timeShift, deriveSeed(seed, 't'));
  const y = tf.tensor1d(dropLabels(batch.y.dataSync(), model.numClasses, cfg.labelDropout, deriveSeed(seed, 'labels')), 'int32');
  if (n === 1) return [{ x: batch.x, raw: batch.raw, eps, t, y }];
  const mb = B / n;
  const rows4 = (a: tf.Tensor4D, i: number) => a.slice([i * mb, 0, 0, 0], [mb, -1, -1, -1]);
  return Array.from({ length: n }, (_, i) => ({
    x: rows4(batch.x, i),
    raw: batch.raw ? rows4(batch.raw, i) : undefined,
    eps: rows4(eps, i),
    t: t.slice([i * mb], [mb]),
    y: y.slice([i * mb], [mb]),
  }));
}

/**
 * Loss and averaged gradients of a whole batch (split into cfg.microBatches equal parts; the
 * losses are means, so the average over parts equals the whole-batch loss). Gradients are
 * keyed as trainableList; the caller disposes them.
 */
export function lossAndGrads(tr: Trainable, model: ModelConfig, cfg: TrainConfig, batch: Batch, step: number, teacher?: Teacher): { loss: StepLoss; grads: Record<string, tf.Tensor> } {
  const list = trainableList(tr);
  const n = cfg.microBatches;
  const loss: StepLoss = { total: 0, fm: 0, ...(cfg.repa.enabled ? { repa: 0 } : {}) };
  const sums: Record<string, tf.Tensor> = {};
  const micro = scoped(() => drawInputs(model, cfg, batch, step));
  for (const part of micro) {
    let fmKept: tf.Scalar | undefined;
    let repaKept: tf.Scalar | undefined;
    const res = tf.tidy(() => {
      const xt = interpolate(part.x, part.eps, part.t);
      let target: tf.Tensor3D | undefined;
      if (cfg.repa.enabled) {
        if (!teacher) throw new Error('REPA is enabled but no teacher was given');
        if (!part.raw) throw new Error('REPA needs batch.raw (clean images in [0, 1])');
        const { gridH, gridW } = derive(model, part.x.shape[1], part.x.shape[2]);
        target = teacherTokens(teacher, part.raw, gridH, gridW); // [B, L, E]
      }
      return tf.variableGrads(() => {
        const hiddenLayers = target ? [cfg.repa.alignLayer - 1] : [];
        const out = pixnerdForward(tr.params, model, xt, part.t, part.y, { hiddenLayers });
        const fm = flowMatchingLoss(toVelocity(out.v, xt, part.t, cfg.prediction), part.x, part.eps);
        fmKept = tf.keep(fm);
        if (!target) return fm;
        const repa = cosineAlignmentLoss(project(tr.proj!, out.hidden[0]!), target);
        repaKept = tf.keep(repa);
        return tf.add(fm, tf.mul(repa, cfg.repa.weight)) as tf.Scalar;
      }, list.map(([, v]) => v));
    });
    loss.total += res.value.dataSync()[0]! / n;
    loss.fm += fmKept!.dataSync()[0]! / n;
    if (repaKept) loss.repa! += repaKept.dataSync()[0]! / n;
    tf.dispose([res.value, fmKept!, ...(repaKept ? [repaKept] : [])]);
    for (const [k, v] of list) {
      const g = res.grads[v.name];
      if (!g) continue;
      if (sums[k]) {
        const s2 = tf.add(sums[k]!, g);
        tf.dispose([sums[k]!, g]);
        sums[k] = s2;
      } else sums[k] = g;
    }
  }
  // Dispose the drawn inputs (not the caller's batch tensors, which n = 1 passes through).
  for (const part of micro) tf.dispose([part.eps, part.t, part.y, ...(n > 1 ? [part.x, ...(part.raw ? [part.raw] : [])] : [])]);
  if (n > 1) {
    for (const k of Object.keys(sums)) {
      const avg = tf.div(sums[k]!, n);
      sums[k]!.dispose();
      sums[k] = avg;
    }
  }
  return { loss, grads: sums };
}
