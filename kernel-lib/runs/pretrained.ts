/**
 * Pretrained weights as a model to sample from: a released PixNerd checkpoint (Lightning `.ckpt`,
 * a diffusers export folder) or a safetensors file, loaded safely (openWeights: no pickle code
 * runs) with its config read off the shapes, and class grids sampled from it by id or by name.
 *
 *   const model = await loadWeights('epoch=319-step=1600000_emainit.ckpt');   // ema_denoiser.* by default
 *   console.log(model.summary, model.imageSizeFrom);
 *   const grid = sampleWeights(model, { classes: [207, 'tench'], perClass: 4, steps: 25, sampler: 'euler', cfg: 4, interval: [0.1, 1], seed: 0 });
 *   showPng(await imageGridPng(grid.images, { cols: 4, rowLabels: grid.labels }));
 *   grid.images.dispose();
 *   disposeParams(model.params);
 *
 * The native (training) resolution is not stored in the weights: it is the given config's
 * `image_size`, else `imageSize`, else the resolution a released file's name says (`res512...`,
 * `PixNerd-XL-16-512`), else 256 (the c2i release). `imageSizeFrom` says which. Sampling at
 * another size uses the neural field's arbitrary-resolution decoding (checkDecodeSize).
 */
import type * as tf from '@tensorflow/tfjs';
import { basename } from 'node:path';
import { createConfig, MODEL_DEFAULTS, type ModelConfig } from '../config/model-config';
import { resolveModelConfig } from '../config/presets';
import { openWeights, weightsConfig, type WeightsFormat } from '../checkpoint/open-weights';
import { referenceParams } from '../checkpoint/reference-checkpoint';
import { defaultClassNames, resolveClasses, shortClassName } from '../sampling/class-names';
import { modelEvaluations } from '../sampling/sample';
import type { LoadedRun } from './load-run';
import { checkDecodeSize, sampleClasses, type SampleGridOptions } from './sample-classes';

export interface LoadWeightsOptions {
  /** State-dict prefix ('denoiser.'; '' = bare names). Default: ema_denoiser., else denoiser., else bare names. */
  prefix?: string;
  /** A model config (reference init_args plus image_size, or project fields), checked against the shapes. */
  config?: unknown;
  /** The native (training) resolution, which the weights do not store (see the file comment). */
  imageSize?: number;
}

/** Loaded pretrained weights: a LoadedRun (sampleClasses, probeField, ... take it) plus where they came from. */
export interface LoadedWeights extends LoadedRun {
  path: string;
  format: WeightsFormat;
  /** The state-dict prefix that was used. */
  prefix: string;
  /** One line: format, tensors used, what was ignored. */
  summary: string;
  /** Why the model's imageSize is what it is. */
  imageSizeFrom: string;
}

/**
 * The resolution a released file or folder's name gives: the 512 px c2i file
 * (`res512_ft200k_epoch=325-step=1800000_emainit.ckpt`) and diffusers folder (`PixNerd-XL-16-512`),
 * or any name with `res<N>` or ending in `-<N>`. Undefined when the name says nothing.
 */
