/**
 * Looking inside PixNerd's neural-field head (paper.md 1.4-1.6, architecture.md "Neural-field
 * head") for one image at one timestep, and the linear head's comparable view.
 *
 *   const probe = probeField(params, cfg, image, { t: 0.5, label: 3, seed: 0 });
 *   showPng(await fieldWeightsPng(probe, { block: 0, patch: 5 }));      // W1, W2 of patch 5
 *   const stats = patchWeightStats(probe);                             // per patch and matrix
 *   showPng(await patchStatMapPng(probe, stats, { stat: 'deviation' })); // the stat over the image
 *   await showVegaLite(patchStatsHistogramSpec(stats, 'rawNorm'));     // its distribution
 *   showPng(await coordBasisPng(cfg));                                  // the DCT basis, p x p each
 *   const dense = decodeDense(params, cfg, probe, { factor: 4 });       // the same field on a 4x grid
 *   showPng(await denseDecodePng(probe, dense, { patch: 5 }));
 *
 * What is shown. Each patch's last hidden state generates, per NerfBlock, W1 [hx, hx*r] and
 * W2 [hx*r, hx] (laid out (in, out)); the reference L2-normalises every column (its input axis),
 * so the columns of the weights *as used* have norm 1 and the raw generator output carries the
 * norms. `deviation` measures how patch-specific a field is: ||W_n - mean_m W_m|| / ||mean_m W_m||
 * over the weights as used. The field is a function of the DCT (or sin-cos) coordinate code, so it
 * can be evaluated on a denser grid than p x p: `decodeDense` runs pixnerdForward with the input
 * at factor x the size and `trunkSize` = the training size (the trunk sees its usual token grid).
 *
 * The linear head (DiT final layer) writes every patch as a combination of the same D output
 * filters (its weight's rows, each a p x p x C image), with per-patch coefficients; `linearHeadFilters`
 * and `linearFiltersPng` show those filters, and `patchOutputRms` (either head) the per-patch
 * output energy, for side-by-side comparison.
 *
 * Everything returns plain data (typed arrays) or PNG bytes; no tensor outlives a call.
 * Legend: H x W image, C channels, p patch, gridH x gridW = L patches (row-major, patch
 * n = row * gridW + col), hx field width, hr = hx * r, E coordinate features, D trunk width.
 * Images are NHWC with one image (B = 1), values in [-1, 1]; t = 0 is noise, t = 1 data.
 */
import * as tf from '@tensorflow/tfjs';
import { derive, type CoordEncoding, type ModelConfig, type NerfHeadConfig } from '../config/model-config';
import { interpolate, toVelocity, type PredictionTarget } from '../diffusion/flow-matching';
import { coordEncodingTable } from '../encodings/coord-encoding';
import { pixnerdForward } from '../model/pixnerd';
import { param, type Params } from '../model/ops';
import { panelsPng, type HeatmapData, type Panel, type PanelsOptions } from './heatmap';
import type { ImageBatch, ImageInput } from './image-grid';
import type { VegaLiteSpec } from './vega';

// ---------------------------------------------------------------------------------------------
// Probing the model at one (image, t, label)
// ---------------------------------------------------------------------------------------------

export interface ProbeOptions {
  /** Flow time in [0, 1] (0 = pure noise, 1 = the clean image). */
  t: number;
  /** Class label, or numClasses for the null (unconditional) label. */
  label: number;
  /** Seed of the noise eps in x_t = t x + (1 - t) eps. */
  seed: number;
  /** What the network predicts (default 'v'); x-prediction outputs are turned into velocities. */
  prediction?: PredictionTarget;
}

/** The model's output for one noisy image (either head). Images are [1, H, W, C]. */
export interface OutputProbe {
  t: number;
  label: number;
  prediction: PredictionTarget;
  H: number;
  W: number;
  C: number;
  p: number;
  gridH: number;
  gridW: number;
  /** The noisy input x_t. */
  xt: ImageBatch;
  /** The predicted velocity v at (x_t, t). */
  v: ImageBatch;
  /** The clean-image estimate x_t + (1 - t) v. */
  xHat: ImageBatch;
}

/** One NerfBlock's generated weights for every patch, row-major per patch. */
export interface BlockWeights {
  /** W1 as used (normalised as configured), [L, hx, hr]. */
  fc1: Float32Array;
  /** W2 as used, [L, hr, hx]. */
  fc2: Float32Array;
  /** W1 as generated, before L2 normalisation, [L, hx, hr]. */
  fc1Raw: Float32Array;
  /** W2 as generated, [L, hr, hx]. */
  fc2Raw: Float32Array;
}

