/**
 * Heatmaps and panel figures as PNG bytes: matrices (generated field weights, basis functions,
 * per-patch statistics) drawn with a colormap, and images in [-1, 1], laid out in a row (or a
 * wrapped grid) with titles and colour bars.
 *
 *   const png = await heatmapPng({ data: w1, rows: 32, cols: 64 }, { colormap: 'diverging', title: 'W1' });
 *   const fig = await panelsPng([
 *     { kind: 'image', data: xt, rows: 32, cols: 32, channels: 1, title: 'x_t' },
 *     { kind: 'heatmap', data: stat, rows: 4, cols: 4, colormap: 'viridis', title: '|W| per patch' },
 *   ], { size: 128 });
 *
 * Colormaps: 'viridis' (matplotlib's, for magnitudes), 'diverging' (ColorBrewer RdBu reversed:
 * blue < 0 < red, white at 0, for signed weights; its range is symmetric by default) and 'grey'.
 * Matrices are row-major: value (r, c) is data[r * cols + c], drawn at row r from the top.
 */
import * as tf from '@tensorflow/tfjs';
import { loadSharp } from '../util/heavy-modules';
import { toUint8, type ImageInput } from './image-grid';

// ---------------------------------------------------------------------------------------------
// Colormaps
// ---------------------------------------------------------------------------------------------

export type Colormap = 'viridis' | 'diverging' | 'grey';
export const COLORMAPS: readonly Colormap[] = ['viridis', 'diverging', 'grey'];

type Rgb = [number, number, number];

const hexStops = (hex: string[]): Rgb[] =>
  hex.map((h) => [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)]);

/** matplotlib's viridis at 17 evenly spaced points (entries round(k * 255 / 16) of its 256-colour table). */
const VIRIDIS = hexStops([
  '440154', '48186a', '472d7b', '424086', '3b528b', '33638d', '2c728e', '26828e', '21918c',
  '1f9f88', '27ad81', '3dbc74', '5cc863', '81d34d', 'aadc32', 'd5e21a', 'fde725',
]);

/** ColorBrewer RdBu (11 classes), reversed: dark blue for the lowest value, near-white in the middle, dark red at the top. */
const DIVERGING = hexStops([
  '053061', '2166ac', '4393c3', '92c5de', 'd1e5f0', 'f7f7f7', 'fddbc7', 'f4a582', 'd6604d', 'b2182b', '67001f',
]);

const GREY = hexStops(['000000', 'ffffff']);

function stops(name: Colormap): Rgb[] {
  switch (name) {
    case 'viridis':
      return VIRIDIS;
    case 'diverging':
      return DIVERGING;
    case 'grey':
      return GREY;
    default: {
      const never: never = name;
      throw new Error(`unknown colormap "${String(never)}" (known: ${COLORMAPS.join(', ')})`);
    }
  }
}

/**
 * The colour of u in [0, 1] (clipped; NaN -> 0): linear interpolation between the colormap's
 * stops, rounded to integers 0..255.
 */
export function colormapRgb(name: Colormap, u: number): Rgb {
  const s = stops(name);
  const x = (Number.isNaN(u) ? 0 : Math.min(1, Math.max(0, u))) * (s.length - 1);
  const i = Math.min(s.length - 2, Math.floor(x));
  const f = x - i;
  const a = s[i]!;
  const b = s[i + 1]!;
  return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
}

/** The colormap as a plotly colorscale: `n` evenly spaced [position, 'rgb(r,g,b)'] stops. */
export function plotlyColorscale(name: Colormap, n = 17): Array<[number, string]> {
  return Array.from({ length: n }, (_, i) => {
    const u = i / (n - 1);
    return [Number(u.toFixed(4)), `rgb(${colormapRgb(name, u).join(',')})`] as [number, string];
  });
}

