import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { fitImageSize, getBatch, seededPermutation, type Dataset } from '../../data-loaders/dataset';
import { mnist } from '../../data-loaders/mnist';
import { loadSmallCnn, type SmallCnnClassifier } from '../classifier/small-cnn';
import { ConfigError, ShapeError } from '../util/errors';
import { evaluate, prepareImages, realIndexSets, type SampleSource } from './evaluate';
import type { FeatureExtractor } from './feature-extractor';
import type { FeatureMatrix } from './feature-matrix';

const N = 200;
const pad32 = (ds: Dataset) => fitImageSize(ds, [32, 32], { kind: 'pad' });

/** A "generator" that returns real training digits (disjoint from the test split) with their labels. */
function trainDigits(): SampleSource {
  const train = pad32(mnist({ split: 'train' }));
  const order = seededPermutation(train.size, 5);
  return {
    kind: 'function',
    generate: async (count, start) => {
      const { x, raw, y } = await getBatch(train, order.subarray(start, start + count));
      const labels = y.dataSync() as Int32Array;
      tf.dispose([raw, y]);
      return { images: x, labels };
    },
  };
}

test('evaluate: real digits score near the real-vs-real baseline; noise scores far above it', async () => {
  const clf = loadSmallCnn('mnist');
  const real = pad32(mnist({ split: 'test' }));
  const progress: Array<[number, number]> = [];
  const good = await evaluate({ source: trainDigits(), real, extractor: clf, n: N, onProgress: (d, t) => progress.push([d, t]) });
  assert.is(good.n, N);
  assert.equal(progress[progress.length - 1], [3 * N, 3 * N]);
  assert.ok(progress.every(([d], i) => i === 0 || d > progress[i - 1]![0]), 'progress increases');
  assert.ok(good.realVsRealFid > 0 && Number.isFinite(good.realVsRealFid));
  assert.ok(good.fid < 2 * good.realVsRealFid + 1, `train digits: FID ${good.fid} vs real-vs-real ${good.realVsRealFid}`);
  assert.ok(good.classAccuracy! > 0.95, `class accuracy ${good.classAccuracy}`);
  assert.ok(good.precision > 0.6 && good.recall > 0.6, `precision ${good.precision}, recall ${good.recall}`);
  assert.ok(good.kid.std > 0, 'KID subsets differ');

  const noise: SampleSource = {
    kind: 'function',
    generate: (count, start) => ({ images: tf.randomNormal([count, 32, 32, 1], 0, 1, 'float32', start) as tf.Tensor4D, labels: Array.from({ length: count }, (_, i) => (start + i) % 10) }),
  };
  const before = tf.memory().numTensors;
  const bad = await evaluate({ source: noise, real, extractor: clf, n: N });
  assert.is(tf.memory().numTensors, before, 'no tensors leak');
  assert.ok(bad.fid > 10 * good.realVsRealFid, `noise: FID ${bad.fid} vs real-vs-real ${good.realVsRealFid}`);
  // KID's scale follows the feature norms (cubic kernel); compare with the real-digit value.
  assert.ok(bad.kid.mean > 10 * Math.abs(good.kid.mean) && bad.kid.mean > 10 * good.kid.std, `noise KID ${bad.kid.mean} vs ${good.kid.mean} +- ${good.kid.std}`);
  assert.ok(bad.precision < 0.1, `noise precision ${bad.precision}`);
  assert.ok(bad.classAccuracy! < 0.3, `noise class accuracy ${bad.classAccuracy}`);
  assert.is(bad.realVsRealFid, good.realVsRealFid, 'same seed, same real sets');
  // speckle: real train digits like the real test digits (a few per 1,000: stroke tips), noise far above
  assert.ok(good.realSpeckle > 0 && good.realSpeckle < 20, `real speckle ${good.realSpeckle}`);
  assert.ok(Math.abs(good.speckle - good.realSpeckle) < 0.5 * good.realSpeckle, `train digits: speckle ${good.speckle} vs real ${good.realSpeckle}`);
  assert.is(bad.realSpeckle, good.realSpeckle, 'same real set');
  assert.ok(bad.speckle > 10 * good.realSpeckle, `noise speckle ${bad.speckle} vs real ${good.realSpeckle}`);
  // stray marks: few real digits have a detached fleck; nearly every noise image does
  assert.ok(good.realStrayMarks >= 0 && good.realStrayMarks < 0.1, `real stray marks ${good.realStrayMarks}`);
  assert.ok(Math.abs(good.strayMarks - good.realStrayMarks) < 0.1, `train digits: stray marks ${good.strayMarks} vs real ${good.realStrayMarks}`);
  assert.is(bad.realStrayMarks, good.realStrayMarks, 'same real set');
  assert.ok(bad.strayMarks > 0.9, `noise stray marks ${bad.strayMarks}`);
  clf.dispose();
});

