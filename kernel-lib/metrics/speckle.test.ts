import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { countSpeckle, emptySpeckleCount, speckleRate } from './speckle';

/** A black H x W x C image stack with the listed (n, i, j, c) pixels white. */
function images(count: number, H: number, W: number, C: number, white: [number, number, number, number][]): Float32Array {
  const x = new Float32Array(count * H * W * C).fill(-1);
  for (const [n, i, j, c] of white) x[((n * H + i) * W + j) * C + c] = 1;
  return x;
}

test('a lone white dot is one isolated pixel; its black neighbours are not', () => {
  const c = countSpeckle(emptySpeckleCount(), images(1, 5, 5, 1, [[0, 2, 2, 0]]), 1, 5, 5, 1);
  assert.equal(c, { isolated: 1, pixels: 9 });
  assert.ok(Math.abs(speckleRate(c) - 1000 / 9) < 1e-9);
});

test('a solid block has isolated corners only; a flat image has none', () => {
  const block: [number, number, number, number][] = [];
  for (let i = 2; i <= 5; i++) for (let j = 2; j <= 5; j++) block.push([0, i, j, 0]);
  assert.is(countSpeckle(emptySpeckleCount(), images(1, 8, 8, 1, block), 1, 8, 8, 1).isolated, 4);
  assert.is(countSpeckle(emptySpeckleCount(), images(2, 6, 6, 3, []), 2, 6, 6, 3).isolated, 0);
});

test('channels and images are counted separately and accumulate; small deviations are not speckle', () => {
  const acc = emptySpeckleCount();
  countSpeckle(acc, images(2, 5, 5, 3, [[1, 2, 2, 2]]), 2, 5, 5, 3);
  assert.equal(acc, { isolated: 1, pixels: 2 * 3 * 9 });
  const grey = images(1, 5, 5, 1, []);
  grey[12] = -0.1; // 0.9 above its neighbours: under the threshold of 1
  assert.is(countSpeckle(emptySpeckleCount(), grey, 1, 5, 5, 1).isolated, 0);
  assert.ok(Number.isNaN(speckleRate(emptySpeckleCount())));
  assert.throws(() => countSpeckle(emptySpeckleCount(), new Float32Array(10), 1, 5, 5, 1), /10 values for 1 images of 5x5x1/);
});

test.run();
