import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededSplit } from './dataset';
import { mnist, mnistAll, mnistSplits } from './mnist';

const t0 = performance.now();
const all = mnistAll();
const loadMs = performance.now() - t0;

async function labelsOf(ds: { size: number; get: (i: number) => Promise<{ label: number }> }): Promise<number[]> {
  return Promise.all(Array.from({ length: ds.size }, async (_, i) => (await ds.get(i)).label));
}

test(`all 10,000 digits load (${loadMs.toFixed(0)} ms): [28, 28, 1], labels 0..9 with the package's per-digit counts`, async () => {
  assert.is(all.size, 10000);
  assert.equal(all.imageSize, [28, 28]);
  assert.is(all.channels, 1);
  assert.is(all.numClasses, 10);
  assert.is(all.background, 0);
  const counts = new Array(10).fill(0);
  for (const l of await labelsOf(all)) counts[l]++;
  assert.equal(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
});

test('pixels lie in [0, 1], the background is 0 and every digit has ink', async () => {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < all.size; i += 97) {
    const { image } = await all.get(i);
    assert.is(image.length, 784);
    assert.is(image[0], 0);
    let ink = 0;
    for (const v of image) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      ink += v;
    }
    assert.ok(ink > 10, `digit ${i} has ink ${ink}`);
  }
  assert.is(lo, 0);
  assert.ok(hi > 0.99 && hi <= 1);
});

test('the default split is 9,000 / 1,000, disjoint, deterministic and seed-dependent', async () => {
  const { train, test: held } = mnistSplits(0);
  assert.is(train.size, 9000);
  assert.is(held.size, 1000);
  const { train: tr, test: te } = seededSplit(10000, 1000, 0);
  assert.is(new Set([...tr, ...te]).size, 10000); // disjoint and complete
  // the datasets are those index lists: same images, same labels
  for (const k of [0, 499, 999]) assert.equal((await held.get(k)).image, (await all.get(te[k]!)).image);
  const again = mnist({ split: 'test', seed: 0 });
  assert.equal(await labelsOf(again), await labelsOf(held));
  const other = seededSplit(10000, 1000, 1).test;
  assert.not.equal(Array.from(other), Array.from(te));
  const counts = new Array(10).fill(0);
  for (const l of await labelsOf(held)) counts[l]++;
  assert.ok(counts.every((c) => c > 50), `every digit is in the test split: ${counts}`);
  assert.is(mnist({ split: 'train', testSize: 2000 }).size, 8000);
});

test('indices out of range reject, naming the dataset', async () => {
  const message = (p: Promise<unknown>) => p.then(() => '', (e: Error) => e.message);
  assert.match(await message(all.get(10000)), /mnist: index 10000 out of range \[0, 10000\)/);
  assert.match(await message(mnistSplits(0).train.get(-1)), /mnist-train: index -1/);
});

test.run();
