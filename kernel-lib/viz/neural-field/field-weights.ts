/**
 * One patch's generated field weights W1, W2: the matrices, their norms, and their plots (PNG panels, plotly heatmaps).
 * Overview and legend: ./index.ts.
 */
import { showChart } from '../chart';
import { heatmapRange, panelsPng, plotlyColorscale, type HeatmapData, type Panel, type PanelsOptions } from '../heatmap';
import { PLOTLY_BASE_LAYOUT, plotlyTitle, type PlotlyFigure } from '../plotly';
import type { VegaLiteSpec } from '../vega';
import type { FieldProbe } from './probe';

export type FieldMatrix = 'W1' | 'W2';

export interface PatchSelection {
  /** NerfBlock index (0-based, default 0). */
  block?: number;
  /** Patch index n = row * gridW + col (default 0). */
  patch?: number;
}

function selection(probe: FieldProbe, sel: PatchSelection): { block: number; patch: number } {
  const block = sel.block ?? 0;
  const patch = sel.patch ?? 0;
  const L = probe.gridH * probe.gridW;
  if (!(Number.isInteger(block) && block >= 0 && block < probe.weights.length)) throw new Error(`block must be 0..${probe.weights.length - 1}, got ${block}`);
  if (!(Number.isInteger(patch) && patch >= 0 && patch < L)) throw new Error(`patch must be 0..${L - 1} (row * ${probe.gridW} + col), got ${patch}`);
  return { block, patch };
}

/** W1 [hx, hr] and W2 [hr, hx] of one patch, as used and raw. */
export function patchFieldWeights(probe: FieldProbe, sel: PatchSelection = {}): Record<'W1' | 'W2' | 'W1raw' | 'W2raw', HeatmapData> {
  const { block, patch } = selection(probe, sel);
  const { hx, hr } = probe;
  const n = hx * hr;
  const w = probe.weights[block]!;
  const part = (a: Float32Array, rows: number, cols: number): HeatmapData => ({ data: a.subarray(patch * n, (patch + 1) * n), rows, cols });
  return { W1: part(w.fc1, hx, hr), W2: part(w.fc2, hr, hx), W1raw: part(w.fc1Raw, hx, hr), W2raw: part(w.fc2Raw, hr, hx) };
}

/** L2 norm of every column of a row-major [rows, cols] matrix.  -> [cols] */
export function columnNorms(m: HeatmapData): Float32Array {
  const out = new Float32Array(m.cols);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) out[c] += m.data[r * m.cols + c]! ** 2;
  return out.map(Math.sqrt);
}

/** L2 norm of every row.  -> [rows] */
export function rowNorms(m: HeatmapData): Float32Array {
  const out = new Float32Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += m.data[r * m.cols + c]! ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}

/**
 * W1 and W2 of one patch as diverging heatmaps (blue < 0 < red), side by side, each with its
 * own symmetric range. `raw: true` shows the generator's output before normalisation.
 */
export function fieldWeightsPng(probe: FieldProbe, sel: PatchSelection & { raw?: boolean } = {}, opts: PanelsOptions = {}): Promise<Buffer> {
  const { block, patch } = selection(probe, sel);
  const w = patchFieldWeights(probe, { block, patch });
  const suffix = sel.raw ? ' raw' : '';
  const panels: Panel[] = [
    { kind: 'heatmap', ...(sel.raw ? w.W1raw : w.W1), colormap: 'diverging', title: `W1${suffix} [hx=${probe.hx}, hx*r=${probe.hr}]` },
    { kind: 'heatmap', ...(sel.raw ? w.W2raw : w.W2), colormap: 'diverging', title: `W2${suffix} [hx*r=${probe.hr}, hx=${probe.hx}]` },
  ];
  const row = Math.floor(patch / probe.gridW);
  const col = patch % probe.gridW;
  return panelsPng(panels, { size: 256, title: `field block ${block}, patch ${patch} (row ${row}, col ${col}), t = ${probe.t}`, ...opts });
}

/** A row-major matrix as rows of numbers (4 significant digits: the hover text shows that many). */
function matrixRows(m: HeatmapData): number[][] {
  return Array.from({ length: m.rows }, (_, r) => Array.from({ length: m.cols }, (_, c) => Number(m.data[r * m.cols + c]!.toPrecision(4))));
}

/**
 * W1 and W2 of one patch as an interactive plotly figure: two diverging heatmaps (blue < 0 <
 * red, each with its own symmetric range and colour bar, as fieldWeightsPng), rows from the
 * top; hovering a cell shows its matrix, row (input unit), column (output unit) and value.
 */
