import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { flipHorizontal, randomHorizontalFlip } from './augment';
import { epochOrder, loadBatches, positionOf, stepsPerEpoch, type LoaderBatch, type LoaderOptions } from './data-loader';
import { fitImageSize, type Dataset } from './dataset';
import { mnist } from './mnist';

/** Image i is [2, 3, 1] = i * 6 + (0..5) scaled by 1/N (so pixels identify the example and position), label i % 4. */
function toy(size = 10, calls: number[] = []): Dataset {
  const n = 6;
  const ds: Dataset = {
    name: 'toy', numClasses: 4, classNames: ['a', 'b', 'c', 'd'], size, imageSize: [2, 3], channels: 1, background: 0,
    get(i) {
      calls.push(i);
      return Promise.resolve({ image: Float32Array.from({ length: n }, (_, k) => (i * n + k) / (size * n)), label: i % 4 });
    },
  };
  return ds;
}

/** Runs the loader to the end, returning each batch's indices (and disposing the tensors). */
async function collect(ds: Dataset, opts: LoaderOptions, keep?: (b: LoaderBatch) => void): Promise<Array<{ epoch: number; step: number; indices: number[] }>> {
  const out: Array<{ epoch: number; step: number; indices: number[] }> = [];
  for await (const b of loadBatches(ds, opts)) {
    keep?.(b);
    out.push({ epoch: b.epoch, step: b.step, indices: Array.from(b.indices) });
    tf.dispose([b.x, b.raw, b.y]);
  }
  return out;
}

