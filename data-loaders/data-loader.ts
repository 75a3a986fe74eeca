/**
 * The data loader: an async iterator of batches with seeded per-epoch shuffling, drop-last,
 * an optional augmentation, background prefetch and deterministic resume.
 *
 * Every random choice is a function of (seed, epoch, ...): the order of epoch e is
 * `epochOrder(size, seed, e)`, the augmentation of example i in epoch e draws from
 * mulberry32(deriveSeed(seed, `augment:e:i`)). So the batch at (epoch, step) is the same whether
 * the run started at 0 or resumed there, and never depends on Math.random.
 *
 * Prefetch: before yielding batch k the loader starts preparing batches k+1..k+prefetch on the
 * host (decoding, cropping, augmenting), so that work overlaps with the consumer's training step.
 * Tensors are made only for the batch being yielded; the consumer disposes them.
 *
 *   for await (const { x, raw, y, epoch, step } of loadBatches(ds, { batchSize: 64, seed: 0 })) {
 *     ...train on x [B, H, W, C], y [B]...
 *     tf.dispose([x, raw, y]);
 *   }
 */
import type * as tf from '@tensorflow/tfjs';
import { deriveSeed, mulberry32 } from '../kernel-lib/util/seed';
import type { Augment } from './augment';
import { seededPermutation, stackSamples, toTensors, type Dataset, type HostBatch, type Sample } from './dataset';

export interface LoaderOptions {
  batchSize: number;
  seed: number;
  /** Shuffle each epoch (seeded). Default true; false keeps index order 0..size-1. */
  shuffle?: boolean;
  /** Drop the last, smaller batch of an epoch. Default true (every batch has batchSize examples). */
  dropLast?: boolean;
  /** Per-example host augmentation (e.g. randomHorizontalFlip()). */
  augment?: Augment;
  /** Batches prepared ahead of the one being consumed. Default 1; 0 turns prefetch off. */
  prefetch?: number;
  /** Where to start: epoch and step within it. Default {epoch: 0, step: 0}. */
  start?: LoaderPosition;
  /** Stop before this epoch. Default: never stop (the consumer breaks out). */
  endEpoch?: number;
}

/** A position in the stream: the epoch and the batch index inside it. */
export interface LoaderPosition {
  epoch: number;
  step: number;
}

/** One batch: x [B, H, W, C] in [-1, 1], raw [B, H, W, C] in [0, 1], y int32 [B], and where it came from. */
export interface LoaderBatch {
  x: tf.Tensor4D;
  raw: tf.Tensor4D;
  y: tf.Tensor1D;
  epoch: number;
  step: number;
  /** [B] dataset indices of the examples. */
  indices: Int32Array;
}

// ---------------------------------------------------------------------------------------------
// Order (pure functions of the seed)
// ---------------------------------------------------------------------------------------------