/** An OutputProbe of a neural-field model plus every patch's generated field weights. */
export interface FieldProbe extends OutputProbe {
  head: NerfHeadConfig;
  hx: number;
  hr: number;
  /** One entry per NerfBlock. */
  weights: BlockWeights[];
}

const batchOf = (data: Float32Array, shape: readonly number[]): ImageBatch => ({ data, shape: [shape[0]!, shape[1]!, shape[2]!, shape[3]!] });

function imageTensor(image: ImageInput, cfg: ModelConfig): tf.Tensor4D {
  const shape = image instanceof tf.Tensor ? image.shape : [...image.shape];
  const S = cfg.imageSize;
  if (shape.length !== 4 || shape[0] !== 1 || shape[1] !== S || shape[2] !== S || shape[3] !== cfg.inChannels) {
    throw new Error(`probe: expected one image [1, ${S}, ${S}, ${cfg.inChannels}], got [${shape.join(', ')}]`);
  }
  return image instanceof tf.Tensor ? (image.clone() as tf.Tensor4D) : tf.tensor4d(Float32Array.from(image.data), [1, S, S, cfg.inChannels]);
}

function checkProbeOptions(cfg: ModelConfig, o: ProbeOptions): void {
  if (!(o.t >= 0 && o.t <= 1)) throw new Error(`probe: t must be in [0, 1], got ${o.t}`);
  if (!(Number.isInteger(o.label) && o.label >= 0 && o.label <= cfg.numClasses)) {
    throw new Error(`probe: label must be an integer in [0, ${cfg.numClasses}] (${cfg.numClasses} = null), got ${o.label}`);
  }
}

/** Reads tensors to typed arrays and disposes them. */
function readAll<K extends string>(ts: Record<K, tf.Tensor>): Record<K, Float32Array> {
  try {
    return Object.fromEntries(Object.entries<tf.Tensor>(ts).map(([k, t]) => [k, t.dataSync() as Float32Array])) as Record<K, Float32Array>;
  } finally {
    tf.dispose(Object.values<tf.Tensor>(ts));
  }
}

/**
 * Runs the model once on x_t = t x + (1 - t) eps for the clean image `image` [1, H, W, C]
 * (a tensor is read, not disposed) and returns x_t, v and the clean-image estimate.
 */
export function probeOutput(params: Params, cfg: ModelConfig, image: ImageInput, o: ProbeOptions): OutputProbe {
  checkProbeOptions(cfg, o);
  const prediction = o.prediction ?? 'v';
  const S = cfg.imageSize;
  const shape: [number, number, number, number] = [1, S, S, cfg.inChannels];
  const out = readAll(
    tf.tidy(() => {
      const x = imageTensor(image, cfg); //                                                         [1, H, W, C]
      const t = tf.fill([1], o.t) as tf.Tensor1D;
      const xt = interpolate(x, tf.randomNormal(shape, 0, 1, 'float32', o.seed) as tf.Tensor4D, t); // [1, H, W, C]
      const v = toVelocity(pixnerdForward(params, cfg, xt, t, tf.tensor1d([o.label], 'int32')).v, xt, t, prediction);
      return { xt, v, xHat: tf.add(xt, tf.mul(v, 1 - o.t)) };
    }),
  );
  const { gridH, gridW } = derive(cfg);
  return {
    t: o.t,
    label: o.label,
    prediction,
    H: S,
    W: S,
    C: cfg.inChannels,
    p: cfg.patchSize,
    gridH,
    gridW,
    xt: batchOf(out.xt, shape),
    v: batchOf(out.v, shape),
    xHat: batchOf(out.xHat, shape),
  };
}

function nerfHead(cfg: ModelConfig, what: string): NerfHeadConfig {
  if (cfg.head.kind !== 'nerf') throw new Error(`${what} needs the neural-field head; this model has the ${cfg.head.kind} head (see linearHeadFilters, patchOutputRms)`);
  return cfg.head;
}

/**
 * probeOutput plus the generated field weights of every patch and NerfBlock, as used and raw
 * (the raw ones come from a second forward pass with weightNorm 'none').
 */
