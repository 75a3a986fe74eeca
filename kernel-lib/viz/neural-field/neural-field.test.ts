import '../../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { createConfig, type ModelConfig, type NerfHeadConfig } from '../../config/model-config';
import { initParams } from '../../model/params';
import { panelsGeometry } from '../heatmap';
import { captureDisplays } from '../display';
import { PLOTLY_MIME, resetPlotlyBundle } from '../plotly';
import {
  columnNormRecords,
  columnNorms,
  coordBasis,
  coordBasisPng,
  cropImage,
  decodeDense,
  denseDecodePng,
  fieldWeightsFigure,
  fieldWeightsPng,
  showFieldWeights,
  histogram,
  linearFiltersPng,
  linearHeadFilters,
  patchFieldWeights,
  outputComparisonPng,
  patchOutputRms,
  patchStatGrid,
  patchStatMapPng,
  patchStatsHistogramSpec,
  patchWeightStats,
  probeField,
  probeOutput,
  rowNorms,
  type FieldProbe,
} from './index';

// A tiny nerf model: 16 px grey, p = 4 (a 4 x 4 patch grid), hx = 8, r = 2, 2 field blocks, DCT with M = 4.
const CFG: ModelConfig = createConfig({
  imageSize: 16,
  inChannels: 1,
  patchSize: 4,
  hiddenSize: 32,
  numHeads: 2,
  depth: 1,
  numClasses: 3,
  head: { width: 8, mlpRatio: 2, blocks: 2, maxFreqs: 4 },
});
const LINEAR: ModelConfig = createConfig({ ...CFG, inChannels: 3, head: { kind: 'linear' } });

/** The final layer is zero at init: give it values so that outputs are not all zero. */
function randomise(params: Record<string, tf.Variable>, name: string, seed: number): void {
  const v = params[name]!;
  v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.5, 'float32', seed)));
}

const params = initParams(CFG, 1);
randomise(params, 'final_layer.linear.weight', 2);
const image = { data: Float32Array.from({ length: 16 * 16 }, (_, i) => Math.sin(i / 7)), shape: [1, 16, 16, 1] as [number, number, number, number] };

async function size(png: Buffer): Promise<[number, number]> {
  const m = await sharp(png).metadata();
  return [m.width!, m.height!];
}

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('probeField: shapes, normalised columns, raw weights that normalise to the used ones, no tensor leak', () => {
  const before = tf.memory().numTensors;
  const probe = probeField(params, CFG, image, { t: 0.4, label: 1, seed: 3 });
  assert.is(tf.memory().numTensors, before, 'no tensor outlives the call');
  assert.equal([probe.gridH, probe.gridW, probe.hx, probe.hr, probe.weights.length], [4, 4, 8, 16, 2]);
  assert.equal(probe.xt.shape, [1, 16, 16, 1]);
  assert.is(probe.weights[0]!.fc1.length, 16 * 8 * 16);
  assert.is(probe.weights[1]!.fc2Raw.length, 16 * 16 * 8);
  // x_hat = x_t + (1 - t) v
  for (const i of [0, 100, 255]) assert.ok(close(probe.xHat.data[i]!, probe.xt.data[i]! + 0.6 * probe.v.data[i]!));
  const w = patchFieldWeights(probe, { block: 1, patch: 5 });
  assert.equal([w.W1.rows, w.W1.cols, w.W2.rows, w.W2.cols], [8, 16, 16, 8]);
  for (const n of columnNorms(w.W1)) assert.ok(close(n, 1, 1e-4), `W1 column norm ${n}`);
  for (const n of columnNorms(w.W2)) assert.ok(close(n, 1, 1e-4), `W2 column norm ${n}`);
  const rawNorms = columnNorms(w.W1raw);
  assert.ok(rawNorms.some((n) => Math.abs(n - 1) > 1e-2), 'the raw columns are not unit norm');
  // used = raw / column norm (element (r, c) of W1)
  for (const [r, c] of [[0, 0], [3, 7], [7, 15]] as const) assert.ok(close(w.W1.data[r * 16 + c]!, w.W1raw.data[r * 16 + c]! / rawNorms[c]!, 1e-4));
  const recs = columnNormRecords(probe, { block: 1, patch: 5 });
  assert.is(recs.length, 16 + 8);
  assert.equal(recs[3], { matrix: 'W1', column: 3, raw: rawNorms[3]!, used: columnNorms(w.W1)[3]! });
  assert.throws(() => patchFieldWeights(probe, { patch: 16 }), /patch must be 0\.\.15/);
  assert.throws(() => patchFieldWeights(probe, { block: 2 }), /block must be 0\.\.1/);
});