/** Batches in one epoch. */
export function stepsPerEpoch(size: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/** The order of the examples in epoch `epoch`: a permutation of 0..size-1 fixed by (seed, epoch). */
export function epochOrder(size: number, seed: number, epoch: number, shuffle = true): Int32Array {
  if (!shuffle) return Int32Array.from({ length: size }, (_, i) => i);
  return seededPermutation(size, deriveSeed(seed, `epoch:${epoch}`));
}

/** The position after `globalStep` batches from the start, for resuming from a step count. */
export function positionOf(globalStep: number, stepsInEpoch: number): LoaderPosition {
  return { epoch: Math.floor(globalStep / stepsInEpoch), step: globalStep % stepsInEpoch };
}

/** Loads, augments and stacks the examples `indices` of epoch `epoch` on the host. */
export async function prepareBatch(
  ds: Dataset, indices: Int32Array, epoch: number, seed: number, augment?: Augment,
): Promise<HostBatch> {
  const [H, W] = ds.imageSize;
  const shape = [H, W, ds.channels] as const;
  const samples = await Promise.all(
    Array.from(indices, async (i): Promise<Sample> => {
      const s = await ds.get(i);
      if (!augment) return s;
      const rand = mulberry32(deriveSeed(seed, `augment:${epoch}:${i}`));
      return { image: augment(s.image, shape, rand), label: s.label };
    }),
  );
  return stackSamples(ds, samples);
}

// ---------------------------------------------------------------------------------------------
// The iterator
// ---------------------------------------------------------------------------------------------

/**
 * Batches of `ds` from `opts.start` on, epoch after epoch, until `opts.endEpoch` (or until the
 * consumer stops). Each yielded batch holds fresh tensors that the consumer disposes.
 */
export function loadBatches(ds: Dataset, opts: LoaderOptions): AsyncGenerator<LoaderBatch, void, undefined> {
  const { batchSize } = opts;
  const shuffle = opts.shuffle ?? true;
  const dropLast = opts.dropLast ?? true;
  const prefetch = opts.prefetch ?? 1;
  const start = opts.start ?? { epoch: 0, step: 0 };
  const endEpoch = opts.endEpoch ?? Infinity;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`loader: batchSize ${batchSize} must be a positive integer`);
  if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`loader: prefetch ${prefetch} must be a non-negative integer`);
  const steps = stepsPerEpoch(ds.size, batchSize, dropLast);
  if (steps === 0) throw new RangeError(`loader: ${ds.name} has ${ds.size} examples, fewer than one batch of ${batchSize} with dropLast`);
  if (!Number.isInteger(start.epoch) || start.epoch < 0 || !Number.isInteger(start.step) || start.step < 0 || start.step >= steps) {
    throw new RangeError(`loader: start ${JSON.stringify(start)} must have epoch >= 0 and 0 <= step < ${steps} (steps per epoch)`);
  }
  return run(ds, opts, { shuffle, prefetch, start, endEpoch, steps });
}

/** The iterator itself, after `loadBatches` checked the options (so bad options throw at the call). */
async function* run(
  ds: Dataset, opts: LoaderOptions,
  o: { shuffle: boolean; prefetch: number; start: LoaderPosition; endEpoch: number; steps: number },
): AsyncGenerator<LoaderBatch, void, undefined> {
  const { batchSize, seed } = opts;
  const { shuffle, prefetch, start, endEpoch, steps } = o;

  // The positions in order, as a lazy sequence, each with its dataset indices.
  let order: { epoch: number; perm: Int32Array } | null = null;
  const indicesAt = (epoch: number, step: number): Int32Array => {
    if (order?.epoch !== epoch) order = { epoch, perm: epochOrder(ds.size, seed, epoch, shuffle) };
    return order.perm.slice(step * batchSize, Math.min(ds.size, (step + 1) * batchSize));
  };
  function* positions(): Generator<LoaderPosition & { indices: Int32Array }> {
    for (let e = start.epoch; e < endEpoch; e++) {
      for (let s = e === start.epoch ? start.step : 0; s < steps; s++) yield { epoch: e, step: s, indices: indicesAt(e, s) };
    }
  }

  type Pending = LoaderPosition & { indices: Int32Array; host: Promise<HostBatch> };
  const queue: Pending[] = [];
  const pos = positions();
  const enqueue = (): boolean => {
    const n = pos.next();
    if (n.done) return false;
    const host = prepareBatch(ds, n.value.indices, n.value.epoch, seed, opts.augment);
    host.catch(() => undefined); // a prefetched batch the consumer never reaches must not be an unhandled rejection
    queue.push({ ...n.value, host });
    return true;
  };

  enqueue();
  while (queue.length > 0) {
    const cur = queue.shift()!;
    while (queue.length < prefetch && enqueue()); // start batches k+1.. before waiting on k
    const host = await cur.host;
    yield { ...toTensors(host), epoch: cur.epoch, step: cur.step, indices: cur.indices };
    if (queue.length === 0) enqueue();
  }
}