export function probeField(params: Params, cfg: ModelConfig, image: ImageInput, o: ProbeOptions): FieldProbe {
  const head = nerfHead(cfg, 'probeField');
  const base = probeOutput(params, cfg, image, o);
  const rawCfg: ModelConfig = { ...cfg, head: { ...head, weightNorm: 'none' } };
  const perBlock = tf.tidy(() => {
    const xt = tf.tensor4d(base.xt.data as Float32Array, [1, base.H, base.W, base.C]);
    const t = tf.fill([1], o.t) as tf.Tensor1D;
    const y = tf.tensor1d([o.label], 'int32');
    const used = pixnerdForward(params, cfg, xt, t, y, { returnFieldWeights: true }).fieldWeights;
    const raw = pixnerdForward(params, rawCfg, xt, t, y, { returnFieldWeights: true }).fieldWeights;
    return used.map((u, k) => ({ fc1: u.fc1, fc2: u.fc2, fc1Raw: raw[k]!.fc1, fc2Raw: raw[k]!.fc2 }));
  });
  let weights: BlockWeights[];
  try {
    weights = perBlock.map((b) => ({ fc1: b.fc1.dataSync() as Float32Array, fc2: b.fc2.dataSync() as Float32Array, fc1Raw: b.fc1Raw.dataSync() as Float32Array, fc2Raw: b.fc2Raw.dataSync() as Float32Array }));
  } finally {
    tf.dispose(perBlock.flatMap((b) => [b.fc1, b.fc2, b.fc1Raw, b.fc2Raw]));
  }
  return { ...base, head, hx: head.width, hr: head.width * head.mlpRatio, weights };
}

// ---------------------------------------------------------------------------------------------
// One patch's field weights
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Across patches
// ---------------------------------------------------------------------------------------------

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

const imagePanel = (img: ImageBatch, title: string): Panel => ({ kind: 'image', data: img.data, rows: img.shape[1], cols: img.shape[2], channels: img.shape[3] as 1 | 3, title });

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

// ---------------------------------------------------------------------------------------------
// The coordinate basis
// ---------------------------------------------------------------------------------------------

/** Every coordinate feature as an nh x nw map (E maps, feature e = the e-th column of the encoding table). */
export function coordBasis(kind: CoordEncoding, nh: number, nw: number, maxFreqs: number): HeatmapData[] {
  const table = coordEncodingTable(kind, nh, nw, maxFreqs); // [nh*nw, E]
  const P = nh * nw;
  const E = table.length / P;
  return Array.from({ length: E }, (_, e) => ({ data: Float32Array.from({ length: P }, (_, k) => table[k * E + e]!), rows: nh, cols: nw }));
}

/**
 * The field's coordinate basis as a grid of small images (diverging: blue < 0 < red): DCT
 * feature a*M + b (x frequency a, y frequency b) at row a, column b; sin-cos octave l on row l
 * as [sin x, cos x, sin y, cos y]. `factor` evaluates each on a factor x denser grid. `range`:
 * 'each' (default) scales every feature to its own max |value| to show its shape; 'shared'
 * uses [-1, 1] for all, showing the DCT's 1 / (1 + f_a f_b) damping of high frequencies.
 */
export function coordBasisPng(cfg: ModelConfig, opts: PanelsOptions & { factor?: number; range?: 'each' | 'shared' } = {}): Promise<Buffer> {
  const head = nerfHead(cfg, 'coordBasisPng');
  const { factor = 1, range = 'each', ...layout } = opts;
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`factor must be an integer >= 1, got ${factor}`);
  if (head.coordEncoding === 'none') throw new Error("coordBasisPng: coordEncoding is 'none': the field has no coordinate features");
  const n = cfg.patchSize * factor;
  const maps = coordBasis(head.coordEncoding, n, n, head.maxFreqs);
  const cols = head.coordEncoding === 'dct' ? head.maxFreqs : 4;
  const panels: Panel[] = maps.map((m) => ({ kind: 'heatmap', ...m, colormap: 'diverging', range: range === 'shared' ? [-1, 1] : undefined, colorbar: false }));
  const scaleNote = range === 'shared' ? 'blue -1, red +1' : 'each scaled to its max |value|';
  return panelsPng(panels, { cols, size: Math.max(48, 2 * n), gap: 3, title: `${head.coordEncoding} basis: ${maps.length} features on a ${n} x ${n} grid (${scaleNote})`, ...layout });
}

// ---------------------------------------------------------------------------------------------
// Decoding on a denser coordinate grid
// ---------------------------------------------------------------------------------------------

