/**
 * Training and testing the small CNN (small-cnn.ts) on MNIST or Fashion-MNIST.
 *
 * One flat loop: lr (linear warm-up, cosine decay) -> host batch (seeded order, seeded random
 * translation, seeded horizontal flip for Fashion-MNIST) -> cross-entropy gradients ->
 * AdamW (training/adamw.ts) -> log every `logEvery` steps. Everything random is a function of
 * (seed, step), so a run is reproducible given the backend.
 *
 * Legend: B batch, S = 32 input size, K classes. Images are raw [B, S, S, 1] in [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { epochOrder, positionOf, stepsPerEpoch } from '../../data-loaders/data-loader';
import { fitImageSize, type Dataset } from '../../data-loaders/dataset';
import { fashionMnist } from '../../data-loaders/fashion-mnist';
import { mnist } from '../../data-loaders/mnist';
import { adamwStep, initAdamW } from '../training/adamw';
import { classAccuracy, type ClassAccuracy } from '../metrics/class-accuracy';
import { ConfigError } from '../util/errors';
import { deriveSeed, mulberry32 } from '../util/seed';
import { cnnForward, initCnnParams, SMALL_CNN, toNetInput, type ClassifierDataset, type SmallCnnClassifier, type SmallCnnConfig } from './small-cnn';

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

export interface ClassifierTrainOptions {
  dataset: ClassifierDataset;
  steps: number;
  batchSize: number;
  /** Peak learning rate (after warm-up). */
  lr: number;
  /** Linear warm-up steps, then cosine decay to `lr * finalLrFraction` at the last step. */
  warmupSteps: number;
  finalLrFraction: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Random translation by up to this many pixels in x and y (zero fill). */
  maxShift: number;
  /** Random horizontal flips (clothes are roughly mirror-symmetric; digits are not). */
  hflip: boolean;
  /** Dropout rate on the flattened conv features (0 = none). */
  dropout: number;
  seed: number;
  /** Log every this many steps. */
  logEvery: number;
}

/**
 * Per-dataset defaults, sized so that each run takes ~10 minutes on 2 shared cores (wasm, ~0.2 s
 * per step when the machine is otherwise idle, up to ~0.5 s when it is not):
 * MNIST 9,000 train images x ~10.7 epochs, with shifts of up to 2 px and dropout against
 * overfitting; Fashion-MNIST 60,000 x ~2.7 epochs, where the net underfits, so 1 px shifts and
 * no dropout.
 */
export const CLASSIFIER_TRAIN_DEFAULTS: Record<ClassifierDataset, ClassifierTrainOptions> = {
  mnist: { dataset: 'mnist', steps: 1500, batchSize: 64, lr: 2e-3, warmupSteps: 100, finalLrFraction: 0.02, weightDecay: 1e-4, maxShift: 2, hflip: false, dropout: 0.25, seed: 0, logEvery: 50 },
  'fashion-mnist': { dataset: 'fashion-mnist', steps: 2500, batchSize: 64, lr: 2e-3, warmupSteps: 100, finalLrFraction: 0.02, weightDecay: 1e-4, maxShift: 1, hflip: false, dropout: 0, seed: 0, logEvery: 50 },
};

/** One log line's numbers. */
export interface ClassifierLogRecord {
  step: number;
  /** Mean training loss and accuracy over the steps since the last log. */
  loss: number;
  trainAccuracy: number;
  lr: number;
  msPerStep: number;
  /** Seconds left at the current speed. */
  etaSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// Data on the host
// ---------------------------------------------------------------------------------------------

/** A whole split in memory: images [N, S, S, C] in [0, 1] and labels [N]. */
export interface HostImages {
  name: string;
  images: Float32Array;
  labels: Int32Array;
  n: number;
  size: number;
  channels: number;
}

/** The train or test split of a classifier dataset (MNIST: the seeded 9,000 / 1,000 split, seed 0). */
export function classifierSplit(dataset: ClassifierDataset, split: 'train' | 'test'): Dataset {
  switch (dataset) {
    case 'mnist':
      return mnist({ split });
    case 'fashion-mnist':
      return fashionMnist({ split });
    default: {
      const never: never = dataset;
      throw new ConfigError('dataset', never, 'must be mnist or fashion-mnist');
    }
  }
}

/** Reads `limit` (default all) examples of `ds`, padded to S x S, into host memory. */
export async function loadHostImages(ds: Dataset, size: number, limit = ds.size): Promise<HostImages> {
  const fitted = ds.imageSize[0] === size && ds.imageSize[1] === size ? ds : fitImageSize(ds, [size, size], { kind: 'pad' });
  const n = Math.min(limit, ds.size);
  const px = size * size * ds.channels;
  const images = new Float32Array(n * px);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = await fitted.get(i);
    images.set(s.image, i * px);
    labels[i] = s.label;
  }
  return { name: ds.name, images, labels, n, size, channels: ds.channels };
}

