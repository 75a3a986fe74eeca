/**
 * Class-conditional sampling from a loaded run: `perClass` images of each class, with any
 * sampler, CFG on an interval, and optional decoding at another resolution than the training one
 * (`scale` x it, or `size` pixels a side: the neural field's arbitrary-resolution decoding, the
 * trunk always seeing its training token grid).
 *
 * Example:
 *   const run = loadRun('runs/mnist-tiny');
 *   const x = sampleClasses(run, { classes: [0, 1, 2], perClass: 8, steps: 20, sampler: 'euler', cfg: 2, interval: [0.1, 1], seed: 0 });
 *   // x: [24, 32, 32, 1] in [-1, 1]
 *   x.dispose();
 */
import * as tf from '@tensorflow/tfjs';
import { modelVelocity, sample, type FinalAverageSpec, type SamplerKind } from '../sampling/sample';
import type { ModelConfig } from '../config/model-config';
import type { LoadedRun } from './load-run';
import { resolvePrecision, type MatmulPrecision } from '../backend/precision';
import { tfSeed } from '../util/seed';
import { randomNormal } from '../util/random-normal';

/**
 * Checks that `size` is a resolution the model can decode: its training size, or (neural-field
 * head) any multiple of its token grid side imageSize / patchSize, each token's field then
 * drawing size / grid pixels a side. Throws an Error that says which sizes work.
 */
export function checkDecodeSize(model: ModelConfig, size: number): void {
  const native = model.imageSize;
  if (size === native) return;
  const grid = native / model.patchSize;
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`size must be a positive integer number of pixels, got ${size}`);
  if (model.head.kind !== 'nerf') {
    throw new Error(`size ${size} px differs from the model's native ${native} px, and decoding at another resolution needs the neural-field head (this model has the ${model.head.kind} head)`);
  }
  if (size % grid !== 0) {
    throw new RangeError(`size ${size} px: the neural field decodes the ${grid} x ${grid} token grid of the native ${native} px model, so the size must be a multiple of ${grid} (e.g. ${native}, ${2 * native})`);
  }
}

export interface SampleGridOptions {
  classes: number[];
  perClass: number;
  steps: number;
  sampler: SamplerKind;
  order?: number;
  cfg: number;
  interval: [number, number];
  shift?: number;
  /**
   * The time grid's last jump (default 1 / steps: an even grid): linspace(0, 1 - lastStep, steps)
   * then 1, so the last step lands on the model's clean estimate at t = 1 - lastStep.
   */
  lastStep?: number;
  /** End with the mean clean estimate over `draws` re-noisings at time `t` (sampling/sample.ts FinalAverage; its noise seeded from `seed`). */
  finalAverage?: FinalAverageSpec;
  seed: number;
  /** Decode at scale x the training resolution (nerf head). */
  scale?: number;
  /** Decode at size x size pixels (nerf head when not the training size; overrides scale). */
  size?: number;
  /** Called after every sampling step. */
  onStep?: (i: number, steps: number) => void;
  /** The forward's matMul precision (default PIXNERD_PRECISION, else fp32; see kernel-lib/backend/precision.ts). */
  precision?: MatmulPrecision;
}

/** Samples perClass images for each class: [classes * perClass, H, W, C] in [-1, 1] (caller disposes). */
export function sampleClasses(run: LoadedRun, o: SampleGridOptions): tf.Tensor4D {
  const { model } = run;
  const bad = o.classes.filter((c) => !(Number.isInteger(c) && c >= 0 && c < model.numClasses));
  if (bad.length) throw new RangeError(`class${bad.length > 1 ? 'es' : ''} ${bad.join(', ')} out of range: this model has ${model.numClasses} classes, ids 0..${model.numClasses - 1}`);
  if (!(Number.isInteger(o.perClass) && o.perClass >= 1)) throw new RangeError(`perClass must be an integer >= 1, got ${o.perClass}`);
  const n = o.classes.length * o.perClass;
  if (o.scale !== undefined && !(Number.isInteger(o.scale) && o.scale >= 1)) throw new RangeError(`scale must be an integer >= 1, got ${o.scale}`);
  const size = o.size ?? model.imageSize * (o.scale ?? 1);
  checkDecodeSize(model, size);
  const noise = randomNormal([n, size, size, model.inChannels], tfSeed(o.seed)) as tf.Tensor4D;
  const y = tf.tensor1d(o.classes.flatMap((c) => Array(o.perClass).fill(c)), 'int32');
  const velocity = modelVelocity(run.params, model, run.prediction, size === model.imageSize ? undefined : model.imageSize, resolvePrecision(o.precision));
  try {
    return sample(velocity, noise, y, { sampler: o.sampler, steps: o.steps, order: o.order, cfg: o.cfg, interval: o.interval, shift: o.shift, lastStep: o.lastStep, finalAverage: o.finalAverage ? { ...o.finalAverage, seed: o.seed } : undefined, nullLabel: model.numClasses, onStep: o.onStep }).x;
  } finally {
    tf.dispose([noise, y]);
  }
}
