/**
 * Field weights across patches: per-patch statistics, their histograms and their maps over the image.
 * Overview and legend: ./index.ts.
 */
import { panelsPng, type HeatmapData, type PanelsOptions } from '../heatmap';
import type { ImageBatch } from '../image-grid';
import type { VegaLiteSpec } from '../vega';
import type { FieldProbe } from './probe';
import type { FieldMatrix } from './field-weights';
import { imagePanel } from './internal';

/** Statistics of one patch's generated matrix (a type alias, so that a list of them is a table row list). */
export type PatchWeightStat = {
  block: number;
  matrix: FieldMatrix;
  patch: number;
  row: number;
  col: number;
  /** Frobenius norm of the raw generated matrix. */
  rawNorm: number;
  /** ||W_n - mean_m W_m||_F / ||mean_m W_m||_F over the weights as used: how patch-specific the field is. */
  deviation: number;
  /** Mean |w| of the weights as used. */
  meanAbs: number;
};
export type PatchStatName = 'rawNorm' | 'deviation' | 'meanAbs';
export const PATCH_STAT_NAMES: readonly PatchStatName[] = ['rawNorm', 'deviation', 'meanAbs'];

/** Per block, matrix and patch: rawNorm, deviation and meanAbs (see PatchWeightStat). */
export function patchWeightStats(probe: FieldProbe): PatchWeightStat[] {
  const L = probe.gridH * probe.gridW;
  const n = probe.hx * probe.hr;
  const out: PatchWeightStat[] = [];
  probe.weights.forEach((w, block) => {
    for (const [matrix, used, raw] of [['W1', w.fc1, w.fc1Raw], ['W2', w.fc2, w.fc2Raw]] as const) {
      const mean = new Float64Array(n);
      for (let l = 0; l < L; l++) for (let i = 0; i < n; i++) mean[i] += used[l * n + i]! / L;
      const meanNorm = Math.sqrt(mean.reduce((a, v) => a + v * v, 0));
      for (let l = 0; l < L; l++) {
        let dev = 0;
        let abs = 0;
        let rawSq = 0;
        for (let i = 0; i < n; i++) {
          const u = used[l * n + i]!;
          dev += (u - mean[i]!) ** 2;
          abs += Math.abs(u);
          rawSq += raw[l * n + i]! ** 2;
        }
        out.push({
          block,
          matrix,
          patch: l,
          row: Math.floor(l / probe.gridW),
          col: l % probe.gridW,
          rawNorm: Math.sqrt(rawSq),
          deviation: meanNorm > 0 ? Math.sqrt(dev) / meanNorm : 0,
          meanAbs: abs / n,
        });
      }
    }
  });
  return out;
}

/** One histogram bin: values in [lo, hi) (the last bin includes hi). */
export interface HistogramBin {
  lo: number;
  hi: number;
  count: number;
}

/** `bins` equal-width bins over [min, max] of the finite values (one bin of width 0 when all are equal). */
export function histogram(values: ArrayLike<number>, bins = 20): HistogramBin[] {
  if (!(Number.isInteger(bins) && bins >= 1)) throw new Error(`bins must be an integer >= 1, got ${bins}`);
  const vs = Array.from(values).filter(Number.isFinite);
  if (vs.length === 0) return [];
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  if (hi === lo) return [{ lo, hi, count: vs.length }];
  const width = (hi - lo) / bins;
  const out = Array.from({ length: bins }, (_, b) => ({ lo: lo + b * width, hi: b === bins - 1 ? hi : lo + (b + 1) * width, count: 0 }));
  for (const v of vs) out[Math.min(bins - 1, Math.floor((v - lo) / width))]!.count++;
  return out;
}

/** Histograms of one statistic across patches: a panel per (block, matrix). */
export function patchStatsHistogramSpec(stats: readonly PatchWeightStat[], stat: PatchStatName, opts: { maxbins?: number; title?: string } = {}): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title ?? `${stat} of the generated field weights across patches`,
    data: { values: stats.map((s) => ({ block: `block ${s.block}`, matrix: s.matrix, value: s[stat] })) },
    facet: { row: { field: 'block', type: 'nominal', title: null }, column: { field: 'matrix', type: 'nominal', title: null } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 220,
      height: 110,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'value', type: 'quantitative', bin: { maxbins: opts.maxbins ?? 20 }, title: stat },
        y: { aggregate: 'count', type: 'quantitative', title: 'patches' },
        color: { field: 'matrix', type: 'nominal', legend: null },
      },
    },
  };
}

/** One statistic as a gridH x gridW map (patch n at row n / gridW, column n % gridW). */
export function patchStatGrid(
  stats: readonly PatchWeightStat[],
  sel: { stat: PatchStatName; block?: number; matrix?: FieldMatrix },
  gridH: number,
  gridW: number,
): HeatmapData {
  const block = sel.block ?? 0;
  const matrix = sel.matrix ?? 'W1';
  const data = new Float32Array(gridH * gridW).fill(Number.NaN);
  for (const s of stats) if (s.block === block && s.matrix === matrix) data[s.patch] = s[sel.stat];
  if (data.some(Number.isNaN)) throw new Error(`patchStatGrid: no ${matrix} statistics for block ${block} on every patch of the ${gridH} x ${gridW} grid`);
  return { data, rows: gridH, cols: gridW };
}

/** Per-patch RMS of an image [1, H, W, C] (e.g. the velocity, for either head): a gridH x gridW map. */
export function patchOutputRms(img: ImageBatch, p: number): HeatmapData {
  const [, H, W, C] = img.shape;
  if (H % p !== 0 || W % p !== 0) throw new Error(`patchOutputRms: ${H} x ${W} is not a multiple of the patch ${p}`);
  const gh = H / p;
  const gw = W / p;
  const sums = new Float64Array(gh * gw);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) sums[Math.floor(y / p) * gw + Math.floor(x / p)] += img.data[(y * W + x) * C + c]! ** 2;
  return { data: Float32Array.from(sums, (s) => Math.sqrt(s / (p * p * C))), rows: gh, cols: gw };
}

/** x_t, the clean-image estimate and a per-patch statistic map (viridis), at the same display size. */
export function patchStatMapPng(
  probe: FieldProbe,
  stats: readonly PatchWeightStat[],
  sel: { stat: PatchStatName; block?: number; matrix?: FieldMatrix },
  opts: PanelsOptions = {},
): Promise<Buffer> {
  const grid = patchStatGrid(stats, sel, probe.gridH, probe.gridW);
  return panelsPng(
    [
      imagePanel(probe.xt, `x_t (t = ${probe.t})`),
      imagePanel(probe.xHat, 'estimate x_t + (1-t) v'),
      { kind: 'heatmap', ...grid, colormap: 'viridis', title: `${sel.stat}, ${sel.matrix ?? 'W1'} block ${sel.block ?? 0}` },
    ],
    { size: 160, ...opts },
  );
}