export function releasedImageSize(path: string): number | undefined {
  const name = basename(path.replace(/[/\\]+$/, '')).replace(/\.(ckpt|pt|pth|safetensors)$/i, '');
  const m = /(?:^|[^a-z])res(\d{3,4})(?!\d)/i.exec(name) ?? /-(\d{3,4})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Opens model weights (any format openWeights reads), decides the config (given, shipped or read
 * off the shapes; checked against the shapes) and makes the parameters one tensor at a time.
 * The file is closed before returning. The caller disposes `params`.
 */
export async function loadWeights(path: string, opts: LoadWeightsOptions = {}): Promise<LoadedWeights> {
  if (opts.imageSize !== undefined && !(Number.isInteger(opts.imageSize) && opts.imageSize > 0)) {
    throw new RangeError(`imageSize must be a positive integer number of pixels, got ${opts.imageSize}`);
  }
  const w = await openWeights(path, { prefix: opts.prefix });
  try {
    let model: ModelConfig;
    let imageSizeFrom: string;
    const released = releasedImageSize(path);
    if (opts.config !== undefined) {
      const given = resolveModelConfig(opts.config);
      model = weightsConfig(w, opts.imageSize === undefined ? given : createConfig({ imageSize: opts.imageSize }, given));
      imageSizeFrom = opts.imageSize === undefined ? 'from the given config' : 'as given';
    } else {
      const imageSize = opts.imageSize ?? released ?? MODEL_DEFAULTS.imageSize;
      model = weightsConfig(w, undefined, { imageSize });
      imageSizeFrom =
        opts.imageSize !== undefined
          ? 'as given'
          : released !== undefined
            ? `from the file name ${basename(path)}; the weights do not store it`
            : 'the default; the weights do not store it (pass imageSize / --native-size for a model trained at another size)';
    }
    const params = referenceParams(model, w.tensors, '', path);
    const classNames = defaultClassNames(model.numClasses);
    return { model, prediction: 'v', classNames: classNames ? [...classNames] : undefined, params, path, format: w.format, prefix: w.prefix, summary: w.summary, imageSizeFrom };
  } finally {
    w.close();
  }
}

export interface SampleWeightsOptions extends Omit<SampleGridOptions, 'classes' | 'onStep'> {
  /** Class ids or names (ImageNet's for a 1,000-class model, else the run's names); default the first min(10, K) ids. */
  classes?: ReadonlyArray<number | string>;
  /** Called after every step with the step's wall time. */
  onStep?: (i: number, steps: number, stepSeconds: number) => void;
}

export interface SampledGrid {
  /** [classes * perClass, size, size, C] in [-1, 1], class-major (the caller disposes). */
  images: tf.Tensor4D;
  /** The class ids, one per grid row. */
  classes: number[];
  /** One label per row: `207 golden retriever`, or the id when the classes have no names. */
  labels: string[];
  /** Output side in pixels, and the resolution the trunk ran at (the model's native one). */
  size: number;
  trunkSize: number;
  /** Wall time of every sampling step, seconds. */
  stepSeconds: number[];
  /** Model evaluations in all (Heun: 2 per step but the last), and the batch of each (doubled by CFG). */
  evaluations: number;
  batch: number;
  /** Wall time in all, seconds. */
  seconds: number;
}

/** A row label: `207 golden retriever` (the id and the name's first synonym), or `3` when the name is the id or absent. */
export function classLabel(id: number, names?: readonly string[]): string {
  const name = names?.[id];
  if (name === undefined) return String(id);
  const short = shortClassName(name);
  return short === String(id) ? short : `${id} ${short}`;
}

/**
 * Samples a class grid from a loaded model (pretrained weights or a run): classes resolved by id
 * or name, `size` (default native) decoded through the neural field when not native, and every
 * step timed.
 */
export function sampleWeights(model: LoadedRun, o: SampleWeightsOptions): SampledGrid {
  const cfg = model.model;
  const names = defaultClassNames(cfg.numClasses, model.classNames);
  const classes = resolveClasses(o.classes ?? Array.from({ length: Math.min(10, cfg.numClasses) }, (_, i) => i), { numClasses: cfg.numClasses, names });
  const size = o.size ?? cfg.imageSize * (o.scale ?? 1);
  checkDecodeSize(cfg, size);
  const stepSeconds: number[] = [];
  const t0 = performance.now();
  let last = t0;
  const images = sampleClasses(model, {
    ...o,
    classes,
    size,
    onStep: (i, steps) => {
      const now = performance.now();
      stepSeconds.push((now - last) / 1000);
      last = now;
      o.onStep?.(i, steps, stepSeconds.at(-1)!);
    },
  });
  const n = classes.length * o.perClass;
  return {
    images,
    classes,
    labels: classes.map((c) => classLabel(c, names)),
    size,
    trunkSize: cfg.imageSize,
    stepSeconds,
    evaluations: modelEvaluations(o.sampler, o.steps),
    batch: (o.cfg ?? 1) === 1 ? n : 2 * n,
    seconds: (performance.now() - t0) / 1000,
  };
}
