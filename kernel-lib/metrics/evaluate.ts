/**
 * Sample-quality evaluation of a generator against a real dataset, with one feature network:
 * FID, KID, improved precision/recall, class accuracy of the conditioning labels, and the
 * real-vs-real FID of two disjoint real sets of the same size (the floor that a generator's FID
 * is read against: FID is biased upward at small n).
 *
 * Example:
 *   const mnist = (split: 'train' | 'test') => datasetFromConfig({ dataset: 'mnist', split, fit: 'pad' }, 32);
 *   const r = await evaluate({
 *     source: { kind: 'run', runDir: 'runs/mnist-tiny', sampler: { steps: 20, sampler: 'euler', cfg: 2, interval: [0.1, 1], seed: 0 } },
 *     real: await mnist('test'),
 *     realBaseline: await mnist('train'),
 *     extractor: loadSmallCnn('mnist'), n: 1000, onProgress: (done, total) => console.log(done, total),
 *   });
 *   // r.fid, r.kid.mean, r.precision, r.recall, r.classAccuracy, r.realVsRealFid
 *
 * Every image set goes through the same preparation before the features: images in [-1, 1],
 * clipped to [-1, 1] and rounded to 8-bit levels (what saving a PNG does; real datasets are
 * 8-bit already), so generated and real images differ only in content.
 *
 * Legend: N = n samples per set, F feature width, K classes; images NHWC in [-1, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { getBatch, seededPermutation, type Dataset } from '../../data-loaders/dataset';
import { loadRun } from '../runs/load-run';
import { sampleClasses, type SampleGridOptions } from '../runs/sample-classes';
import { disposeParams } from '../model/params';
import { ConfigError, ShapeError } from '../util/errors';
import { deriveSeed } from '../util/seed';
import { classAccuracy, type ClassAccuracy } from './class-accuracy';
import type { FeatureExtractor } from './feature-extractor';
import type { FeatureMatrix } from './feature-matrix';
import { fidFromFeatures } from './fid';
import { kid, type KidOptions } from './kid';
import { precisionRecall, PR_DEFAULT_K } from './precision-recall';
import { countSpeckle, emptySpeckleCount, speckleRate } from './speckle';
import { countStrayMarks, emptyStrayMarkCount, strayMarkRate } from './stray-marks';

// ---------------------------------------------------------------------------------------------
// Sources of generated images
// ---------------------------------------------------------------------------------------------

/** Generated images [count, H, W, C] in [-1, 1] and the class each was conditioned on [count]. */
export interface GeneratedBatch {
  images: tf.Tensor4D;
  labels: ArrayLike<number>;
}

/** Sampler settings for a run directory (sampleClasses' options without the class layout). */
export type RunSamplerOptions = Omit<SampleGridOptions, 'classes' | 'perClass'>;

/**
 * Where generated images come from.
 * - `function`: `generate(count, start)` returns images start .. start+count-1 (the caller picks labels).
 * - `run`: a run directory's checkpoint (EMA weights by default) sampled with `sampler`; labels
 *   cycle through `classes` (default all K classes, so the set is class-balanced); chunk c uses
 *   the noise seed deriveSeed(sampler.seed, `evaluate:<start>`).
 */
export type SampleSource =
  | { kind: 'function'; generate: (count: number, start: number) => GeneratedBatch | Promise<GeneratedBatch> }
  | { kind: 'run'; runDir: string; weights?: 'ema' | 'model'; sampler: RunSamplerOptions; classes?: number[] };

export interface EvaluateOptions {
  source: SampleSource;
  /** The real images generated ones are compared with (n are drawn, seeded). */
  real: Dataset;
  /** A second real set for the real-vs-real baseline, disjoint from `real` (default: n other images of `real`, which then needs >= 2n). */
  realBaseline?: Dataset;
  extractor: FeatureExtractor;
  /** The classifier of the conditioning classes for class accuracy (default: `extractor` when it has `predict`; else class accuracy is null). */
  classifier?: Pick<FeatureExtractor, 'predict'>;
  /** N: generated images, and real images in each real set. */
  n: number;
  /** Images per generation call (default 50). */
  chunk?: number;
  /** Seed of the real subsets and KID subsets (default 0). */
  seed?: number;
  /** KID options (default 100 subsets of min(1000, floor(n / 2)) samples: subsets smaller than n, so that they differ and the std means something). */
  kid?: KidOptions;
  /** Precision/recall neighbourhood k (default 3). */
  k?: number;
  /** Called after every batch of images featurised: done and total images (3n: generated + two real sets). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Reuses the real sets' features across calls (a sweep evaluating many samplers against the
   * same real images): keyed by extractor, dataset (name, size, image size, channels) and the
   * drawn indices. The caller owns the map and its lifetime.
   */
  realFeatureCache?: Map<string, FeatureMatrix>;
}

