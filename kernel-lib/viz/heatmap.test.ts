import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { colorize, colormapRgb, formatTick, plotlyColorscale, heatmapPng, heatmapRange, imagePanels, panelsGeometry, panelsPng, textWidth, type Panel } from './heatmap';
import { toUint8 } from './image-grid';

/** Decodes PNG bytes to raw RGB. */
async function decode(png: Buffer): Promise<{ width: number; height: number; px: (x: number, y: number) => number[] }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  return { width: info.width, height: info.height, px };
}

test('colormaps at known values: viridis ends and middle, diverging blue / white / red, clipping and NaN', () => {
  // matplotlib viridis: #440154 at 0, #21918c at 0.5 (entry 128), #fde725 at 1
  assert.equal(colormapRgb('viridis', 0), [0x44, 0x01, 0x54]);
  assert.equal(colormapRgb('viridis', 0.5), [0x21, 0x91, 0x8c]);
  assert.equal(colormapRgb('viridis', 1), [0xfd, 0xe7, 0x25]);
  // RdBu reversed: #053061 (dark blue) at 0, #f7f7f7 at 0.5, #67001f (dark red) at 1
  assert.equal(colormapRgb('diverging', 0), [0x05, 0x30, 0x61]);
  assert.equal(colormapRgb('diverging', 0.5), [0xf7, 0xf7, 0xf7]);
  assert.equal(colormapRgb('diverging', 1), [0x67, 0x00, 0x1f]);
  // halfway between the first two stops (0 and 0.1): mean of #053061 and #2166ac, rounded
  assert.equal(colormapRgb('diverging', 0.05), [Math.round((5 + 33) / 2), Math.round((48 + 102) / 2), Math.round((97 + 172) / 2)]);
  assert.equal(colormapRgb('grey', 0.5), [128, 128, 128]);
  assert.equal(colormapRgb('viridis', -3), colormapRgb('viridis', 0), 'clipped below');
  assert.equal(colormapRgb('viridis', 7), colormapRgb('viridis', 1), 'clipped above');
  assert.equal(colormapRgb('viridis', Number.NaN), colormapRgb('viridis', 0), 'NaN as the low end');
  assert.throws(() => colormapRgb('jet' as never, 0.5), /unknown colormap "jet"/);
});

test('heatmapRange: [min, max], symmetric for the diverging map, constant and non-finite data', () => {
  assert.equal(heatmapRange([1, 3, 2], 'viridis'), [1, 3]);
  assert.equal(heatmapRange([-1, 3, 2], 'diverging'), [-3, 3]);
  assert.equal(heatmapRange([2, 2], 'viridis'), [1.5, 2.5]);
  assert.equal(heatmapRange([0, 0], 'diverging'), [-1, 1]);
  assert.equal(heatmapRange([Number.NaN, 4, Infinity, 2], 'viridis'), [2, 4]);
});

test('colorize: signed values map to blue, white and red around 0', () => {
  const rgb = colorize([-2, 0, 2, 1], 'diverging');
  assert.equal([...rgb.subarray(0, 3)], [0x05, 0x30, 0x61]);
  assert.equal([...rgb.subarray(3, 6)], [0xf7, 0xf7, 0xf7]);
  assert.equal([...rgb.subarray(6, 9)], [0x67, 0x00, 0x1f]);
  assert.equal([...rgb.subarray(9, 12)], colormapRgb('diverging', 0.75));
  assert.equal([...colorize([5], 'viridis', [0, 10])], colormapRgb('viridis', 0.5));
  assert.throws(() => colorize([1], 'viridis', [1, 1]), /hi > lo/);
});

test('panelsGeometry: cells as large as the largest panel, wrapped rows, title and colour-bar bands', () => {
  const a: Panel = { kind: 'heatmap', data: new Float32Array(2 * 4), rows: 2, cols: 4 };
  const b: Panel = { kind: 'image', data: new Float32Array(8 * 8), rows: 8, cols: 8, channels: 1 };
  const g = panelsGeometry([a, b, a], { scale: 2, gap: 3, cols: 2, fontSize: 10 });
  // cell 16 x 16 (b at scale 2); colour bar band 4 + 8 + 10 + 4 = 26; no titles
  assert.equal(g.cells[0], { x: 3 + 4, y: 3, w: 8, h: 4, scale: 2 }, 'centred horizontally, top-aligned');
  assert.equal(g.cells[1], { x: 3 + 16 + 3, y: 3, w: 16, h: 16, scale: 2 });
  assert.equal(g.cells[2], { x: 3 + 4, y: 3 + 16 + 26 + 3, w: 8, h: 4, scale: 2 }, 'second row');
  assert.equal([g.width, g.height], [3 + 2 * (16 + 3), 3 + 2 * (16 + 26 + 3)]);
  assert.equal(g.colorbars[0], { x: 3 + 4, y: 3 + 16 + 4, w: 8, h: 8 }, 'under the full cell height');
  assert.is(g.colorbars[1], null, 'images have no colour bar');
  // default size 160: scale floor(160 / 8) = 20
  assert.is(panelsGeometry([b]).cells[0]!.scale, 20);
  // titles widen the cells; a figure title widens the canvas
  const titled = panelsGeometry([{ ...a, title: 'a long panel title' }], { scale: 2, gap: 3, fontSize: 10 });
  assert.is(titled.cells[0]!.x, 3 + Math.floor((textWidth('a long panel title', 10) - 8) / 2));
  assert.is(titled.width, 3 + textWidth('a long panel title', 10) + 3);
  const wide = panelsGeometry([a], { scale: 2, gap: 3, fontSize: 10, title: 'a much longer figure title' });
  assert.is(wide.width, textWidth('a much longer figure title', 10) + 6);
  assert.is(wide.cells[0]!.x, Math.floor((wide.width - (3 + 8 + 3)) / 2) + 3, 'the grid is centred under the title');
  assert.throws(() => panelsGeometry([]), /no panels/);
  assert.throws(() => panelsGeometry([{ ...a, data: new Float32Array(7) }]), /needs 8 values, got 7/);
  assert.throws(() => panelsGeometry([a], { scale: 1.5 }), /integer/);
});

