/**
 * A small convolutional classifier for 32x32 grey images (MNIST, Fashion-MNIST padded 28 -> 32 as
 * the diffusion models see them). It gives three things to the rest of the project:
 *
 *   predict(x)          logits [B, K]                         class accuracy of conditional samples
 *   features(x)         penultimate activations [B, F]        FID / KID / precision-recall
 *   spatialFeatures(raw) conv feature grid [B, 8, 8, E]       a REPA teacher (`teacher`)
 *
 * Architecture (all convolutions 3x3, padding 1, ReLU; trainable on wasm through the host im2col
 * of im2col.ts, no conv filter gradient needed):
 *
 *   raw [B, 32, 32, 1] in [0, 1]   (x in [-1, 1] is mapped to raw = (x + 1) / 2; zero padding = background)
 *   conv1  s1   1 -> 32     [B, 32, 32, 32]
 *   conv2  s2  32 -> 64     [B, 16, 16, 64]
 *   conv3  s2  64 -> 128    [B, 8, 8, 128]     <- spatialFeatures (E = 128, 8x8 token grid)
 *   conv4  s2 128 -> 64     [B, 4, 4, 64]
 *   flatten                 [B, 1024]          (dropout while training, rate set per dataset)
 *   fc1 + ReLU              [B, 128]           <- features (F = 128)
 *   fc2                     [B, 10]            logits
 *
 * 298,954 parameters (1.2 MB as float32). Weights are a safetensors file with these names:
 * `conv{1..4}.weight` [9*Cin, Cout] (HWIO filter flattened to rows (ky, kx, cin)), `conv{i}.bias`
 * [Cout], `fc{1,2}.weight` [in, out], `fc{1,2}.bias` [out]; metadata records the dataset, the
 * training run and the measured test accuracy.
 *
 * Legend: B batch, K classes, F feature width, E teacher width. Layout NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import type { Teacher } from '../training/repa';
import { CheckpointError, ConfigError, ShapeError } from '../util/errors';
import { deriveSeed } from '../util/seed';
import { conv3x3, convOutSize } from './im2col';

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/** The datasets that have a shipped classifier. */
export type ClassifierDataset = 'mnist' | 'fashion-mnist';
export const CLASSIFIER_DATASETS: readonly ClassifierDataset[] = ['mnist', 'fashion-mnist'];

export interface SmallCnnConfig {
  /** Input size (square); 28x28 inputs are padded to it with the raw background 0. */
  inputSize: number;
  /** Input channels. */
  channels: number;
  /** K. */
  numClasses: number;
  /** The convolutions, in order: output channels and stride (1 or 2). */
  convs: ReadonlyArray<{ channels: number; stride: 1 | 2 }>;
  /** 0-based index of the convolution whose output is the REPA teacher grid. */
  teacherConv: number;
  /** F: width of fc1, the feature layer. */
  hidden: number;
}

/** The shipped architecture (see the file comment). */
export const SMALL_CNN: SmallCnnConfig = {
  inputSize: 32,
  channels: 1,
  numClasses: 10,
  convs: [
    { channels: 32, stride: 1 },
    { channels: 64, stride: 2 },
    { channels: 128, stride: 2 },
    { channels: 64, stride: 2 },
  ],
  teacherConv: 2,
  hidden: 128,
};

/** Where the shipped weights live, relative to the project root (the working directory). */
export const CLASSIFIER_WEIGHTS_DIR = 'kernel-lib/classifier/weights';

/** The shipped weight file of a dataset, relative to the working directory. */
export function classifierWeightsPath(dataset: ClassifierDataset): string {
  return join(CLASSIFIER_WEIGHTS_DIR, `${dataset}.safetensors`);
}

/** Spatial sizes after each convolution: [[h, w], ...]. */
function gridSizes(cfg: SmallCnnConfig): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let h = cfg.inputSize;
  for (const c of cfg.convs) {
    h = convOutSize(h, c.stride);
    out.push([h, h]);
  }
  return out;
}

