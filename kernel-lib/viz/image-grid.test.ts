import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { cellOrigin, gridGeometry, imageGridPng, toUint8, toUint8Array, trajectoryStripPng } from './image-grid';

/** Decodes PNG bytes to raw RGB. */
async function decode(png: Buffer): Promise<{ width: number; height: number; px: (x: number, y: number) => number[] }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  return { width: info.width, height: info.height, px };
}

test('toUint8 is clip((x + 1) * 127.5 + 0.5, 0, 255), truncated', () => {
  assert.equal(
    [-1, 1, 0, -2, 2, 0.5, -0.999, Number.NaN, 1e9].map(toUint8),
    [0, 255, 128, 0, 255, 191, 0, 0, 255],
  );
  // (0.5 + 1) * 127.5 = 191.25, + 0.5 = 191.75, truncated: 191
  assert.is(toUint8(0.5), 191);
  assert.is(toUint8(1 / 255), 128, '(1/255 + 1) * 127.5 + 0.5 = 128.5 -> 128');
  assert.equal([...toUint8Array(new Float32Array([-1, 0, 1]))], [0, 128, 255]);
});

test('grid geometry: size, cell origins, default scale and the labels column', () => {
  const g = gridGeometry(6, 32, 32, { cols: 3 });
  assert.is(g.scale, 2, 'ceil(64 / 32)');
  assert.equal([g.rows, g.cols], [2, 3]);
  assert.equal([g.width, g.height], [2 + 3 * (64 + 2), 2 + 2 * (64 + 2)]);
  assert.equal(cellOrigin(g, 1, 2), { x: 2 + 2 * 66, y: 2 + 66 });
  const lg = gridGeometry(4, 8, 8, { rowLabels: ['cat', 'horse'], scale: 1, fontSize: 10 });
  assert.equal([lg.rows, lg.cols], [2, 2]);
  assert.is(lg.labelW, Math.ceil(5 * 10 * 0.6) + 2 * 5);
  assert.throws(() => gridGeometry(5, 8, 8, { rowLabels: ['a'], cols: 2 }), /cannot hold 5 images/);
  assert.throws(() => gridGeometry(4, 8, 8, { scale: 1.5 }), /integer/);
});

test('imageGridPng: PNG size and pixel values at known positions (grey, scale 3)', async () => {
  // 4 grey 2x2 images; image i has value v_i at pixel (0,0) and -1 elsewhere.
  const N = 4, H = 2, W = 2;
  const vals = [-1, -0.5, 0.5, 1];
  const data = new Float32Array(N * H * W).fill(-1);
  vals.forEach((v, i) => (data[i * H * W] = v));
  const png = await imageGridPng({ data, shape: [N, H, W, 1] }, { cols: 2, scale: 3, gap: 1, background: 100 });
  const g = gridGeometry(N, H, W, { cols: 2, scale: 3, gap: 1 });
  const img = await decode(png);
  assert.equal([img.width, img.height], [1 + 2 * 7, 1 + 2 * 7]);
  assert.equal([img.width, img.height], [g.width, g.height]);
  assert.equal(img.px(0, 0), [100, 100, 100], 'border is background');
  for (let i = 0; i < N; i++) {
    const { x, y } = cellOrigin(g, Math.floor(i / 2), i % 2);
    const u = toUint8(vals[i]!);
    // pixel (0,0) covers the 3x3 block at the origin; pixel (1,1) starts at +3
    assert.equal(img.px(x, y), [u, u, u], `image ${i} top-left`);
    assert.equal(img.px(x + 2, y + 2), [u, u, u], `image ${i} upscaled block`);
    assert.equal(img.px(x + 3, y + 3), [0, 0, 0], `image ${i} pixel (1,1)`);
    assert.equal(img.px(x + 5, y), [0, 0, 0], `image ${i} pixel (0,1)`);
  }
  assert.equal(img.px(7, 3), [100, 100, 100], 'gap between columns');
});

test('imageGridPng: RGB tensor input keeps channels; the tensor is not disposed', async () => {
  const x = tf.tensor4d([1, -1, 0, /* px 1 */ -1, 1, -1], [1, 1, 2, 3]);
  const img = await decode(await imageGridPng(x, { scale: 1, gap: 0 }));
  assert.equal([img.width, img.height], [2, 1]);
  assert.equal(img.px(0, 0), [255, 0, 128]);
  assert.equal(img.px(1, 0), [0, 255, 0]);
  assert.is(x.isDisposed, false);
  x.dispose();
});

test('imageGridPng: row labels draw dark text left of the images', async () => {
  const data = new Float32Array(2 * 8 * 8).fill(1); // white images on white background
  const png = await imageGridPng({ data, shape: [2, 8, 8, 1] }, { rowLabels: ['airplane', 'dog'], scale: 4 });
  const g = gridGeometry(2, 8, 8, { rowLabels: ['airplane', 'dog'], scale: 4 });
  const img = await decode(png);
  assert.equal([img.width, img.height], [g.width, g.height]);
  let dark = 0;
  for (let y = 0; y < g.height; y++) for (let x = 0; x < g.labelW; x++) if (img.px(x, y)[0]! < 128) dark++;
  assert.ok(dark > 20, `label text pixels: ${dark}`);
  assert.equal(img.px(g.labelW + 10, 10), [255, 255, 255], 'the images stay untouched');
});

test('trajectoryStripPng: one row per sample, one column per step', async () => {
  const N = 2, T = 3;
  const frames = Array.from({ length: T }, (_, t) => ({ data: new Float32Array(N * 4 * 4).fill(-1 + t), shape: [N, 4, 4, 1] as const }));
  const opts = { scale: 2, gap: 1, colLabels: ['t=0', 't=0.5', 't=1'] };
  const img = await decode(await trajectoryStripPng(frames, opts));
  const g = gridGeometry(N * T, 4, 4, { ...opts, cols: T });
  assert.equal([g.rows, g.cols], [N, T]);
  assert.equal([img.width, img.height], [g.width, g.height]);
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++) {
      const { x, y } = cellOrigin(g, n, t);
      const u = toUint8(-1 + t);
      assert.equal(img.px(x + 4, y + 4), [u, u, u], `sample ${n} step ${t}`);
    }
});

test('bad shapes fail loudly with the shape', async () => {
  let msg = '';
  try {
    await imageGridPng({ data: new Float32Array(8), shape: [1, 2, 2, 2] });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.match(msg, /\[1, 2, 2, 2\]/);
  msg = '';
  try {
    await trajectoryStripPng([
      { data: new Float32Array(4), shape: [1, 2, 2, 1] },
      { data: new Float32Array(8), shape: [2, 2, 2, 1] },
    ]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.match(msg, /frame 1 is \[2, 2, 2, 1\]/);
});

test.run();