test('panelsPng: PNG size and colours at known cells (heatmap, colour bar ends, grey image)', async () => {
  // 2 x 2 signed matrix: -1 0 / 0.5 1 ; diverging range [-1, 1]
  const heat: Panel = { kind: 'heatmap', data: [-1, 0, 0.5, 1], rows: 2, cols: 2, colormap: 'diverging', title: 'W' };
  const img: Panel = { kind: 'image', data: [-1, 1, 0, 0.5], rows: 2, cols: 2, channels: 1 };
  const opts = { scale: 5, gap: 2, fontSize: 10 };
  const png = await panelsPng([heat, img], opts);
  const g = panelsGeometry([heat, img], opts);
  const pic = await decode(png);
  assert.equal([pic.width, pic.height], [g.width, g.height]);
  const h = g.cells[0]!;
  assert.equal(pic.px(h.x + 1, h.y + 1), [0x05, 0x30, 0x61], '-1 is dark blue');
  assert.equal(pic.px(h.x + 5 + 4, h.y + 4), [0xf7, 0xf7, 0xf7], '0 is white (row 0, col 1)');
  assert.equal(pic.px(h.x + 2, h.y + 5 + 2), colormapRgb('diverging', 0.75), '0.5 at row 1, col 0');
  assert.equal(pic.px(h.x + 9, h.y + 9), [0x67, 0x00, 0x1f], '1 is dark red');
  const bar = g.colorbars[0]!;
  assert.equal(pic.px(bar.x, bar.y + 2), [0x05, 0x30, 0x61], 'colour bar starts at the low end');
  assert.equal(pic.px(bar.x + bar.w - 1, bar.y + 2), [0x67, 0x00, 0x1f], 'and ends at the high end');
  const im = g.cells[1]!;
  const u = (v: number) => [toUint8(v), toUint8(v), toUint8(v)];
  assert.equal(pic.px(im.x + 1, im.y + 1), u(-1));
  assert.equal(pic.px(im.x + 6, im.y + 1), u(1));
  assert.equal(pic.px(im.x + 6, im.y + 6), u(0.5));
  assert.equal(pic.px(0, 0), [255, 255, 255], 'white background');
});

test('heatmapPng: one panel, viridis by default', async () => {
  const png = await heatmapPng({ data: [0, 1, 2, 3, 4, 5], rows: 2, cols: 3 }, { scale: 4, colorbar: false, gap: 0 });
  const pic = await decode(png);
  assert.equal([pic.width, pic.height], [12, 8]);
  assert.equal(pic.px(0, 0), [0x44, 0x01, 0x54]);
  assert.equal(pic.px(11, 7), [0xfd, 0xe7, 0x25]);
});

test('plotlyColorscale: the same colours as the PNG heatmaps, from 0 to 1', () => {
  const cs = plotlyColorscale('diverging', 3);
  assert.equal(cs.map(([u]) => u), [0, 0.5, 1]);
  assert.equal(cs.map(([, c]) => c), [0, 0.5, 1].map((u) => `rgb(${colormapRgb('diverging', u).join(',')})`));
  assert.is(plotlyColorscale('viridis').length, 17);
});

test('formatTick: short labels', () => {
  assert.equal([0, 1, -0.5, 1.23456, 12345, 0.0001234, 100].map(formatTick), ['0', '1', '-0.5', '1.23', '1.23e+4', '1.23e-4', '100']);
});

test('imagePanels: one panel per image; images of different sizes share a display size', async () => {
  const small = tf.fill([2, 4, 4, 1], 0.5);
  const before = tf.memory().numTensors;
  const a = await imagePanels(small, ['1x']);
  assert.is(tf.memory().numTensors, before, 'the tensor is read, not disposed or copied');
  const b = await imagePanels({ data: new Float32Array(2 * 8 * 8), shape: [2, 8, 8, 1] });
  assert.equal(a.map((p) => [p.rows, p.cols, p.title]), [[4, 4, '1x'], [4, 4, undefined]]);
  assert.equal(Array.from(a[1]!.data), Array(16).fill(0.5));
  const g = panelsGeometry([...a, ...b], { cols: 2, size: 32 });
  assert.equal(g.cells.map((c) => [c.w, c.scale]), [[32, 8], [32, 8], [32, 4], [32, 4]]);
  const bad = tf.zeros([2, 4, 4]);
  let err: unknown = null;
  await imagePanels(bad as never).catch((e) => (err = e));
  assert.match(String(err), /expected images/);
  bad.dispose();
  small.dispose();
});

test.run();