/** The model's output at the training grid and on a factor x denser one, for the same x_t. */
export interface DenseDecode {
  factor: number;
  /** v and the clean-image estimate at the training resolution, [1, H, W, C]. */
  normal: { v: ImageBatch; xHat: ImageBatch };
  /** x_t upsampled (nearest) and the outputs on the dense grid, [1, factor H, factor W, C]. */
  dense: { xt: ImageBatch; v: ImageBatch; xHat: ImageBatch };
}

/**
 * Decodes the probe's x_t with the field evaluated on a factor x denser coordinate grid:
 * pixnerdForward with x_t upsampled (nearest) to factor x the size and trunkSize = imageSize.
 */
export function decodeDense(params: Params, cfg: ModelConfig, probe: OutputProbe, opts: { factor?: number } = {}): DenseDecode {
  nerfHead(cfg, 'decodeDense');
  const factor = opts.factor ?? 4;
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`factor must be an integer >= 1, got ${factor}`);
  const { H, W, C, t } = probe;
  const big = [1, factor * H, factor * W, C];
  const out = readAll(
    tf.tidy(() => {
      const xt = tf.tensor4d(probe.xt.data as Float32Array, [1, H, W, C]);
      const tt = tf.fill([1], t) as tf.Tensor1D;
      const y = tf.tensor1d([probe.label], 'int32');
      const v1 = toVelocity(pixnerdForward(params, cfg, xt, tt, y).v, xt, tt, probe.prediction);
      const xtBig = tf.image.resizeNearestNeighbor(xt, [factor * H, factor * W]) as tf.Tensor4D;
      const vBig = toVelocity(pixnerdForward(params, cfg, xtBig, tt, y, { trunkSize: cfg.imageSize }).v, xtBig, tt, probe.prediction);
      return { v1, xHat1: tf.add(xt, tf.mul(v1, 1 - t)), xtBig, vBig, xHatBig: tf.add(xtBig, tf.mul(vBig, 1 - t)) };
    }),
  );
  const small = [1, H, W, C];
  return {
    factor,
    normal: { v: batchOf(out.v1, small), xHat: batchOf(out.xHat1, small) },
    dense: { xt: batchOf(out.xtBig, big), v: batchOf(out.vBig, big), xHat: batchOf(out.xHatBig, big) },
  };
}

/** The size x size crop at (y0, x0) of an image [1, H, W, C], as [1, size, size, C]. */
export function cropImage(img: ImageBatch, y0: number, x0: number, size: number): ImageBatch {
  const [, H, W, C] = img.shape;
  if (y0 < 0 || x0 < 0 || y0 + size > H || x0 + size > W) throw new Error(`crop ${size} x ${size} at (${y0}, ${x0}) is outside ${H} x ${W}`);
  const out = new Float32Array(size * size * C);
  for (let y = 0; y < size; y++) for (let x = 0; x < size * C; x++) out[y * size * C + x] = img.data[((y0 + y) * W + x0) * C + x]!;
  return { data: out, shape: [1, size, size, C] };
}

/**
 * The clean-image estimates at 1x and on the dense grid, next to x_t: the whole image, or one
 * patch (`patch` = row * gridW + col) cropped at both resolutions. Panels share a display size.
 */
export function denseDecodePng(probe: OutputProbe, dense: DenseDecode, opts: PanelsOptions & { patch?: number } = {}): Promise<Buffer> {
  const { patch, ...layout } = opts;
  const f = dense.factor;
  let xt = probe.xt;
  let lo = dense.normal.xHat;
  let hi = dense.dense.xHat;
  let what = 'image';
  if (patch !== undefined) {
    const L = probe.gridH * probe.gridW;
    if (!(Number.isInteger(patch) && patch >= 0 && patch < L)) throw new Error(`patch must be 0..${L - 1}, got ${patch}`);
    const r = Math.floor(patch / probe.gridW);
    const c = patch % probe.gridW;
    xt = cropImage(xt, r * probe.p, c * probe.p, probe.p);
    lo = cropImage(lo, r * probe.p, c * probe.p, probe.p);
    hi = cropImage(hi, r * f * probe.p, c * f * probe.p, f * probe.p);
    what = `patch ${patch} (row ${r}, col ${c})`;
  }
  const [, h, w] = lo.shape;
  // a display size that is a multiple of the dense side (so also of the normal one): every panel
  // is upscaled by an integer to the same size
  const big = f * Math.max(h!, w!);
  const size = big * Math.max(1, Math.round((patch === undefined ? 192 : 128) / big));
  return panelsPng(
    [imagePanel(xt, `x_t ${h} x ${w}`), imagePanel(lo, `field on ${h} x ${w}`), imagePanel(hi, `field on ${f * h!} x ${f * w!}`)],
    { size, title: `${what}: clean-image estimate decoded at 1x and ${f}x (t = ${probe.t})`, ...layout },
  );
}