/** A classifier whose forwards are counted in `calls`; `withBoth` false hides featuresAndLogits (the two-forward path). */
function countingClassifier(clf: SmallCnnClassifier, calls: { features: number; predict: number; both: number }, withBoth: boolean): FeatureExtractor {
  return {
    name: clf.name,
    dim: clf.dim,
    batchSize: clf.batchSize,
    features: (x) => (calls.features++, clf.features(x)),
    predict: (x) => (calls.predict++, clf.predict(x)),
    ...(withBoth ? { featuresAndLogits: (x: tf.Tensor4D) => (calls.both++, clf.featuresAndLogits(x)) } : {}),
  };
}

test('evaluate: a classifier extractor with featuresAndLogits runs one forward per chunk, with the same results', async () => {
  const clf = loadSmallCnn('mnist');
  const real = pad32(mnist({ split: 'test' }));
  const calls = { features: 0, predict: 0, both: 0 };
  const counted = (withBoth: boolean) => countingClassifier(clf, calls, withBoth);
  const n = 100, chunk = 25;
  const one = await evaluate({ source: trainDigits(), real, extractor: counted(true), n, chunk });
  const generated = n / chunk;
  assert.is(calls.both, generated, 'one featuresAndLogits call per generated chunk');
  assert.is(calls.predict, 0, 'no separate predict forward');
  const featuresForReal = calls.features;
  const two = await evaluate({ source: trainDigits(), real, extractor: counted(false), n, chunk });
  assert.is(calls.predict, generated);
  assert.is(calls.features - featuresForReal, featuresForReal + generated, 'the two-forward path also featurises each chunk');
  assert.is(one.fid, two.fid);
  assert.is(one.classAccuracy, two.classAccuracy);
  assert.ok(one.classAccuracy! > 0.9, `class accuracy ${one.classAccuracy}`);
  clf.dispose();
});

test('evaluate: realFeatureCache featurises each drawn real set once per extractor', async () => {
  const clf = loadSmallCnn('mnist');
  const real = pad32(mnist({ split: 'test' }));
  const calls = { features: 0, predict: 0, both: 0 };
  const cache = new Map<string, FeatureMatrix>();
  const run = (seed: number) => evaluate({ source: trainDigits(), real, extractor: countingClassifier(clf, calls, true), n: 100, chunk: 50, seed, realFeatureCache: cache });
  const first = await run(0);
  assert.is(calls.features, 2, 'two real sets featurised');
  assert.is(cache.size, 2);
  const progress: number[] = [];
  const again = await evaluate({ source: trainDigits(), real, extractor: countingClassifier(clf, calls, true), n: 100, chunk: 50, realFeatureCache: cache, onProgress: (d) => progress.push(d) });
  assert.is(calls.features, 2, 'the second call reused both real sets');
  assert.is(progress[progress.length - 1], 300, 'progress still counts the cached real images');
  assert.is(again.fid, first.fid);
  assert.is(again.realVsRealFid, first.realVsRealFid);
  await run(1); // another seed draws other real images
  assert.is(calls.features, 4);
  assert.is(cache.size, 4);
  const uncached = await evaluate({ source: trainDigits(), real, extractor: clf, n: 100, chunk: 50 });
  assert.is(uncached.fid, first.fid, 'the cache does not change the result');
  clf.dispose();
});

test('evaluate rejects bad sizes and sources with errors that name the problem', async () => {
  const clf = loadSmallCnn('mnist');
  const real = pad32(mnist({ split: 'test' }));
  await evaluate({ source: trainDigits(), real, extractor: clf, n: 600 }).then(
    () => assert.unreachable('2n > 1000 test images'),
    (e: Error) => assert.ok(e instanceof ConfigError && /needs 2n <= 1000 images/.test(e.message), e.message),
  );
  const wrongCount: SampleSource = { kind: 'function', generate: (count) => ({ images: tf.zeros([count + 1, 32, 32, 1]) as tf.Tensor4D, labels: new Int32Array(count) }) };
  await evaluate({ source: wrongCount, real, extractor: clf, n: 10 }).then(
    () => assert.unreachable('wrong image count'),
    (e: Error) => assert.ok(e instanceof ShapeError && /expected 10 images/.test(e.message), e.message),
  );
  clf.dispose();
});

test('realIndexSets: disjoint and seeded; prepareImages clips and rounds to 8-bit levels', () => {
  const ds = { name: 'd', size: 10 } as Dataset;
  const s = realIndexSets(ds, undefined, 5, 0);
  assert.equal([...s.a, ...s.b].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(realIndexSets(ds, undefined, 5, 0), s);
  // -2 -> -1 (clip); 1.5 -> 1; 0.001 -> level 128 of 0..255 -> 128/127.5 - 1; 0.5 -> level 191.
  const p = tf.tidy(() => Array.from(prepareImages(tf.tensor4d([-2, 1.5, 0.001, 0.5], [1, 2, 2, 1])).dataSync()));
  const expected = [-1, 1, 128 / 127.5 - 1, 191 / 127.5 - 1];
  assert.ok(p.every((v, i) => Math.abs(v - expected[i]!) < 1e-6), `${p} vs ${expected}`);
});

test.run();