export interface EvaluationResult {
  fid: number;
  kid: { mean: number; std: number };
  precision: number;
  recall: number;
  /** Accuracy of the classifier's predictions against the conditioning labels (null without a classifier). */
  classAccuracy: number | null;
  /** Per-class detail of classAccuracy. */
  classAccuracyDetail: ClassAccuracy | null;
  /** FID between two disjoint real sets of n images: the baseline. */
  realVsRealFid: number;
  /** Isolated pixels per 1,000 (speckle.ts) in the generated images, and in the real set they are compared with. */
  speckle: number;
  realSpeckle: number;
  /** The fraction of images with a stray mark (stray-marks.ts), generated and real. */
  strayMarks: number;
  realStrayMarks: number;
  n: number;
  /** Wall time of the whole evaluation. */
  seconds: number;
  /** Of which sampling (run / function calls). */
  samplingSeconds: number;
  extractor: string;
}

// ---------------------------------------------------------------------------------------------
// Features
// ---------------------------------------------------------------------------------------------

/** Clip to [-1, 1] and round to the 256 levels of an 8-bit image.  [B, H, W, C] -> same */
export function prepareImages(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.div(tf.round(tf.mul(tf.add(tf.clipByValue(x, -1, 1), 1), 127.5)), 127.5), 1) as tf.Tensor4D);
}

/** Checks an extractor's features of x and copies them to the host (disposing f).  f [B, F] -> Float32Array [B * F] */
function hostFeatures(extractor: FeatureExtractor, x: tf.Tensor4D, f: tf.Tensor): Float32Array {
  if (f.rank !== 2 || f.shape[0] !== x.shape[0] || f.shape[1] !== extractor.dim) {
    const shape = f.shape.join(', ');
    f.dispose();
    throw new ShapeError(`${extractor.name}: features of [${x.shape.join(', ')}] gave [${shape}], expected [${x.shape[0]}, ${extractor.dim}]`);
  }
  const data = f.dataSync() as Float32Array;
  f.dispose();
  return data;
}

/** Features of prepared images, copied to the host.  x [B, H, W, C] -> Float32Array [B * F] */
function featuresOf(extractor: FeatureExtractor, x: tf.Tensor4D): Float32Array {
  return hostFeatures(extractor, x, tf.tidy(() => extractor.features(prepareImages(x))));
}

/**
 * Features and predicted classes of prepared images: one forward where the extractor is also the
 * classifier and offers `featuresAndLogits`, else `features` and the classifier's `predict`.
 * x [B, H, W, C] -> { features [B * F], classes [B] or null without a classifier }
 */
function featuresAndClassesOf(extractor: FeatureExtractor, classifier: Pick<FeatureExtractor, 'predict'> | undefined, x: tf.Tensor4D): { features: Float32Array; classes: Int32Array | null } {
  const argMax = (logits: tf.Tensor) => {
    const p = tf.argMax(logits, -1);
    const classes = (p.dataSync() as Int32Array).slice();
    tf.dispose([p, logits]);
    return classes;
  };
  if (classifier === extractor && extractor.featuresAndLogits) {
    const { features, logits } = tf.tidy(() => extractor.featuresAndLogits!(prepareImages(x)));
    return { classes: argMax(logits), features: hostFeatures(extractor, x, features) };
  }
  const features = featuresOf(extractor, x);
  return { features, classes: classifier?.predict ? argMax(tf.tidy(() => classifier.predict!(prepareImages(x)))) : null };
}

/**
 * Features of dataset examples `indices`, in batches of the extractor's batch size.
 * -> FeatureMatrix [indices.length, F]
 */
export async function datasetFeatures(ds: Dataset, indices: ArrayLike<number>, extractor: FeatureExtractor, onBatch?: (count: number) => void): Promise<FeatureMatrix> {
  const n = indices.length;
  const F = extractor.dim;
  const out = new Float32Array(n * F);
  const bs = extractor.batchSize ?? 100;
  for (let s = 0; s < n; s += bs) {
    const idx = Array.from({ length: Math.min(bs, n - s) }, (_, i) => indices[s + i]!);
    const { x, raw, y } = await getBatch(ds, idx);
    try {
      out.set(featuresOf(extractor, x), s * F);
    } finally {
      tf.dispose([x, raw, y]);
    }
    onBatch?.(idx.length);
  }
  return { data: out, shape: [n, F] };
}