/**
 * Several models on the same x_t (e.g. the neural-field and the linear head): x_t, then each
 * model's clean-image estimate, then each model's per-patch output RMS (patchOutputRms of v)
 * on one shared colour range, so the maps compare directly.
 */
export function outputComparisonPng(models: ReadonlyArray<{ name: string; probe: OutputProbe }>, opts: PanelsOptions = {}): Promise<Buffer> {
  if (models.length === 0) throw new Error('outputComparisonPng: no models');
  const first = models[0]!.probe;
  for (const { name, probe } of models) {
    if (probe.H !== first.H || probe.W !== first.W || probe.C !== first.C || probe.t !== first.t || probe.xt.data.length !== first.xt.data.length) {
      throw new Error(`outputComparisonPng: ${name} was probed on another input (${probe.H} x ${probe.W} x ${probe.C}, t = ${probe.t}) than ${models[0]!.name} (${first.H} x ${first.W} x ${first.C}, t = ${first.t})`);
    }
  }
  const maps = models.map(({ probe }) => patchOutputRms(probe.v, probe.p));
  const hi = Math.max(...maps.flatMap((m) => Array.from(m.data)));
  const range: [number, number] = [0, hi > 0 ? hi : 1];
  return panelsPng(
    [
      imagePanel(first.xt, `x_t (t = ${first.t})`),
      ...models.map(({ name, probe }) => imagePanel(probe.xHat, `${name}: estimate`)),
      ...models.map(({ name }, i): Panel => ({ kind: 'heatmap', ...maps[i]!, colormap: 'viridis', range, title: `${name}: RMS v per patch` })),
    ],
    { size: 160, ...opts },
  );
}

// ---------------------------------------------------------------------------------------------
// The linear head, for comparison
// ---------------------------------------------------------------------------------------------

/** The linear head's output filters: row d of final_layer.linear.weight as a p x p x C image. */
export interface LinearFilters {
  p: number;
  C: number;
  /** [D, p, p, C] (un-patchified from the channel-major token order). */
  filters: Float32Array;
  /** L2 norm of each filter, [D]. */
  norms: Float32Array;
}

/** The linear head's D output filters (every patch is sum_d coef_d(patch) * filter_d + bias). */
export function linearHeadFilters(params: Params, cfg: ModelConfig): LinearFilters {
  if (cfg.head.kind !== 'linear') throw new Error(`linearHeadFilters needs the linear head; this model has the ${cfg.head.kind} head`);
  const { patchSize: p, inChannels: C, hiddenSize: D } = cfg;
  const w = param(params, 'final_layer.linear.weight').dataSync() as Float32Array; // [D, C*p*p], index c*p*p + i*p + j
  const filters = new Float32Array(D * p * p * C);
  const norms = new Float32Array(D);
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < p * p; k++) {
        const v = w[d * C * p * p + c * p * p + k]!;
        filters[(d * p * p + k) * C + c] = v;
        s += v * v;
      }
    }
    norms[d] = Math.sqrt(s);
  }
  return { p, C, filters, norms };
}

/**
 * The `count` largest linear-head filters (by norm), each p x p: a diverging heatmap with its own
 * symmetric range for grey models, an image scaled to [-1, 1] by its max |w| for RGB.
 */
export function linearFiltersPng(params: Params, cfg: ModelConfig, opts: PanelsOptions & { count?: number } = {}): Promise<Buffer> {
  const { count = 32, ...layout } = opts;
  const { p, C, filters, norms } = linearHeadFilters(params, cfg);
  const order = Array.from(norms.keys()).sort((a, b) => norms[b]! - norms[a]!).slice(0, count);
  const n = p * p * C;
  const panels: Panel[] = order.map((d) => {
    const f = filters.subarray(d * n, (d + 1) * n);
    if (C === 1) return { kind: 'heatmap', data: f, rows: p, cols: p, colormap: 'diverging', colorbar: false };
    const m = f.reduce((a, v) => Math.max(a, Math.abs(v)), 0) || 1;
    return { kind: 'image', data: f.map((v) => v / m), rows: p, cols: p, channels: C as 1 | 3 };
  });
  return panelsPng(panels, { cols: 8, size: 48, gap: 3, title: `linear head: the ${order.length} largest of ${norms.length} output filters (${p} x ${p})`, ...layout });
}