export function fieldWeightsFigure(probe: FieldProbe, sel: PatchSelection & { raw?: boolean } = {}): PlotlyFigure {
  const { block, patch } = selection(probe, sel);
  const w = patchFieldWeights(probe, { block, patch });
  const suffix = sel.raw ? ' raw' : '';
  const mats = [
    { name: `W1${suffix}`, m: sel.raw ? w.W1raw : w.W1, shape: `[hx=${probe.hx}, hx*r=${probe.hr}]` },
    { name: `W2${suffix}`, m: sel.raw ? w.W2raw : w.W2, shape: `[hx*r=${probe.hr}, hx=${probe.hx}]` },
  ];
  const gap = 0.12;
  const colorscale = plotlyColorscale('diverging');
  const row = Math.floor(patch / probe.gridW);
  const col = patch % probe.gridW;
  const layout: Record<string, unknown> = {
    ...PLOTLY_BASE_LAYOUT,
    title: plotlyTitle(`field block ${block}, patch ${patch} (row ${row}, col ${col}), t = ${probe.t}`),
    height: 460,
    margin: { l: 50, r: 20, t: 70, b: 40 },
    annotations: [] as object[],
  };
  const data = mats.map(({ name, m, shape }, i) => {
    const [, hi] = heatmapRange(m.data, 'diverging');
    const x0 = i === 0 ? 0 : 0.5 + gap / 2;
    const x1 = i === 0 ? 0.5 - gap / 2 - 0.04 : 0.96;
    const id = i === 0 ? '' : '2';
    layout[`xaxis${id}`] = { domain: [x0, x1], anchor: `y${id}`, title: { text: 'column (output unit)' }, constrain: 'domain', showgrid: false, zeroline: false };
    layout[`yaxis${id}`] = { anchor: `x${id}`, autorange: 'reversed', scaleanchor: `x${id}`, title: { text: i === 0 ? 'row (input unit)' : '' }, constrain: 'domain', showgrid: false, zeroline: false };
    (layout.annotations as object[]).push({ text: `${name} ${shape}`, x: (x0 + x1) / 2, y: 1, xref: 'paper', yref: 'paper', yanchor: 'bottom', xanchor: 'center', showarrow: false, font: { size: 12 } });
    return {
      type: 'heatmap',
      name,
      xaxis: `x${id}`,
      yaxis: `y${id}`,
      z: matrixRows(m),
      zmin: -hi,
      zmax: hi,
      colorscale,
      colorbar: { x: x1 + 0.005, xanchor: 'left', len: 0.9, thickness: 12, tickfont: { size: 10 } },
      hovertemplate: `${name}[row %{y}, col %{x}] = %{z:.4g}<extra></extra>`,
    };
  });
  return { data, layout };
}

/**
 * Shows W1 and W2 of one patch as one output: the interactive heatmaps (fieldWeightsFigure;
 * needs plotly's 'cartesian' bundle) with fieldWeightsPng's picture as the static version.
 * Returns that PNG (e.g. to write it to figures/); outside tslab it only makes the PNG.
 */
export async function showFieldWeights(probe: FieldProbe, sel: PatchSelection & { raw?: boolean } = {}, opts: PanelsOptions = {}): Promise<Buffer> {
  const png = await fieldWeightsPng(probe, sel, opts);
  const { block, patch } = selection(probe, sel);
  showChart({ png, plotly: fieldWeightsFigure(probe, sel), plotlyWidth: 900, title: `field weights W1, W2${sel.raw ? ' (raw)' : ''}, block ${block}, patch ${patch}` }, { bundle: 'cartesian' });
  return png;
}

/** One column's norm, for charts and tables: the raw (generated) norm and the norm as used. */
export type ColumnNormRecord = {
  matrix: FieldMatrix;
  column: number;
  raw: number;
  used: number;
};

/** Column norms of W1 and W2 of one patch (the input axis is normalised: `used` is 1 with weightNorm on). */
export function columnNormRecords(probe: FieldProbe, sel: PatchSelection = {}): ColumnNormRecord[] {
  const w = patchFieldWeights(probe, sel);
  const recs = (matrix: FieldMatrix, used: HeatmapData, raw: HeatmapData): ColumnNormRecord[] => {
    const u = columnNorms(used);
    const r = columnNorms(raw);
    return Array.from(u, (_, column) => ({ matrix, column, raw: r[column]!, used: u[column]! }));
  };
  return [...recs('W1', w.W1, w.W1raw), ...recs('W2', w.W2, w.W2raw)];
}

/** Bar charts of the raw column norms, one panel per matrix. */
export function columnNormsSpec(records: readonly ColumnNormRecord[], opts: { title?: string } = {}): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title ?? 'column norms of the generated weights (before L2 normalisation)',
    data: { values: records },
    facet: { column: { field: 'matrix', type: 'nominal', title: null } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 260,
      height: 140,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'column', type: 'ordinal', title: 'column (output unit)', axis: { labels: false, ticks: false } },
        y: { field: 'raw', type: 'quantitative', title: 'L2 norm' },
        color: { field: 'matrix', type: 'nominal', legend: null },
      },
    },
  };
}