test('columnNorms and rowNorms of a hand-made matrix', () => {
  const m = { data: [3, 0, 4, 0, 1, 0], rows: 2, cols: 3 }; // [[3, 0, 4], [0, 1, 0]]
  assert.equal([...columnNorms(m)], [3, 1, 4]);
  assert.equal([...rowNorms(m)], [5, 1]);
});

/** A hand-made probe: L = 4 patches (2 x 2), hx = 1, hr = 2, one block. */
function fakeProbe(fc1: number[][], fc1Raw: number[][]): FieldProbe {
  const flat = (a: number[][]) => Float32Array.from(a.flat());
  const img = { data: new Float32Array(4 * 4), shape: [1, 4, 4, 1] as [number, number, number, number] };
  return {
    t: 0.5, label: 0, prediction: 'v', H: 4, W: 4, C: 1, p: 2, gridH: 2, gridW: 2, xt: img, v: img, xHat: img,
    head: { ...(CFG.head as NerfHeadConfig), width: 1, mlpRatio: 2, blocks: 1 }, hx: 1, hr: 2,
    weights: [{ fc1: flat(fc1), fc2: flat(fc1), fc1Raw: flat(fc1Raw), fc2Raw: flat(fc1Raw) }],
  };
}

test('patchWeightStats: raw norm, deviation from the mean field, mean |w|; the grid and histogram', () => {
  // patches 0..2 share W1 = [1, 0]; patch 3 has [0, 1]. mean = [0.75, 0.25], ||mean|| = sqrt(0.625)
  const probe = fakeProbe([[1, 0], [1, 0], [1, 0], [0, 1]], [[3, 4], [0, 2], [1, 0], [0, 0]]);
  const stats = patchWeightStats(probe);
  assert.is(stats.length, 4 * 2, 'per patch, for W1 and W2');
  const w1 = stats.filter((s) => s.matrix === 'W1');
  assert.equal(w1.map((s) => s.rawNorm), [5, 2, 1, 0]);
  assert.equal(w1.map((s) => [s.row, s.col]), [[0, 0], [0, 1], [1, 0], [1, 1]]);
  const m = Math.sqrt(0.625);
  assert.ok(close(w1[0]!.deviation, Math.sqrt(0.25 ** 2 + 0.25 ** 2) / m));
  assert.ok(close(w1[3]!.deviation, Math.sqrt(0.75 ** 2 + 0.75 ** 2) / m));
  assert.ok(close(w1[0]!.meanAbs, 0.5));
  const grid = patchStatGrid(stats, { stat: 'rawNorm', matrix: 'W1' }, 2, 2);
  assert.equal([grid.rows, grid.cols, ...Array.from(grid.data)], [2, 2, 5, 2, 1, 0]);
  assert.throws(() => patchStatGrid(stats, { stat: 'rawNorm', block: 1 }, 2, 2), /no W1 statistics for block 1/);
  const spec = patchStatsHistogramSpec(stats, 'deviation');
  assert.is((spec.data as { values: unknown[] }).values.length, 8);
  assert.equal(histogram([0, 1, 2, 3, 4, 4], 4), [
    { lo: 0, hi: 1, count: 1 },
    { lo: 1, hi: 2, count: 1 },
    { lo: 2, hi: 3, count: 1 },
    { lo: 3, hi: 4, count: 3 },
  ]);
  assert.equal(histogram([2, 2, Number.NaN]), [{ lo: 2, hi: 2, count: 2 }]);
});