/**
 * The default value range of a heatmap: [min, max] of the finite values, or [-m, m] with
 * m = max |v| for the diverging map (so 0 is white). A constant matrix gets a range of width 1
 * around its value (0 for the diverging map: [-1, 1]) so that it still has a colour.
 */
export function heatmapRange(data: ArrayLike<number>, colormap: Colormap): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return colormap === 'diverging' ? [-1, 1] : [0, 1];
  if (colormap === 'diverging') {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return m > 0 ? [-m, m] : [-1, 1];
  }
  return hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
}

/** Maps every value to RGB: u = (v - lo) / (hi - lo) through the colormap.  [n] -> [n * 3] uint8 */
export function colorize(data: ArrayLike<number>, colormap: Colormap, range: readonly [number, number] = heatmapRange(data, colormap)): Uint8Array {
  const [lo, hi] = range;
  if (!(hi > lo)) throw new Error(`heatmap range must have hi > lo, got [${lo}, ${hi}]`);
  const out = new Uint8Array(data.length * 3);
  for (let i = 0; i < data.length; i++) out.set(colormapRgb(colormap, (data[i]! - lo) / (hi - lo)), 3 * i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Panels
// ---------------------------------------------------------------------------------------------

/** A row-major matrix. */
export interface HeatmapData {
  data: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** One picture of a panel figure: a matrix through a colormap, or an image in [-1, 1]. */
export type Panel =
  | (HeatmapData & {
      kind: 'heatmap';
      colormap?: Colormap;
      /** Value range mapped onto the colormap (default heatmapRange). */
      range?: readonly [number, number];
      title?: string;
      /** A colour bar with the range's ends under the panel (default true). */
      colorbar?: boolean;
    })
  | (HeatmapData & {
      kind: 'image';
      /** data is [rows, cols, channels], values in [-1, 1] (toUint8, as sample grids). */
      channels: 1 | 3;
      title?: string;
    });

export interface PanelsOptions {
  /** Panels per row (default: all in one row). */
  cols?: number;
  /** Each panel is upscaled (integer, nearest) to at most this many pixels on its longer side (default 160). */
  size?: number;
  /** A fixed integer upscaling for every panel instead of `size`. */
  scale?: number;
  /** Pixels between panels and around the border (default 6). */
  gap?: number;
  /** Font size of titles and colour-bar labels (default 12). */
  fontSize?: number;
  /** A title line above the whole figure. */
  title?: string;
}

/** Where each panel goes on the canvas (pixels). */
export interface PanelsGeometry {
  width: number;
  height: number;
  /** Height of the figure-title band (0 without a title). */
  titleH: number;
  cells: Array<{ x: number; y: number; w: number; h: number; scale: number }>;
  /** Per panel, where its colour bar goes (null without one). */
  colorbars: Array<{ x: number; y: number; w: number; h: number } | null>;
  fontSize: number;
}

const COLORBAR_H = 8;

/** Text width estimate for DejaVu Sans (average advance ~0.6 em), as image-grid's labels. */
export function textWidth(text: string, fontSize: number): number {
  return Math.ceil(text.length * fontSize * 0.6);
}

function checkPanel(p: Panel, i: number): void {
  const what = `panel ${i}${p.title ? ` (${p.title})` : ''}`;
  if (!(Number.isInteger(p.rows) && p.rows > 0 && Number.isInteger(p.cols) && p.cols > 0)) {
    throw new Error(`${what}: rows and cols must be positive integers, got ${p.rows} x ${p.cols}`);
  }
  const need = p.rows * p.cols * (p.kind === 'image' ? p.channels : 1);
  if (p.data.length !== need) throw new Error(`${what}: ${p.kind} ${p.rows} x ${p.cols}${p.kind === 'image' ? ` x ${p.channels}` : ''} needs ${need} values, got ${p.data.length}`);
}

/** Computes the layout of `panels` (every cell as large as the largest panel). */
export function panelsGeometry(panels: readonly Panel[], opts: PanelsOptions = {}): PanelsGeometry {
  if (panels.length === 0) throw new Error('panelsPng: no panels');
  panels.forEach(checkPanel);
  const gap = opts.gap ?? 6;
  const fontSize = opts.fontSize ?? 12;
  const size = opts.size ?? 160;
  const perRow = opts.cols ?? panels.length;
  if (!Number.isInteger(perRow) || perRow < 1) throw new Error(`cols must be an integer >= 1, got ${perRow}`);
  if (opts.scale !== undefined && !(Number.isInteger(opts.scale) && opts.scale >= 1)) throw new Error(`scale must be an integer >= 1, got ${opts.scale}`);
  const scales = panels.map((p) => opts.scale ?? Math.max(1, Math.floor(size / Math.max(p.rows, p.cols))));
  // a cell is as wide as its widest panel or panel title
  const cellW = Math.max(...panels.map((p, i) => Math.max(p.cols * scales[i]!, p.title ? textWidth(p.title, fontSize) : 0)));
  const cellH = Math.max(...panels.map((p, i) => p.rows * scales[i]!));
  const hasTitle = panels.some((p) => p.title);
  const hasBar = panels.some((p) => p.kind === 'heatmap' && p.colorbar !== false);
  const titleBand = hasTitle ? fontSize + 6 : 0;
  const barBand = hasBar ? 4 + COLORBAR_H + fontSize + 4 : 0;
  const titleH = opts.title ? fontSize + 10 : 0;
  const rows = Math.ceil(panels.length / perRow);
  const cols = Math.min(perRow, panels.length);
  const blockH = titleBand + cellH + barBand;
  // a figure title wider than the grid widens the canvas; the grid is centred under it
  const gridW = gap + cols * (cellW + gap);
  const width = Math.max(gridW, opts.title ? textWidth(opts.title, fontSize) + 2 * gap : 0);
  const left = Math.floor((width - gridW) / 2);
  const cells = panels.map((p, i) => {
    const r = Math.floor(i / perRow);
    const c = i % perRow;
    const w = p.cols * scales[i]!;
    const h = p.rows * scales[i]!;
    const x0 = left + gap + c * (cellW + gap);
    const y0 = titleH + gap + r * (blockH + gap) + titleBand;
    return { x: x0 + Math.floor((cellW - w) / 2), y: y0, w, h, scale: scales[i]! };
  });
  // a colour bar sits under its cell's full height, whatever the panel's own height
  const colorbars = panels.map((p, i) =>
    p.kind === 'heatmap' && p.colorbar !== false ? { x: cells[i]!.x, y: cells[i]!.y + cellH + 4, w: cells[i]!.w, h: COLORBAR_H } : null,
  );
  return {
    width,
    height: titleH + gap + rows * (blockH + gap),
    titleH,
    cells,
    colorbars,
    fontSize,
  };
}

/** Short tick text: 3 significant digits, no trailing zeros. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 1e4 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(3);
  return s.includes('e') ? s.replace(/\.?0+e/, 'e') : s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);

/** The RGB pixels of one panel before upscaling, [rows * cols * 3]. */
function panelRgb(p: Panel): Uint8Array {
  if (p.kind === 'heatmap') return colorize(p.data, p.colormap ?? 'viridis', p.range);
  const out = new Uint8Array(p.rows * p.cols * 3);
  for (let k = 0; k < p.rows * p.cols; k++) {
    for (let ch = 0; ch < 3; ch++) out[3 * k + ch] = toUint8(p.data[k * p.channels + (p.channels === 3 ? ch : 0)]!);
  }
  return out;
}

/**
 * The panels as one PNG: each panel upscaled (nearest) into its cell, a title above it, and
 * under each heatmap a colour bar labelled with its range. White background.
 */
export async function panelsPng(panels: readonly Panel[], opts: PanelsOptions = {}): Promise<Buffer> {
  const g = panelsGeometry(panels, opts);
  const canvas = new Uint8Array(g.width * g.height * 3).fill(255);
  const texts: string[] = [];
  const fs = g.fontSize;
  panels.forEach((p, i) => {
    const cell = g.cells[i]!;
    const rgb = panelRgb(p);
    for (let y = 0; y < cell.h; y++) {
      const sy = Math.floor(y / cell.scale);
      for (let x = 0; x < cell.w; x++) {
        const src = 3 * (sy * p.cols + Math.floor(x / cell.scale));
        canvas.set(rgb.subarray(src, src + 3), 3 * ((cell.y + y) * g.width + cell.x + x));
      }
    }
    if (p.title) texts.push(`<text x="${cell.x + cell.w / 2}" y="${cell.y - 5}" text-anchor="middle">${escapeXml(p.title)}</text>`);
    const bar = g.colorbars[i];
    if (bar && p.kind === 'heatmap') {
      const cmap = p.colormap ?? 'viridis';
      const [lo, hi] = p.range ?? heatmapRange(p.data, cmap);
      for (let x = 0; x < bar.w; x++) {
        const c = colormapRgb(cmap, bar.w > 1 ? x / (bar.w - 1) : 0.5);
        for (let y = 0; y < bar.h; y++) canvas.set(c, 3 * ((bar.y + y) * g.width + bar.x + x));
      }
      const ty = bar.y + bar.h + fs;
      texts.push(`<text x="${bar.x}" y="${ty}" text-anchor="start">${escapeXml(formatTick(lo))}</text>`);
      texts.push(`<text x="${bar.x + bar.w}" y="${ty}" text-anchor="end">${escapeXml(formatTick(hi))}</text>`);
    }
  });
  if (opts.title) texts.push(`<text x="${g.width / 2}" y="${fs + 4}" text-anchor="middle" font-weight="bold">${escapeXml(opts.title)}</text>`);
  let img = loadSharp()(canvas, { raw: { width: g.width, height: g.height, channels: 3 } });
  if (texts.length) {
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}">` +
      `<g font-family="DejaVu Sans, sans-serif" font-size="${fs}" fill="#000">${texts.join('')}</g></svg>`;
    img = img.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  }
  return img.png().toBuffer();
}

/** One heatmap as PNG bytes (a panel figure with one panel). */
export function heatmapPng(
  h: HeatmapData,
  opts: PanelsOptions & { colormap?: Colormap; range?: readonly [number, number]; colorbar?: boolean; panelTitle?: string } = {},
): Promise<Buffer> {
  const { colormap, range, colorbar, panelTitle, ...layout } = opts;
  return panelsPng([{ kind: 'heatmap', ...h, colormap, range, colorbar, title: panelTitle }], layout);
}

/**
 * One image panel per image of a batch [N, H, W, C] in [-1, 1] (a tensor is read, not disposed),
 * e.g. to show images of different resolutions at one display size: titles[i] goes above image i.
 */
export async function imagePanels(images: ImageInput, titles: ReadonlyArray<string | undefined> = []): Promise<Panel[]> {
  const shape = images instanceof tf.Tensor ? images.shape : [...images.shape];
  if (shape.length !== 4 || (shape[3] !== 1 && shape[3] !== 3)) throw new Error(`imagePanels: expected images [N, H, W, C] with C = 1 or 3, got [${shape.join(', ')}]`);
  const [n, h, w, c] = shape as [number, number, number, 1 | 3];
  const data = images instanceof tf.Tensor ? ((await images.data()) as Float32Array) : Float32Array.from(images.data);
  if (data.length !== n * h * w * c) throw new Error(`imagePanels: ${data.length} values for shape [${shape.join(', ')}]`);
  return Array.from({ length: n }, (_, i) => ({ kind: 'image', data: data.subarray(i * h * w * c, (i + 1) * h * w * c), rows: h, cols: w, channels: c, title: titles[i] }));
}
