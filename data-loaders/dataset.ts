/**
 * The common dataset interface and the helpers that turn samples into model tensors.
 *
 * Legend: B batch, H x W image size, C channels, K classes. Layout NHWC.
 * A dataset hands out raw images in [0, 1] (HWC, Float32Array) with integer labels 0..K-1.
 * The model sees x = 2 * raw - 1 in [-1, 1] (the reference's x / 127.5 - 1 for 8-bit pixels).
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32, deriveSeed } from '../kernel-lib/util/seed';
import { resampleF32, type ResampleFilter } from './resample';

// ---------------------------------------------------------------------------------------------
// Interface
// ---------------------------------------------------------------------------------------------

/** One example: the raw image [H, W, C] in [0, 1], HWC-interleaved, and its class id. */
export interface Sample {
  image: Float32Array;
  label: number;
}

/** A labelled image dataset with a fixed image size. */
export interface Dataset {
  readonly name: string;
  /** K: labels are 0..K-1 (the null label K for CFG is the model's business). */
  readonly numClasses: number;
  /** [K] human-readable class names, index = label. */
  readonly classNames: readonly string[];
  /** Number of examples. */
  readonly size: number;
  /** [H, W] of every image. */
  readonly imageSize: readonly [number, number];
  /** C: 1 (grey) or 3 (RGB). */
  readonly channels: number;
  /** Raw value of the image background (0 black, 1 white); padding uses it. */
  readonly background: number;
  /** Example i, 0 <= i < size (else the promise rejects with a RangeError). The image may be shared: do not write to it. */
  get(i: number): Promise<Sample>;
}