test('fieldWeightsPng and patchStatMapPng: PNG sizes follow the panel layout', async () => {
  const before = tf.memory().numTensors;
  const probe = probeField(params, CFG, image, { t: 0.7, label: 0, seed: 1 });
  const png = await fieldWeightsPng(probe, { block: 0, patch: 3 }, { scale: 4, title: '' });
  const w = patchFieldWeights(probe, { block: 0, patch: 3 });
  const g = panelsGeometry(
    [
      { kind: 'heatmap', ...w.W1, title: 'W1 [hx=8, hx*r=16]' },
      { kind: 'heatmap', ...w.W2, title: 'W2 [hx*r=16, hx=8]' },
    ],
    { scale: 4 },
  );
  assert.equal(await size(png), [g.width, g.height]);
  assert.equal([g.cells[0]!.w, g.cells[0]!.h, g.cells[1]!.w, g.cells[1]!.h], [16 * 4, 8 * 4, 8 * 4, 16 * 4], 'W1 [8, 16] and W2 [16, 8] at scale 4');
  const map = await patchStatMapPng(probe, patchWeightStats(probe), { stat: 'deviation', matrix: 'W2', block: 1 }, { size: 64, fontSize: 1 });
  // three 64 px cells (titles at font size 1 fit): the 16 px images at scale 4, the 4 x 4 map at scale 16
  assert.equal((await size(map))[0], 6 + 3 * (64 + 6));
  assert.is(tf.memory().numTensors, before);
});

test('fieldWeightsFigure / showFieldWeights: two diverging heatmaps whose hover reads row, column and value; PNG as the static picture', async () => {
  const probe = probeField(params, CFG, image, { t: 0.7, label: 0, seed: 1 });
  const fig = fieldWeightsFigure(probe, { block: 1, patch: 5 });
  const traces = fig.data as Array<{ type: string; z: number[][]; zmin: number; zmax: number; hovertemplate: string; xaxis: string }>;
  assert.equal(traces.map((t) => [t.type, t.xaxis, t.z.length, t.z[0]!.length]), [['heatmap', 'x', 8, 16], ['heatmap', 'x2', 16, 8]], 'W1 [hx, hr], W2 [hr, hx]');
  const w = patchFieldWeights(probe, { block: 1, patch: 5 });
  assert.ok(Math.abs(traces[0]!.z[2]![3]! - w.W1.data[2 * 16 + 3]!) < 1e-3 * Math.abs(w.W1.data[2 * 16 + 3]!) + 1e-9, 'z[row][col] is data[row * cols + col]');
  for (const t of traces) assert.is(t.zmin, -t.zmax, 'symmetric range: white at 0');
  assert.match(traces[0]!.hovertemplate, /^W1\[row %\{y\}, col %\{x\}\] = %\{z:.4g\}/);
  assert.equal((fig.layout as { yaxis: { autorange: string } }).yaxis.autorange, 'reversed', 'row 0 at the top');

  const outside = await showFieldWeights(probe, { patch: 5 });
  assert.equal(await size(outside), await size(await fieldWeightsPng(probe, { patch: 5 })));
  resetPlotlyBundle();
  const msgs = await captureDisplays(() => showFieldWeights(probe, { patch: 5 }));
  resetPlotlyBundle();
  assert.is(msgs.length, 2);
  assert.ok(String(msgs[0]!.data['text/html']).includes('window.Plotly = Plotly'), "plotly's cartesian bundle (heatmaps) first");
  assert.ok(String(msgs[0]!.data['text/html']).length > 1_300_000);
  assert.equal(Object.keys(msgs[1]!.data).sort(), [PLOTLY_MIME, 'image/png', 'text/html', 'text/plain']);
  const [w0] = await size(outside);
  assert.equal((msgs[1]!.metadata['image/png'] as { width: number }).width, w0);
  assert.ok(String(msgs[1]!.data['text/html']).includes('max-width:900px'), 'the interactive chart may grow beyond the PNG');
});

