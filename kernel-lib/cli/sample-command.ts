/**
 * `pixnerd sample --run runs/<name> --classes 0,1,2 --per-class 8 --steps 50 --sampler euler
 *  --cfg 3.5 [--interval 0.1,1] [--order 2] [--shift 1] [--seed 0] [--weights ema|model]
 *  [--scale 1] --out figures/<name>.png`
 *
 * Samples from a run's checkpoint (EMA weights by default) and writes a labelled PNG grid, one row
 * per class. `--scale 2` decodes at twice the training resolution with the neural field.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend-ladder';
import { resolveModelConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { CHECKPOINT_PREFIX, assignParams, fromReferenceTensors } from '../checkpoint/reference-checkpoint';
import { readSafetensors } from '../checkpoint/safetensors';
import { initParams, disposeParams } from '../model/params';
import { CHECKPOINT_FILE, readRunConfig } from '../training/run-dir';
import { modelVelocity, sample, SAMPLER_KINDS, type SamplerKind } from '../sampling/sample';
import type { PredictionTarget } from '../diffusion/flow-matching';
import { imageGridPng } from '../viz/image-grid';
import { progress } from '../viz/progress';

export interface LoadedRun {
  model: ModelConfig;
  prediction: PredictionTarget;
  classNames?: string[];
  params: Record<string, tf.Variable>;
}

/** A run's model with its EMA (default) or live weights. */
export function loadRun(runDir: string, weights: 'ema' | 'model' = 'ema'): LoadedRun {
  const cfg = readRunConfig(runDir) as { model: unknown; train?: { prediction?: PredictionTarget }; dataset?: { classNames?: string[] } };
  const model = resolveModelConfig(cfg.model);
  const params = initParams(model, 0);
  const path = join(runDir, CHECKPOINT_FILE);
  assignParams(params, fromReferenceTensors(model, readSafetensors(path).tensors, weights === 'ema' ? CHECKPOINT_PREFIX.ema : CHECKPOINT_PREFIX.model, path));
  return { model, prediction: cfg.train?.prediction ?? 'v', classNames: cfg.dataset?.classNames, params };
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
  seed: number;
  /** Decode at scale x the training resolution (nerf head). */
  scale?: number;
  /** Called after every sampling step. */
  onStep?: (i: number, steps: number) => void;
}

/** Samples perClass images for each class: [classes * perClass, H, W, C] in [-1, 1] (caller disposes). */
export function sampleClasses(run: LoadedRun, o: SampleGridOptions): tf.Tensor4D {
  const { model } = run;
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

const list = (s: string) => s.split(',').map((v) => Number(v.trim()));

export async function sampleCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      run: { type: 'string' }, classes: { type: 'string', default: '0,1,2,3,4,5,6,7,8,9' }, 'per-class': { type: 'string', default: '8' },
      steps: { type: 'string', default: '50' }, sampler: { type: 'string', default: 'euler' }, order: { type: 'string', default: '2' },
      cfg: { type: 'string', default: '1' }, interval: { type: 'string', default: '0.1,1' }, shift: { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' }, weights: { type: 'string', default: 'ema' }, scale: { type: 'string', default: '1' }, out: { type: 'string' },
    },
  });
  if (!values.run || !values.out) throw new Error('sample needs --run DIR and --out FILE.png');
  if (!SAMPLER_KINDS.includes(values.sampler as SamplerKind)) throw new Error(`--sampler must be one of ${SAMPLER_KINDS.join(', ')}`);
  if (values.weights !== 'ema' && values.weights !== 'model') throw new Error('--weights must be ema or model');
  await initBackend();
  const run = loadRun(values.run, values.weights);
  const classes = list(values.classes!);
  const bad = classes.filter((c) => !(Number.isInteger(c) && c >= 0 && c < run.model.numClasses));
  if (bad.length) throw new Error(`--classes: ${bad.join(', ')} outside 0..${run.model.numClasses - 1}`);
  const interval = list(values.interval!) as [number, number];
  const perClass = Number(values['per-class']);
  const t0 = performance.now();
  const bar = progress({ total: Number(values.steps), label: `sample ${classes.length * perClass} images` });
  const x = sampleClasses(run, {
    onStep: (i) => bar.update(i),
    classes, perClass, steps: Number(values.steps), sampler: values.sampler as SamplerKind, order: Number(values.order),
    cfg: Number(values.cfg), interval, shift: Number(values.shift), seed: Number(values.seed), scale: Number(values.scale),
  });
  bar.done();
  const png = await imageGridPng(x, { cols: perClass, rowLabels: classes.map((c) => run.classNames?.[c] ?? String(c)), scale: Math.max(1, Math.round(96 / x.shape[1])) });
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, png);
  console.log(`sampled ${x.shape[0]} images (${values.sampler}, ${values.steps} steps, cfg ${values.cfg}) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${values.out}`);
  x.dispose();
  disposeParams(run.params);
}