/** Derived sizes: the teacher grid [th, tw, E] and the flattened width before fc1. */
export function deriveCnn(cfg: SmallCnnConfig): { teacherGrid: [number, number, number]; flat: number } {
  const sizes = gridSizes(cfg);
  const t = sizes[cfg.teacherConv];
  if (!t) throw new ConfigError('teacherConv', cfg.teacherConv, `must index one of the ${cfg.convs.length} convolutions`);
  const [h, w] = sizes[sizes.length - 1]!;
  return { teacherGrid: [t[0], t[1], cfg.convs[cfg.teacherConv]!.channels], flat: h * w * cfg.convs[cfg.convs.length - 1]!.channels };
}

// ---------------------------------------------------------------------------------------------
// Parameters and initialisation
// ---------------------------------------------------------------------------------------------

export interface CnnParamSpec {
  name: string;
  shape: number[];
  /** std of the normal init; 0 = zeros. */
  std: number;
}

/** Every parameter, in file order. */
export function cnnParamSpecs(cfg: SmallCnnConfig): CnnParamSpec[] {
  const specs: CnnParamSpec[] = [];
  let cin = cfg.channels;
  cfg.convs.forEach((c, i) => {
    // He (Kaiming) normal init for layers followed by ReLU; zero biases.
    specs.push({ name: `conv${i + 1}.weight`, shape: [9 * cin, c.channels], std: Math.sqrt(2 / (9 * cin)) });
    specs.push({ name: `conv${i + 1}.bias`, shape: [c.channels], std: 0 });
    cin = c.channels;
  });
  const { flat } = deriveCnn(cfg);
  specs.push({ name: 'fc1.weight', shape: [flat, cfg.hidden], std: Math.sqrt(2 / flat) });
  specs.push({ name: 'fc1.bias', shape: [cfg.hidden], std: 0 });
  // The logit layer has no ReLU after it: LeCun normal (variance 1 / fan_in).
  specs.push({ name: 'fc2.weight', shape: [cfg.hidden, cfg.numClasses], std: Math.sqrt(1 / cfg.hidden) });
  specs.push({ name: 'fc2.bias', shape: [cfg.numClasses], std: 0 });
  return specs;
}