test('each index exactly once per epoch; the tail batch is dropped or kept', async () => {
  const keep = await collect(toy(10), { batchSize: 4, seed: 1, dropLast: false, endEpoch: 2 });
  assert.equal(keep.map((b) => [b.epoch, b.step, b.indices.length]), [[0, 0, 4], [0, 1, 4], [0, 2, 2], [1, 0, 4], [1, 1, 4], [1, 2, 2]]);
  for (const e of [0, 1]) {
    const seen = keep.filter((b) => b.epoch === e).flatMap((b) => b.indices).sort((a, b) => a - b);
    assert.equal(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
  const drop = await collect(toy(10), { batchSize: 4, seed: 1, endEpoch: 1 });
  assert.equal(drop.map((b) => b.indices.length), [4, 4]);
  assert.is(new Set(drop.flatMap((b) => b.indices)).size, 8);
  assert.is(stepsPerEpoch(10, 4, true), 2);
  assert.is(stepsPerEpoch(10, 4, false), 3);
  const ordered = await collect(toy(5), { batchSize: 5, seed: 1, shuffle: false, endEpoch: 1 });
  assert.equal(ordered[0]!.indices, [0, 1, 2, 3, 4]);
});

test('the order is a function of (seed, epoch): repeatable, new each epoch, new with another seed', async () => {
  const a = await collect(toy(10), { batchSize: 5, seed: 3, endEpoch: 3 });
  const b = await collect(toy(10), { batchSize: 5, seed: 3, endEpoch: 3 });
  assert.equal(a, b);
  assert.not.equal(Array.from(epochOrder(10, 3, 0)), Array.from(epochOrder(10, 3, 1)));
  assert.not.equal(Array.from(epochOrder(10, 3, 0)), Array.from(epochOrder(10, 4, 0)));
  assert.equal(a.filter((x) => x.epoch === 1).flatMap((x) => x.indices), Array.from(epochOrder(10, 3, 1)));
});

test('resuming at (epoch, step) yields exactly the rest of the full run, tensors included', async () => {
  const opts = { batchSize: 3, seed: 9, augment: randomHorizontalFlip(), endEpoch: 3 };
  const full: number[][] = [];
  const all = await collect(toy(10), opts, (b) => full.push(Array.from(b.x.dataSync())));
  const at = positionOf(4, stepsPerEpoch(10, 3, true)); // 3 steps per epoch: global step 4 = epoch 1, step 1
  assert.equal(at, { epoch: 1, step: 1 });
  const resumed: number[][] = [];
  const rest = await collect(toy(10), { ...opts, start: at }, (b) => resumed.push(Array.from(b.x.dataSync())));
  assert.equal(rest, all.slice(4));
  assert.equal(resumed, full.slice(4));
  assert.throws(() => loadBatches(toy(10), { ...opts, start: { epoch: 0, step: 3 } }), /0 <= step < 3/);
});

test('batches: x = 2 raw - 1 [B, H, W, C], y int32 [B] matching the indices', async () => {
  for await (const b of loadBatches(toy(10), { batchSize: 4, seed: 0, endEpoch: 1 })) {
    assert.equal(b.x.shape, [4, 2, 3, 1]);
    assert.equal(b.raw.shape, [4, 2, 3, 1]);
    assert.is(b.y.dtype, 'int32');
    assert.equal(Array.from(b.y.dataSync()), Array.from(b.indices, (i) => i % 4));
    const raw = b.raw.dataSync(), x = b.x.dataSync();
    b.indices.forEach((i, k) => assert.ok(Math.abs(raw[k * 6]! - i / 10) < 1e-6));
    for (let k = 0; k < x.length; k++) assert.ok(Math.abs(x[k]! - (2 * raw[k]! - 1)) < 1e-6);
    tf.dispose([b.x, b.raw, b.y]);
  }
});

test('augmentation draws from (seed, epoch, index): flips are deterministic and about half', async () => {
  const img = Float32Array.from([1, 2, 3, 4, 5, 6]);
  assert.equal(Array.from(flipHorizontal(img, [2, 3, 1])), [3, 2, 1, 6, 5, 4]);
  let flipped = 0;
  await collect(toy(10), { batchSize: 10, seed: 5, augment: randomHorizontalFlip(), endEpoch: 20 }, (b) => {
    const raw = b.raw.dataSync();
    b.indices.forEach((_, k) => (flipped += raw[k * 6]! > raw[k * 6 + 2]! ? 1 : 0));
  });
  assert.ok(flipped > 70 && flipped < 130, `${flipped} of 200 flipped`);
  assert.throws(() => randomHorizontalFlip(2), /p = 2 must be in \[0, 1\]/);
});

test('prefetch: batch k+1 is being prepared when batch k arrives; prefetch 0 does not', async () => {
  const calls: number[] = [];
  const it = loadBatches(toy(12, calls), { batchSize: 4, seed: 2, endEpoch: 1 });
  const first = (await it.next()).value as LoaderBatch;
  const order = epochOrder(12, 2, 0);
  assert.equal(calls, Array.from(order.slice(0, 8)), 'batches 0 and 1 were requested before batch 0 was yielded');
  tf.dispose([first.x, first.raw, first.y]);
  await it.return();
  const lazy: number[] = [];
  const it0 = loadBatches(toy(12, lazy), { batchSize: 4, seed: 2, prefetch: 0, endEpoch: 1 });
  const b0 = (await it0.next()).value as LoaderBatch;
  assert.is(lazy.length, 4);
  tf.dispose([b0.x, b0.raw, b0.y]);
  await it0.return();
});

test('no tensor leaks across batches, nor when the consumer breaks out early', async () => {
  const before = tf.memory().numTensors;
  let during = -1;
  let n = 0;
  for await (const b of loadBatches(toy(10), { batchSize: 2, seed: 0, prefetch: 2 })) {
    if (during < 0) during = tf.memory().numTensors;
    assert.is(tf.memory().numTensors, during, `step ${n}`);
    tf.dispose([b.x, b.raw, b.y]);
    if (++n === 12) break; // infinite stream: past one epoch, then break
  }
  assert.is(during, before + 3);
  assert.is(tf.memory().numTensors, before);
});

test('MNIST padded to 32 through the loader: [B, 32, 32, 1] in [-1, 1] with a -1 border', async () => {
  const train = fitImageSize(mnist({ split: 'test' }), [32, 32], { kind: 'pad' });
  const it = loadBatches(train, { batchSize: 16, seed: 0 });
  const { x, raw, y } = (await it.next()).value as LoaderBatch;
  await it.return();
  assert.equal(x.shape, [16, 32, 32, 1]);
  const xv = x.dataSync();
  assert.ok(xv.every((v) => v >= -1 && v <= 1));
  assert.is(xv[0], -1);
  assert.ok(Math.max(...xv) > 0.9);
  assert.ok(y.dataSync().every((l) => l >= 0 && l < 10));
  tf.dispose([x, raw, y]);
});

test.run();