test('coordBasis: the DCT features as p x p maps (feature 0 is constant 1); the basis grid PNG', async () => {
  const maps = coordBasis('dct', 4, 4, 4);
  assert.is(maps.length, 16);
  assert.equal([maps[0]!.rows, maps[0]!.cols], [4, 4]);
  assert.equal(Array.from(maps[0]!.data), Array(16).fill(1));
  // feature a*M + b = cos(pi u_x fr_a) cos(pi u_y fr_b) / (1 + fr_a fr_b), fr = linspace(0, 4, 4); a = 1: fr = 4/3
  const fr = 4 / 3;
  assert.ok(close(maps[4]!.data[3]!, Math.cos(Math.PI * 1 * fr), 1e-6), 'row 0, column 3: u_x = 1, u_y = 0');
  assert.is(coordBasis('sincos', 4, 4, 2).length, 8);
  const png = await coordBasisPng(CFG, { scale: 3, gap: 2, title: 'basis' });
  // 4 x 4 grid of 12 px cells, a title band of 12 + 10 px (a title narrower than the grid)
  assert.equal(await size(png), [2 + 4 * (12 + 2), 12 + 10 + 2 + 4 * (12 + 2)]);
  const dense = await coordBasisPng(CFG, { scale: 3, gap: 2, factor: 4, range: 'shared', title: '' });
  assert.equal((await size(dense))[0], 2 + 4 * (48 + 2), 'factor 4: 16 x 16 maps');
  assert.throws(() => coordBasisPng(LINEAR), /needs the neural-field head/);
});

test('decodeDense: 4x the pixels per side, the 1x output equals the probe, factor 1 equals 1x; no tensor leak', async () => {
  const probe = probeField(params, CFG, image, { t: 0.5, label: 2, seed: 4 });
  const before = tf.memory().numTensors;
  const d = decodeDense(params, CFG, probe, { factor: 4 });
  assert.is(tf.memory().numTensors, before, 'no tensor outlives the call');
  assert.equal(d.dense.xHat.shape, [1, 64, 64, 1]);
  assert.is(d.dense.v.data.length, 16 * probe.v.data.length, '4x denser per side: 16x the pixels');
  assert.equal(d.normal.v.shape, [1, 16, 16, 1]);
  for (let i = 0; i < 256; i += 17) assert.ok(close(d.normal.v.data[i]!, probe.v.data[i]!, 1e-4));
  // the dense x_t is x_t upsampled: pixel (5, 9) of the 1x image covers (20..23, 36..39)
  assert.is(d.dense.xt.data[22 * 64 + 37], probe.xt.data[5 * 16 + 9]);
  const same = decodeDense(params, CFG, probe, { factor: 1 });
  // trunkSize = imageSize at factor 1: the same computation as the plain forward pass
  for (let i = 0; i < 256; i += 13) assert.ok(close(same.dense.v.data[i]!, probe.v.data[i]!, 1e-4));
  const crop = cropImage(d.dense.xHat, 16, 4, 16);
  assert.equal(crop.shape, [1, 16, 16, 1]);
  assert.is(crop.data[2 * 16 + 3], d.dense.xHat.data[18 * 64 + 7]);
  const png = await denseDecodePng(probe, d, { patch: 6, scale: 2, fontSize: 1 });
  // three cells as wide as the 16 px dense patch at scale 2
  assert.equal((await size(png))[0], 6 + 3 * (32 + 6));
  const whole = await denseDecodePng(probe, d, { scale: 1, fontSize: 1 });
  assert.equal((await size(whole))[0], 6 + 3 * (64 + 6));
  // default: a display size that both sides divide (16 px x 12 and 64 px x 3 = 192)
  assert.equal((await size(await denseDecodePng(probe, d, { fontSize: 1 })))[0], 6 + 3 * (192 + 6));
  assert.is(tf.memory().numTensors, before);
});