/** n disjoint example indices of `a` and, from `b` (or the rest of `a`), n more. Seeded. */
export function realIndexSets(a: Dataset, b: Dataset | undefined, n: number, seed: number): { a: Int32Array; b: Int32Array } {
  const perm = seededPermutation(a.size, deriveSeed(seed, 'evaluate:real'));
  if (b === undefined) {
    if (2 * n > a.size) throw new ConfigError('n', n, `needs 2n <= ${a.size} images of ${a.name} for two disjoint real sets; pass realBaseline (e.g. the train split) or a smaller n`);
    return { a: perm.slice(0, n), b: perm.slice(n, 2 * n) };
  }
  if (n > a.size) throw new ConfigError('n', n, `exceeds the ${a.size} images of ${a.name}`);
  if (n > b.size) throw new ConfigError('n', n, `exceeds the ${b.size} images of ${b.name} (realBaseline)`);
  return { a: perm.slice(0, n), b: seededPermutation(b.size, deriveSeed(seed, 'evaluate:real-baseline')).slice(0, n) };
}

// ---------------------------------------------------------------------------------------------
// Metrics between feature sets
// ---------------------------------------------------------------------------------------------

export interface SetComparison {
  fid: number;
  kid: { mean: number; std: number };
  precision: number;
  recall: number;
}

/** Default KID subset size for n samples per set: min(1000, floor(n / 2)), at least 2. */
export function defaultKidSubsetSize(n: number): number {
  return Math.max(2, Math.min(1000, Math.floor(n / 2)));
}

/**
 * FID, KID and precision/recall of `other` against `reference` ([N, F] each). KID defaults to
 * 100 subsets of defaultKidSubsetSize(N) (torch-fidelity's 1000 only from N = 2000 on).
 */
export function compareFeatures(reference: FeatureMatrix, other: FeatureMatrix, opts: { kid?: KidOptions; k?: number; seed?: number } = {}): SetComparison {
  const n = Math.min(reference.shape[0], other.shape[0]);
  const k = kid(reference, other, { subsets: 100, subsetSize: defaultKidSubsetSize(n), seed: opts.seed ?? 0, ...opts.kid });
  const pr = precisionRecall(reference, other, { k: opts.k ?? PR_DEFAULT_K });
  return { fid: fidFromFeatures(reference, other).fid, kid: { mean: k.mean, std: k.std }, precision: pr.precision, recall: pr.recall };
}

/**
 * The real-vs-real baseline on its own: metrics between n images of `a` and n of `b` (disjoint
 * sets; pass the same dataset twice only through `realIndexSets`' split, i.e. b = undefined).
 */
