import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { componentSizes, countStrayMarks, emptyStrayMarkCount, strayMarkRate } from './stray-marks';

/** `count` H x W x C images of value `bg` with the listed (n, i, j) pixels set to `fg` in every channel. */
function images(count: number, H: number, W: number, C: number, on: [number, number, number][], bg = -1, fg = 1): Float32Array {
  const x = new Float32Array(count * H * W * C).fill(bg);
  for (const [n, i, j] of on) for (let c = 0; c < C; c++) x[((n * H + i) * W + j) * C + c] = fg;
  return x;
}

/** A vertical stroke in column 3, rows 1..8 of a 10 x 10 image. */
const stroke = (n: number): [number, number, number][] => Array.from({ length: 8 }, (_, k) => [n, k + 1, 3]);

test('componentSizes: 8-connected, largest first', () => {
  const fg = new Uint8Array(25);
  for (const p of [0, 6, 12, 4, 20, 21]) fg[p] = 1; // a diagonal of 3, a lone corner, a pair
  assert.equal(componentSizes(fg, 5, 5), [3, 2, 1]);
  assert.equal(componentSizes(new Uint8Array(9), 3, 3), []);
});

test('a dot beside a stroke is a stray mark; the stroke alone, or two long strokes, are not; a short broken-off part is', () => {
  const acc = emptyStrayMarkCount();
  countStrayMarks(acc, images(1, 10, 10, 1, [...stroke(0), [0, 5, 7]]), 1, 10, 10, 1);
  assert.equal(acc, { marked: 1, images: 1 });
  countStrayMarks(acc, images(1, 10, 10, 1, stroke(0)), 1, 10, 10, 1);
  const broken = stroke(0).filter(([, i]) => i !== 5); // rows 1-4 and 6-8 of one column
  const long: [number, number, number][] = [...stroke(0), ...stroke(0).map(([n, i]) => [n, i, 6] as [number, number, number])];
  countStrayMarks(acc, images(1, 10, 10, 1, long), 1, 10, 10, 1);
  assert.equal(acc, { marked: 1, images: 3 });
  // the smaller part (3 pixels) is a mark at the default size (4), not at 2
  assert.is(countStrayMarks(emptyStrayMarkCount(), images(1, 10, 10, 1, broken), 1, 10, 10, 1).marked, 1);
  assert.is(countStrayMarks(emptyStrayMarkCount(), images(1, 10, 10, 1, broken), 1, 10, 10, 1, 2).marked, 0);
  assert.ok(Math.abs(strayMarkRate(acc) - 1 / 3) < 1e-12);
  assert.ok(Number.isNaN(strayMarkRate(emptyStrayMarkCount())));
});

test('the background is read off the border: dark marks on white count, faint ones do not; channels are averaged', () => {
  const dark = images(1, 10, 10, 3, [...stroke(0), [0, 5, 7]], 1, -1);
  assert.is(countStrayMarks(emptyStrayMarkCount(), dark, 1, 10, 10, 3).marked, 1);
  const faint = images(1, 10, 10, 1, [...stroke(0)]);
  faint[5 * 10 + 7] = -0.1; // 0.9 above the background: under the threshold of 1
  assert.is(countStrayMarks(emptyStrayMarkCount(), faint, 1, 10, 10, 1).marked, 0);
  // a mark in one of three channels only: its mean is 1/3 of the way, not foreground
  const oneChannel = images(1, 10, 10, 3, stroke(0));
  oneChannel[(5 * 10 + 7) * 3] = 1;
  assert.is(countStrayMarks(emptyStrayMarkCount(), oneChannel, 1, 10, 10, 3).marked, 0);
  assert.throws(() => countStrayMarks(emptyStrayMarkCount(), new Float32Array(10), 1, 5, 5, 1), /10 values for 1 images of 5x5x1/);
});

test.run();