test('the linear head: filters un-patchified from the channel-major weight, per-patch output RMS, PNG', async () => {
  const lp = initParams(LINEAR, 0);
  const { hiddenSize: D, patchSize: p } = LINEAR;
  const C = 3;
  // weight [D, C*p*p] with value d * 1000 + (c * p * p + i * p + j)
  lp['final_layer.linear.weight']!.assign(tf.tensor2d(Float32Array.from({ length: D * C * p * p }, (_, k) => Math.floor(k / (C * p * p)) * 1000 + (k % (C * p * p))), [D, C * p * p]));
  const before = tf.memory().numTensors;
  const f = linearHeadFilters(lp, LINEAR);
  assert.is(f.filters.length, D * p * p * C);
  // filter d = 2, pixel (i, j) = (1, 3), channel c = 2
  assert.is(f.filters[((2 * p + 1) * p + 3) * C + 2], 2000 + 2 * p * p + 1 * p + 3);
  assert.ok(f.norms[1]! > f.norms[0]!);
  const png = await linearFiltersPng(lp, LINEAR, { count: 10, cols: 5, scale: 2, gap: 1, title: '' });
  assert.equal((await size(png))[0], 1 + 5 * (8 + 1));
  assert.is(tf.memory().numTensors, before);
  assert.throws(() => linearHeadFilters(params, CFG), /needs the linear head/);
  assert.throws(() => probeField(lp, LINEAR, { data: new Float32Array(16 * 16 * 3), shape: [1, 16, 16, 3] }, { t: 0.5, label: 0, seed: 0 }), /needs the neural-field head/);
  // probeOutput works for either head
  const out = probeOutput(lp, LINEAR, { data: new Float32Array(16 * 16 * 3), shape: [1, 16, 16, 3] }, { t: 0.5, label: 3, seed: 0 });
  assert.equal(out.v.shape, [1, 16, 16, 3]);
  const nerfRgb = createConfig({ ...CFG, inChannels: 3 });
  const np = initParams(nerfRgb, 0);
  const nerfOut = probeOutput(np, nerfRgb, { data: new Float32Array(16 * 16 * 3), shape: [1, 16, 16, 3] }, { t: 0.5, label: 3, seed: 0 });
  const cmp = await outputComparisonPng([{ name: 'nerf', probe: nerfOut }, { name: 'linear', probe: out }], { scale: 2, gap: 2, fontSize: 1 });
  assert.equal((await size(cmp))[0], 2 + 5 * (32 + 2), 'x_t, two estimates, two maps');
  assert.throws(() => outputComparisonPng([{ name: 'a', probe: out }, { name: 'b', probe: { ...nerfOut, t: 0.2 } }]), /b was probed on another input/);
  tf.dispose(Object.values(np));
  assert.is(tf.memory().numTensors, before);
  tf.dispose(Object.values(lp));
});

test('patchOutputRms: per-patch root mean square', () => {
  // 4 x 4 grey image, p = 2: patch (0, 0) all 1, patch (1, 1) values 0, 0, 3, 4 -> sqrt(25 / 4)
  const data = new Float32Array(16);
  for (const [y, x] of [[0, 0], [0, 1], [1, 0], [1, 1]]) data[y * 4 + x] = 1;
  data[3 * 4 + 2] = 3;
  data[3 * 4 + 3] = 4;
  const rms = patchOutputRms({ data, shape: [1, 4, 4, 1] }, 2);
  assert.equal([rms.rows, rms.cols, ...Array.from(rms.data)], [2, 2, 1, 0, 0, 2.5]);
});

test('probe inputs are checked', () => {
  assert.throws(() => probeField(params, CFG, { data: new Float32Array(8 * 8), shape: [1, 8, 8, 1] }, { t: 0.5, label: 0, seed: 0 }), /expected one image \[1, 16, 16, 1\], got \[1, 8, 8, 1\]/);
  assert.throws(() => probeOutput(params, CFG, image, { t: 1.5, label: 0, seed: 0 }), /t must be in \[0, 1\]/);
  assert.throws(() => probeOutput(params, CFG, image, { t: 0.5, label: 4, seed: 0 }), /label must be an integer in \[0, 3\]/);
});

test.run();
