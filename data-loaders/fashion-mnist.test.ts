import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FASHION_MNIST_CLASSES, fashionMnist } from './fashion-mnist';

const t0 = performance.now();
const train = fashionMnist({ split: 'train' });
const held = fashionMnist({ split: 'test' });
const loadMs = performance.now() - t0;

async function classCounts(ds: typeof train): Promise<number[]> {
  const counts = new Array(ds.numClasses).fill(0);
  for (let i = 0; i < ds.size; i++) counts[(await ds.get(i)).label]++;
  return counts;
}

test(`60,000 train + 10,000 test (${loadMs.toFixed(0)} ms), 10 balanced classes, [28, 28, 1]`, async () => {
  assert.is(train.size, 60000);
  assert.is(held.size, 10000);
  assert.equal(train.imageSize, [28, 28]);
  assert.is(train.channels, 1);
  assert.equal(train.classNames, FASHION_MNIST_CLASSES);
  assert.equal(await classCounts(train), new Array(10).fill(6000));
  assert.equal(await classCounts(held), new Array(10).fill(1000));
});

test('pixels are bytes / 255 in [0, 1] with a dark border', async () => {
  let hi = 0;
  for (let i = 0; i < held.size; i += 211) {
    const { image } = await held.get(i);
    assert.is(image.length, 784);
    for (const v of image) {
      assert.ok(v >= 0 && v <= 1);
      assert.ok(Math.abs(v * 255 - Math.round(v * 255)) < 1e-4);
      hi = Math.max(hi, v);
    }
    assert.ok(image[0]! < 0.1, `corner of ${i}`);
  }
  assert.is(hi, 1);
});

test('missing files name the Debian package to install', () => {
  assert.throws(() => fashionMnist({ split: 'train', dir: '/nonexistent' }), (e: Error) => e.message.includes('apt-get install dataset-fashion-mnist'));
});

test.run();