/**
 * A training batch: examples `indices`, each translated by (dy, dx) in [-maxShift, maxShift]
 * (zero fill) and, with `hflip`, mirrored with probability 1/2. Draws come from `rand`.
 * -> raw [B, S, S, C] as a host array, labels [B]
 */
export function augmentedBatch(data: HostImages, indices: ArrayLike<number>, maxShift: number, hflip: boolean, rand: () => number): { raw: Float32Array; labels: Int32Array } {
  const { size: S, channels: C } = data;
  const px = S * S * C;
  const B = indices.length;
  const raw = new Float32Array(B * px);
  const labels = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const i = indices[b]!;
    labels[b] = data.labels[i]!;
    const dy = Math.floor(rand() * (2 * maxShift + 1)) - maxShift;
    const dx = Math.floor(rand() * (2 * maxShift + 1)) - maxShift;
    const flip = hflip && rand() < 0.5;
    const src = i * px;
    const dst = b * px;
    for (let y = 0; y < S; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= S) continue;
      for (let x = 0; x < S; x++) {
        const sx0 = x - dx;
        if (sx0 < 0 || sx0 >= S) continue;
        const sx = flip ? S - 1 - sx0 : sx0;
        for (let c = 0; c < C; c++) raw[dst + (y * S + x) * C + c] = data.images[src + (sy * S + sx) * C + c]!;
      }
    }
  }
  return { raw, labels };
}

// ---------------------------------------------------------------------------------------------
// Schedule and loss
// ---------------------------------------------------------------------------------------------

/** Learning rate at 0-based `step`: linear warm-up, then cosine from lr to lr * finalLrFraction. */
export function classifierLrAt(step: number, o: Pick<ClassifierTrainOptions, 'lr' | 'warmupSteps' | 'finalLrFraction' | 'steps'>): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const span = Math.max(1, o.steps - 1 - o.warmupSteps);
  const t = Math.min(1, (step - o.warmupSteps) / span);
  const lo = o.lr * o.finalLrFraction;
  return lo + 0.5 * (o.lr - lo) * (1 + Math.cos(Math.PI * t));
}

/** Mean softmax cross-entropy.  logits [B, K], labels int32 [B] -> scalar */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const K = logits.shape[1];
    const onehot = tf.oneHot(labels, K).toFloat(); // [B, K]
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
  });
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

export interface TrainedCnn {
  params: Record<string, tf.Variable>;
  config: SmallCnnConfig;
  options: ClassifierTrainOptions;
  seconds: number;
  /** Training loss averaged over the last log interval. */
  finalLoss: number;
}