/** A dataset file was missing, unreadable, or did not hold what it should. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** Throws a RangeError naming the dataset unless 0 <= i < ds.size. */
export function checkIndex(ds: Pick<Dataset, 'name' | 'size'>, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= ds.size) {
    throw new RangeError(`${ds.name}: index ${i} out of range [0, ${ds.size})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Batches: host arrays, then tensors
// ---------------------------------------------------------------------------------------------

/** A batch on the host: raw [B, H, W, C] in [0, 1] and labels [B]. */
export interface HostBatch {
  raw: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
}

/** A batch as tensors; the caller disposes them. x [B, H, W, C] in [-1, 1], raw [B, H, W, C] in [0, 1], y int32 [B]. */
export interface Batch {
  x: tf.Tensor4D;
  raw: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** Packs samples into one host batch, checking every image size and label. */
export function stackSamples(ds: Dataset, samples: readonly Sample[]): HostBatch {
  const [H, W] = ds.imageSize;
  const C = ds.channels;
  const n = H * W * C;
  const raw = new Float32Array(samples.length * n);
  const y = new Int32Array(samples.length);
  samples.forEach((s, b) => {
    if (s.image.length !== n) {
      throw new DatasetError(`${ds.name}: sample ${b} has ${s.image.length} values, expected [${H}, ${W}, ${C}] = ${n}`);
    }
    if (!Number.isInteger(s.label) || s.label < 0 || s.label >= ds.numClasses) {
      throw new DatasetError(`${ds.name}: sample ${b} has label ${s.label}, expected an integer in [0, ${ds.numClasses})`);
    }
    raw.set(s.image, b * n);
    y[b] = s.label;
  });
  return { raw, y, shape: [samples.length, H, W, C] };
}

/** Model input from raw pixels: x = 2 * raw - 1, i.e. 8-bit v / 127.5 - 1. */
export function rawToModel(raw: Float32Array): Float32Array {
  const x = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) x[i] = 2 * raw[i]! - 1;
  return x;
}

/** Tensors for a host batch: x [B, H, W, C] in [-1, 1], raw [B, H, W, C] in [0, 1], y int32 [B]. */
export function toTensors(host: HostBatch): Batch {
  return {
    x: tf.tensor4d(rawToModel(host.raw), host.shape, 'float32'),
    raw: tf.tensor4d(host.raw, host.shape, 'float32'),
    y: tf.tensor1d(host.y, 'int32'),
  };
}

/** Examples `indices` of `ds` as tensors (see `toTensors`); the caller disposes them. */
export async function getBatch(ds: Dataset, indices: ArrayLike<number>): Promise<Batch> {
  const samples = await Promise.all(Array.from(indices, (i) => ds.get(i)));
  return toTensors(stackSamples(ds, samples));
}

// ---------------------------------------------------------------------------------------------
// Views: subsets and seeded splits
// ---------------------------------------------------------------------------------------------

/** The examples `indices` of `ds`, in that order, as a dataset. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = `${ds.name}[subset]`): Dataset {
  const idx = Int32Array.from(indices);
  for (const i of idx) checkIndex(ds, i);
  const view: Dataset = {
    name,
    numClasses: ds.numClasses,
    classNames: ds.classNames,
    size: idx.length,
    imageSize: ds.imageSize,
    channels: ds.channels,
    background: ds.background,
    async get(i) {
      checkIndex(view, i);
      return ds.get(idx[i]!);
    },
  };
  return view;
}

/** A seeded permutation of 0..n-1 (Fisher-Yates with mulberry32). */
export function seededPermutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/**
 * A deterministic, disjoint train/test split of 0..n-1: `testSize` indices chosen by `seed`
 * go to test, the rest to train. Both lists are sorted ascending.
 */
export function seededSplit(n: number, testSize: number, seed: number): { train: Int32Array; test: Int32Array } {
  if (!Number.isInteger(testSize) || testSize < 0 || testSize > n) {
    throw new RangeError(`seededSplit: testSize ${testSize} must be an integer in [0, ${n}]`);
  }
  const p = seededPermutation(n, deriveSeed(seed, 'train-test-split'));
  return { train: p.slice(testSize).sort(), test: p.slice(0, testSize).sort() };
}

// ---------------------------------------------------------------------------------------------
// Fitting images to the model's size
// ---------------------------------------------------------------------------------------------

/**
 * How to bring images to the model's size. `pad`: centre the image and fill the border with the
 * dataset's raw background (black for MNIST, i.e. -1 for the model); the target must not be
 * smaller. `resize`: Pillow-style antialiased resampling of the raw image (see resample.ts).
 */
export type FitMode = { kind: 'pad' } | { kind: 'resize'; filter: ResampleFilter };

/** `ds` with every image padded or resized to [H, W] (e.g. MNIST 28 -> 32 for a patch size of 8 or 16). */
export function fitImageSize(ds: Dataset, size: readonly [number, number], mode: FitMode): Dataset {
  const [h, w] = ds.imageSize;
  const [H, W] = size;
  const C = ds.channels;
  let fit: (img: Float32Array) => Float32Array;
  switch (mode.kind) {
    case 'pad': {
      if (H < h || W < w) throw new RangeError(`${ds.name}: cannot pad ${h}x${w} images to a smaller ${H}x${W}`);
      const top = Math.floor((H - h) / 2);
      const left = Math.floor((W - w) / 2);
      fit = (img) => {
        const out = new Float32Array(H * W * C).fill(ds.background);
        for (let y = 0; y < h; y++) out.set(img.subarray(y * w * C, (y + 1) * w * C), ((top + y) * W + left) * C);
        return out;
      };
      break;
    }
    case 'resize':
      fit = (img) => resampleF32(img, h, w, C, H, W, mode.filter);
      break;
    default: {
      const never: never = mode;
      throw new Error(`unknown fit mode ${JSON.stringify(never)}`);
    }
  }
  return {
    name: ds.name,
    numClasses: ds.numClasses,
    classNames: ds.classNames,
    size: ds.size,
    imageSize: [H, W],
    channels: C,
    background: ds.background,
    async get(i) {
      const s = await ds.get(i);
      return { image: fit(s.image), label: s.label };
    },
  };
}
