import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { fitImageSize, getBatch, seededSplit, stackSamples, subset, toTensors, type Dataset } from './dataset';

/** A tiny in-memory dataset: image i is [h, w, c] filled with (i + 1) / (size + 1), label i % k. */
function toy(size = 6, [h, w] = [2, 3], c = 1, k = 3, background = 0): Dataset {
  const ds: Dataset = {
    name: 'toy', numClasses: k, classNames: Array.from({ length: k }, (_, j) => `c${j}`), size,
    imageSize: [h, w], channels: c, background,
    get: (i) => Promise.resolve({ image: new Float32Array(h * w * c).fill((i + 1) / (size + 1)), label: i % k }),
  };
  return ds;
}

test('a batch has x = 2 * raw - 1 [B, H, W, C], raw [B, H, W, C] and int32 labels [B]', async () => {
  const before = tf.memory().numTensors;
  const { x, raw, y } = await getBatch(toy(), [4, 0]);
  assert.equal(x.shape, [2, 2, 3, 1]);
  assert.equal(raw.shape, [2, 2, 3, 1]);
  assert.equal(y.shape, [2]);
  assert.is(y.dtype, 'int32');
  assert.equal(Array.from(y.dataSync()), [1, 0]);
  const r = raw.dataSync(), xv = x.dataSync();
  assert.ok(Math.abs(r[0]! - 5 / 7) < 1e-7 && Math.abs(r[6]! - 1 / 7) < 1e-7);
  for (let i = 0; i < r.length; i++) assert.ok(Math.abs(xv[i]! - (2 * r[i]! - 1)) < 1e-6);
  tf.dispose([x, raw, y]);
  assert.is(tf.memory().numTensors, before);
});

test('stackSamples rejects a wrong image size and an out-of-range label, naming them', () => {
  const ds = toy();
  assert.throws(() => stackSamples(ds, [{ image: new Float32Array(5), label: 0 }]), /sample 0 has 5 values, expected \[2, 3, 1\] = 6/);
  assert.throws(() => stackSamples(ds, [{ image: new Float32Array(6), label: 3 }]), /label 3, expected an integer in \[0, 3\)/);
  const t = toTensors(stackSamples(ds, []));
  assert.equal(t.x.shape, [0, 2, 3, 1]);
  tf.dispose([t.x, t.raw, t.y]);
});

test('seededSplit is deterministic, disjoint and covers 0..n-1; another seed gives another split', () => {
  const a = seededSplit(100, 10, 7);
  const b = seededSplit(100, 10, 7);
  assert.equal(Array.from(a.test), Array.from(b.test));
  assert.is(a.train.length, 90);
  assert.is(a.test.length, 10);
  const all = new Set([...a.train, ...a.test]);
  assert.is(all.size, 100);
  assert.not.equal(Array.from(seededSplit(100, 10, 8).test), Array.from(a.test));
  assert.throws(() => seededSplit(5, 6, 0), /testSize 6 must be an integer in \[0, 5\]/);
});

test('subset maps indices in order and range-checks them', async () => {
  const s = subset(toy(), [5, 2], 'two');
  assert.is(s.size, 2);
  assert.is((await s.get(0)).label, 2);
  assert.is((await s.get(1)).label, 2);
  await s.get(2).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /two: index 2 out of range \[0, 2\)/));
  assert.throws(() => subset(toy(), [6]), /index 6 out of range/);
});

test('pad centres the image and fills with the raw background (28 -> 32: 2 pixels each side)', async () => {
  const base = toy(3, [28, 28], 1);
  const padded = fitImageSize(base, [32, 32], { kind: 'pad' });
  assert.equal(padded.imageSize, [32, 32]);
  const { image } = await padded.get(1);
  assert.is(image.length, 32 * 32);
  const at = (y: number, x: number) => image[y * 32 + x]!;
  assert.is(at(0, 0), 0);
  assert.is(at(1, 31), 0);
  assert.is(at(31, 2), 0);
  assert.is(at(2, 1), 0);
  assert.ok(Math.abs(at(2, 2) - 0.5) < 1e-7 && Math.abs(at(29, 29) - 0.5) < 1e-7);
  assert.is(at(30, 29), 0);
  const white = fitImageSize(toy(1, [2, 2], 3, 1, 1), [3, 4], { kind: 'pad' }); // odd margins: top 0, left 1
  const w = (await white.get(0)).image;
  assert.equal(Array.from(w.subarray(0, 3)), [1, 1, 1]);
  assert.ok(Math.abs(w[3]! - 0.5) < 1e-7);
  assert.throws(() => fitImageSize(base, [16, 32], { kind: 'pad' }), /cannot pad 28x28 images to a smaller 16x32/);
});

test('resize keeps a constant image constant and gives the target shape', async () => {
  for (const filter of ['box', 'bilinear', 'bicubic'] as const) {
    const r = fitImageSize(toy(2, [28, 28], 3), [32, 20], { kind: 'resize', filter });
    const { image } = await r.get(0);
    assert.is(image.length, 32 * 20 * 3);
    for (const v of image) assert.ok(Math.abs(v - 1 / 3) < 1e-6, `${filter}: ${v}`);
  }
});

test.run();