/** Number of parameters. */
export function cnnParameterCount(cfg: SmallCnnConfig): number {
  return cnnParamSpecs(cfg).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** Fresh, seeded parameters (one derived seed per tensor name). */
export function initCnnParams(cfg: SmallCnnConfig, seed: number): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const s of cnnParamSpecs(cfg)) {
    const t = s.std === 0 ? tf.zeros(s.shape) : tf.randomNormal(s.shape, 0, s.std, 'float32', deriveSeed(seed, s.name));
    out[s.name] = tf.variable(t, true);
    t.dispose();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Forward pass
// ---------------------------------------------------------------------------------------------

/**
 * Brings images to the network input: raw [B, S, S, C] in [0, 1], S = cfg.inputSize.
 * `from: 'model'` maps x in [-1, 1] to (x + 1) / 2; 28x28 images (unpadded MNIST) are centred on
 * an S x S background of 0, as data-loaders' `fitImageSize(..., {kind: 'pad'})` does.
 */
export function toNetInput(x: tf.Tensor4D, cfg: SmallCnnConfig, from: 'model' | 'raw'): tf.Tensor4D {
  const [, H, W, C] = x.shape;
  const S = cfg.inputSize;
  if (C !== cfg.channels || H !== W || !(H === S || H === 28)) {
    throw new ShapeError(`small-cnn input: expected [B, ${S}, ${S}, ${cfg.channels}] or [B, 28, 28, ${cfg.channels}], got [${x.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const raw = from === 'model' ? tf.div(tf.add(x, 1), 2) : x;
    if (H === S) return raw as tf.Tensor4D;
    const p = (S - H) / 2;
    return tf.pad(raw, [[0, 0], [Math.floor(p), Math.ceil(p)], [Math.floor(p), Math.ceil(p)], [0, 0]]) as tf.Tensor4D;
  });
}

export interface CnnOutputs {
  /** [B, K] */
  logits: tf.Tensor2D;
  /** [B, F] post-ReLU fc1 activations. */
  features: tf.Tensor2D;
  /** [B, th, tw, E] post-ReLU output of conv `teacherConv`. */
  grid: tf.Tensor4D;
}

/**
 * The network on raw images [B, S, S, C] in [0, 1]. `dropout` turns on training-time dropout of
 * the flattened conv features (seeded; pass a new seed every step).
 */
export function cnnForward(params: Record<string, tf.Tensor>, cfg: SmallCnnConfig, raw: tf.Tensor4D, dropout?: { rate: number; seed: number }): CnnOutputs {
  const S = cfg.inputSize;
  if (raw.shape[1] !== S || raw.shape[2] !== S || raw.shape[3] !== cfg.channels) {
    throw new ShapeError(`cnnForward: expected raw [B, ${S}, ${S}, ${cfg.channels}], got [${raw.shape.join(', ')}]`);
  }
  const p = (name: string): tf.Tensor => {
    const t = params[name];
    if (!t) throw new CheckpointError(`small-cnn: parameter "${name}" is missing`);
    return t;
  };
  return tf.tidy(() => {
    const B = raw.shape[0];
    let h: tf.Tensor4D = raw;
    let grid: tf.Tensor4D | null = null;
    cfg.convs.forEach((c, i) => {
      h = tf.relu(conv3x3(h, p(`conv${i + 1}.weight`), p(`conv${i + 1}.bias`), c.stride)); // [B, h_i, w_i, C_i]
      if (i === cfg.teacherConv) grid = h;
    });
    let flat: tf.Tensor2D = h.reshape([B, -1]); // [B, flat]
    if (dropout && dropout.rate > 0) flat = tf.dropout(flat, dropout.rate, undefined, dropout.seed) as tf.Tensor2D;
    const features = tf.relu(tf.add(tf.matMul(flat, p('fc1.weight')), p('fc1.bias'))) as tf.Tensor2D; // [B, F]
    const logits = tf.add(tf.matMul(features, p('fc2.weight')), p('fc2.bias')) as tf.Tensor2D; // [B, K]
    return { logits, features, grid: grid! };
  });
}

/**
 * The REPA teacher grid alone: raw [B, S, S, C] in [0, 1] -> [B, th, tw, E], the convolutions up to
 * `teacherConv` and nothing after (cnnForward's `grid`, same values, without the layers above it).
 */
export function cnnGrid(params: Record<string, tf.Tensor>, cfg: SmallCnnConfig, raw: tf.Tensor4D): tf.Tensor4D {
  const S = cfg.inputSize;
  if (raw.shape[1] !== S || raw.shape[2] !== S || raw.shape[3] !== cfg.channels) {
    throw new ShapeError(`cnnGrid: expected raw [B, ${S}, ${S}, ${cfg.channels}], got [${raw.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    let h: tf.Tensor4D = raw;
    for (let i = 0; i <= cfg.teacherConv; i++) {
      const w = params[`conv${i + 1}.weight`], b = params[`conv${i + 1}.bias`];
      if (!w || !b) throw new CheckpointError(`small-cnn: parameter "conv${i + 1}.${w ? 'bias' : 'weight'}" is missing`);
      h = tf.relu(conv3x3(h, w, b, cfg.convs[i]!.stride));
    }
    return h;
  });
}

// ---------------------------------------------------------------------------------------------
// The classifier object
// ---------------------------------------------------------------------------------------------

/** A trained small CNN with the interfaces the metrics and REPA use. */
export interface SmallCnnClassifier {
  /** e.g. `small-cnn/mnist`. */
  readonly name: string;
  readonly config: SmallCnnConfig;
  readonly params: Record<string, tf.Variable>;
  /** F: width of `features`. */
  readonly dim: number;
  readonly numClasses: number;
  /** Images per call in batched feature extraction (250). */
  readonly batchSize: number;
  /** Metadata of the weight file (dataset, accuracy, steps, ...); {} for fresh weights. */
  readonly metadata: Record<string, string>;
  /** x [B, 32, 32, C] (or 28x28) in [-1, 1] -> logits [B, K] */
  predict(x: tf.Tensor4D): tf.Tensor2D;
  /** x [B, 32, 32, C] (or 28x28) in [-1, 1] -> penultimate features [B, F] */
  features(x: tf.Tensor4D): tf.Tensor2D;
  /** Features [B, F] and logits [B, K] from one forward pass. */
  featuresAndLogits(x: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D };
  /** raw [B, 32, 32, C] (or 28x28) in [0, 1] -> conv grid [B, 8, 8, E] */
  spatialFeatures(raw: tf.Tensor4D): tf.Tensor4D;
  /** The REPA teacher view: `teacher.features(raw)` = spatialFeatures(raw), dim E. */
  readonly teacher: Teacher;
  dispose(): void;
}

/** Wraps parameters as a classifier (takes ownership of `params`). */
export function smallCnnClassifier(params: Record<string, tf.Variable>, cfg: SmallCnnConfig = SMALL_CNN, name = 'small-cnn', metadata: Record<string, string> = {}): SmallCnnClassifier {
  const { teacherGrid } = deriveCnn(cfg);
  const run = (x: tf.Tensor4D, from: 'model' | 'raw') => cnnForward(params, cfg, toNetInput(x, cfg, from));
  // the grid needs only the convolutions up to teacherConv (the REPA teacher runs it every step)
  const spatialFeatures = (raw: tf.Tensor4D) => tf.tidy(() => cnnGrid(params, cfg, toNetInput(raw, cfg, 'raw')));
  return {
    name,
    config: cfg,
    params,
    dim: cfg.hidden,
    numClasses: cfg.numClasses,
    batchSize: 250,
    metadata,
    predict: (x) => tf.tidy(() => run(x, 'model').logits),
    features: (x) => tf.tidy(() => run(x, 'model').features),
    featuresAndLogits: (x) =>
      tf.tidy(() => {
        const { features, logits } = run(x, 'model');
        return { features, logits };
      }),
    spatialFeatures,
    teacher: { name: `${name}/conv${cfg.teacherConv + 1}`, dim: teacherGrid[2], features: spatialFeatures },
    dispose: () => tf.dispose(Object.values(params)),
  };
}

// ---------------------------------------------------------------------------------------------
// Weight files
// ---------------------------------------------------------------------------------------------

/** Writes the parameters and metadata as safetensors (atomically). */
export function saveCnnWeights(path: string, params: Record<string, tf.Tensor>, cfg: SmallCnnConfig, metadata: Record<string, string>): void {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const s of cnnParamSpecs(cfg)) {
    const t = params[s.name];
    if (!t) throw new CheckpointError(`saveCnnWeights: parameter "${s.name}" is missing`);
    tensors.set(s.name, { shape: t.shape, data: t.dataSync() as Float32Array });
  }
  writeSafetensors(path, tensors, { format: 'pixnerd-small-cnn', architecture: JSON.stringify(cfg), ...metadata });
}

/**
 * Loads a classifier from a safetensors file, or the shipped weights of a dataset. Every missing,
 * unexpected or mis-shaped tensor is listed in one CheckpointError; an unreadable or truncated file
 * is a CheckpointError that says so.
 */
export function loadSmallCnn(pathOrDataset: string): SmallCnnClassifier {
  const path = (CLASSIFIER_DATASETS as readonly string[]).includes(pathOrDataset) ? classifierWeightsPath(pathOrDataset as ClassifierDataset) : pathOrDataset;
  const file = readSafetensors(path);
  const cfg = SMALL_CNN;
  if (file.metadata.architecture !== undefined && file.metadata.architecture !== JSON.stringify(cfg)) {
    throw new CheckpointError(`${path}: architecture ${file.metadata.architecture} differs from this code's SMALL_CNN ${JSON.stringify(cfg)}`);
  }
  const problems: string[] = [];
  const specs = cnnParamSpecs(cfg);
  for (const s of specs) {
    const t = file.tensors.get(s.name);
    if (!t) problems.push(`missing "${s.name}" [${s.shape.join(', ')}]`);
    else if (t.shape.join() !== s.shape.join()) problems.push(`"${s.name}" is [${t.shape.join(', ')}], expected [${s.shape.join(', ')}]`);
  }
  const known = new Set(specs.map((s) => s.name));
  for (const name of file.tensors.keys()) if (!known.has(name)) problems.push(`unexpected "${name}"`);
  if (problems.length) throw new CheckpointError(`${path}: not small-cnn weights: ${problems.join('; ')}`);
  const params: Record<string, tf.Variable> = {};
  for (const s of specs) {
    const t = file.tensors.get(s.name)!;
    params[s.name] = tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(t.data), t.shape, 'float32'), false));
  }
  const dataset = file.metadata.dataset ?? 'unknown';
  return smallCnnClassifier(params, cfg, `small-cnn/${dataset}`, file.metadata);
}