/** Trains a fresh small CNN on `train` (host images, padded to the input size). */
export async function trainSmallCnn(train: HostImages, options: ClassifierTrainOptions, onLog?: (r: ClassifierLogRecord) => void, cfg: SmallCnnConfig = SMALL_CNN): Promise<TrainedCnn> {
  const o = options;
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new ConfigError('steps', o.steps, 'must be a positive integer');
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > train.n) throw new ConfigError('batchSize', o.batchSize, `must be an integer in [1, ${train.n}]`);
  if (train.size !== cfg.inputSize || train.channels !== cfg.channels) {
    throw new ConfigError('train images', `${train.size}x${train.size}x${train.channels}`, `must be ${cfg.inputSize}x${cfg.inputSize}x${cfg.channels}`);
  }
  const params = initCnnParams(cfg, o.seed);
  const names = Object.keys(params);
  const opt = initAdamW(params);
  const perEpoch = stepsPerEpoch(train.n, o.batchSize, true);
  let order = null as { epoch: number; perm: Int32Array } | null;
  const S = cfg.inputSize;
  const t0 = performance.now();
  let tLog = t0;
  let sumLoss = 0, sumAcc = 0, count = 0, finalLoss = NaN;

  for (let step = 0; step < o.steps; step++) {
    const lr = classifierLrAt(step, o);
    const { epoch, step: k } = positionOf(step, perEpoch);
    if (order?.epoch !== epoch) order = { epoch, perm: epochOrder(train.n, deriveSeed(o.seed, 'classifier-order'), epoch) };
    const idx = order.perm.subarray(k * o.batchSize, (k + 1) * o.batchSize);
    const host = augmentedBatch(train, idx, o.maxShift, o.hflip, mulberry32(deriveSeed(o.seed, `augment:${step}`)));
    const raw = tf.tensor4d(host.raw, [o.batchSize, S, S, cfg.channels]);
    const y = tf.tensor1d(host.labels, 'int32');
    const dropout = { rate: o.dropout, seed: deriveSeed(o.seed, `dropout:${step}`) };
    let correct = 0;
    const { value, grads } = tf.variableGrads(() => {
      const { logits } = cnnForward(params, cfg, raw, dropout);
      correct = tf.tidy(() => tf.sum(tf.equal(tf.argMax(logits, -1), y).toInt()).dataSync()[0]!);
      return crossEntropy(logits, y);
    }, Object.values(params));
    const byName: Record<string, tf.Tensor> = {};
    for (const n of names) byName[n] = grads[params[n]!.name]!;
    adamwStep(params, byName, opt, { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay });
    const loss = value.dataSync()[0]!;
    tf.dispose([raw, y, value, ...Object.values(grads)]);
    if (!Number.isFinite(loss)) throw new Error(`classifier training diverged: loss ${loss} at step ${step}`);
    sumLoss += loss;
    sumAcc += correct / o.batchSize;
    count++;
    if ((step + 1) % o.logEvery === 0 || step === o.steps - 1) {
      const now = performance.now();
      const msPerStep = (now - tLog) / count;
      finalLoss = sumLoss / count;
      onLog?.({ step: step + 1, loss: finalLoss, trainAccuracy: sumAcc / count, lr, msPerStep, etaSeconds: ((o.steps - step - 1) * msPerStep) / 1000 });
      tLog = now;
      sumLoss = sumAcc = count = 0;
      await new Promise((r) => setImmediate(r)); // let progress output flush
    }
  }
  tf.dispose(Object.values(opt.m));
  tf.dispose(Object.values(opt.v));
  return { params, config: cfg, options: o, seconds: (performance.now() - t0) / 1000, finalLoss };
}

// ---------------------------------------------------------------------------------------------
// Testing
// ---------------------------------------------------------------------------------------------

/** Predicted classes of host images (raw [N, S, S, C]), in batches. -> Int32Array [N] */
export function predictHost(clf: Pick<SmallCnnClassifier, 'params' | 'config'>, data: HostImages, batchSize = 250): Int32Array {
  const { size: S, channels: C } = data;
  const px = S * S * C;
  const out = new Int32Array(data.n);
  for (let s = 0; s < data.n; s += batchSize) {
    const e = Math.min(data.n, s + batchSize);
    const pred = tf.tidy(() => {
      const raw = toNetInput(tf.tensor4d(data.images.subarray(s * px, e * px), [e - s, S, S, C]), clf.config, 'raw');
      return tf.argMax(cnnForward(clf.params, clf.config, raw).logits, -1);
    });
    out.set(pred.dataSync() as Int32Array, s);
    pred.dispose();
  }
  return out;
}

/** Test accuracy of a classifier on host images. */
export function hostAccuracy(clf: Pick<SmallCnnClassifier, 'params' | 'config'>, data: HostImages): ClassAccuracy {
  return classAccuracy(predictHost(clf, data), data.labels, clf.config.numClasses);
}