export async function realVsReal(
  a: Dataset, b: Dataset | undefined, extractor: FeatureExtractor,
  opts: { n?: number; seed?: number; kid?: KidOptions; k?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<SetComparison & { n: number; featureSeconds: number; metricSeconds: number }> {
  const n = opts.n ?? (b === undefined ? Math.floor(a.size / 2) : Math.min(a.size, b.size));
  const seed = opts.seed ?? 0;
  const sets = realIndexSets(a, b, n, seed);
  const t0 = performance.now();
  let done = 0;
  const tick = (c: number) => opts.onProgress?.((done += c), 2 * n);
  const fa = await datasetFeatures(a, sets.a, extractor, tick);
  const fb = await datasetFeatures(b ?? a, sets.b, extractor, tick);
  const t1 = performance.now();
  const r = compareFeatures(fa, fb, { kid: opts.kid, k: opts.k, seed });
  return { ...r, n, featureSeconds: (t1 - t0) / 1000, metricSeconds: (performance.now() - t1) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// evaluate
// ---------------------------------------------------------------------------------------------

/** Opens a sample source: a generate(count, start) function and a cleanup. */
function openSource(source: SampleSource): { generate: (count: number, start: number) => Promise<GeneratedBatch>; close: () => void } {
  switch (source.kind) {
    case 'function':
      return { generate: async (count, start) => source.generate(count, start), close: () => {} };
    case 'run': {
      const run = loadRun(source.runDir, source.weights ?? 'ema');
      const classes = source.classes ?? Array.from({ length: run.model.numClasses }, (_, i) => i);
      const bad = classes.filter((c) => !(Number.isInteger(c) && c >= 0 && c < run.model.numClasses));
      if (bad.length || classes.length === 0) {
        disposeParams(run.params);
        throw new ConfigError('source.classes', classes, `must be a non-empty list of class ids in 0..${run.model.numClasses - 1}`);
      }
      return {
        generate: async (count, start) => {
          const labels = Array.from({ length: count }, (_, i) => classes[(start + i) % classes.length]!);
          const images = sampleClasses(run, { ...source.sampler, classes: labels, perClass: 1, seed: deriveSeed(source.sampler.seed, `evaluate:${start}`) });
          return { images, labels };
        },
        close: () => disposeParams(run.params),
      };
    }
    default: {
      const never: never = source;
      throw new ConfigError('source.kind', (never as { kind: unknown }).kind, "must be 'function' or 'run'");
    }
  }
}

/**
 * Generates n images, featurises them and two disjoint real sets of n, and returns FID, KID,
 * precision/recall (generated against real set A), class accuracy and FID(A, B).
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluationResult> {
  const { extractor, n } = opts;
  if (!Number.isInteger(n) || n < 2) throw new ConfigError('n', n, 'must be an integer >= 2 (FID needs a covariance)');
  const chunk = opts.chunk ?? 50;
  if (!Number.isInteger(chunk) || chunk < 1) throw new ConfigError('chunk', chunk, 'must be a positive integer');
  const seed = opts.seed ?? 0;
  const classifier = opts.classifier ?? (extractor.predict ? extractor : undefined);
  const sets = realIndexSets(opts.real, opts.realBaseline, n, seed);
  const t0 = performance.now();
  const total = 3 * n;
  let done = 0;
  const tick = (c: number) => opts.onProgress?.((done += c), total);

  // Generated images: features and predicted classes, chunk by chunk.
  const F = extractor.dim;
  const gen = new Float32Array(n * F);
  const predicted = new Int32Array(n);
  const labels = new Int32Array(n);
  let samplingMs = 0;
  const speckle = emptySpeckleCount();
  const stray = emptyStrayMarkCount();
  const src = openSource(opts.source);
  try {
    for (let s = 0; s < n; s += chunk) {
      const count = Math.min(chunk, n - s);
      const ts = performance.now();
      const batch = await src.generate(count, s);
      samplingMs += performance.now() - ts;
      try {
        const shape = batch.images.shape;
        if (batch.images.rank !== 4 || shape[0] !== count) throw new ShapeError(`sample source: expected ${count} images [${count}, H, W, C], got [${shape.join(', ')}]`);
        if (batch.labels.length !== count) throw new ShapeError(`sample source: ${batch.labels.length} labels for ${count} images`);
        const [, H, W, C] = shape as [number, number, number, number];
        const pixels = batch.images.dataSync();
        countSpeckle(speckle, pixels, count, H, W, C);
        countStrayMarks(stray, pixels, count, H, W, C);
        const { features, classes } = featuresAndClassesOf(extractor, classifier, batch.images);
        gen.set(features, s * F);
        if (classes) predicted.set(classes, s);
        for (let i = 0; i < count; i++) labels[s + i] = batch.labels[i]!;
      } finally {
        batch.images.dispose();
      }
      tick(count);
    }
  } finally {
    src.close();
  }

  const cached = async (ds: Dataset, indices: Int32Array): Promise<FeatureMatrix> => {
    // keyed by the images themselves (dataset and indices), so a hit is always the same images
    const key = JSON.stringify([extractor.name, extractor.dim, ds.name, ds.size, ds.imageSize, ds.channels, Array.from(indices)]);
    const hit = opts.realFeatureCache?.get(key);
    if (hit) {
      tick(indices.length);
      return hit;
    }
    const f = await datasetFeatures(ds, indices, extractor, tick);
    opts.realFeatureCache?.set(key, f);
    return f;
  };
  const realA = await cached(opts.real, sets.a);
  const realSpeckle = emptySpeckleCount();
  const realStray = emptyStrayMarkCount();
  const [rh, rw] = opts.real.imageSize;
  for (const i of sets.a) {
    const image = Float32Array.from((await opts.real.get(i)).image, (v) => 2 * v - 1);
    countSpeckle(realSpeckle, image, 1, rh, rw, opts.real.channels);
    countStrayMarks(realStray, image, 1, rh, rw, opts.real.channels);
  }
  const realB = await cached(opts.realBaseline ?? opts.real, sets.b);
  const generated: FeatureMatrix = { data: gen, shape: [n, F] };
  const r = compareFeatures(realA, generated, { kid: opts.kid, k: opts.k, seed });
  const acc = classifier?.predict ? classAccuracy(predicted, labels, opts.real.numClasses) : null;
  return {
    ...r,
    classAccuracy: acc ? acc.accuracy : null,
    classAccuracyDetail: acc,
    realVsRealFid: fidFromFeatures(realA, realB).fid,
    speckle: speckleRate(speckle),
    realSpeckle: speckleRate(realSpeckle),
    strayMarks: strayMarkRate(stray),
    realStrayMarks: strayMarkRate(realStray),
    n,
    seconds: (performance.now() - t0) / 1000,
    samplingSeconds: samplingMs / 1000,
    extractor: extractor.name,
  };
}
