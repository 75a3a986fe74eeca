/**
 * Class-conditional sampling from a loaded run: `perClass` images of each class, with any
 * sampler, CFG on an interval, and optional decoding at `scale` x the training resolution (the
 * neural field's arbitrary-resolution decoding).
 *
 * Example:
 *   const run = loadRun('runs/mnist-tiny');
 *   const x = sampleClasses(run, { classes: [0, 1, 2], perClass: 8, steps: 20, sampler: 'euler', cfg: 2, interval: [0.1, 1], seed: 0 });
 *   // x: [24, 32, 32, 1] in [-1, 1]
 *   x.dispose();
 */
import * as tf from '@tensorflow/tfjs';
import { modelVelocity, sample, type SamplerKind } from '../sampling/sample';
import type { LoadedRun } from './load-run';

export interface SampleGridOptions {
  classes: number[];
  perClass: number;
  steps: number;
  sampler: SamplerKind;
  order?: number;
  cfg: number;
  interval: [number, number];
  shift?: number;
  seed: number;
  /** Decode at scale x the training resolution (nerf head). */
  scale?: number;
  /** Called after every sampling step. */
  onStep?: (i: number, steps: number) => void;
}

/** Samples perClass images for each class: [classes * perClass, H, W, C] in [-1, 1] (caller disposes). */
export function sampleClasses(run: LoadedRun, o: SampleGridOptions): tf.Tensor4D {
  const { model } = run;
  const bad = o.classes.filter((c) => !(Number.isInteger(c) && c >= 0 && c < model.numClasses));
  if (bad.length) throw new RangeError(`classes ${bad.join(', ')} outside 0..${model.numClasses - 1}`);
  const n = o.classes.length * o.perClass;
  const scale = o.scale ?? 1;
  const size = model.imageSize * scale;
  const noise = tf.randomNormal([n, size, size, model.inChannels], 0, 1, 'float32', o.seed) as tf.Tensor4D;
  const y = tf.tensor1d(o.classes.flatMap((c) => Array(o.perClass).fill(c)), 'int32');
  const velocity = modelVelocity(run.params, model, run.prediction, scale === 1 ? undefined : model.imageSize);
  const { x } = sample(velocity, noise, y, { sampler: o.sampler, steps: o.steps, order: o.order, cfg: o.cfg, interval: o.interval, shift: o.shift, nullLabel: model.numClasses, onStep: o.onStep });
  tf.dispose([noise, y]);
  return x;
}
