/**
 * Sample grids as PNG bytes: images in [-1, 1] -> uint8 -> one picture with row (class) labels,
 * optional column labels and nearest-neighbour upscaling; and trajectory strips (x_t over the
 * sampling steps, one row per sample).
 *
 *   const png = await imageGridPng(x, { rowLabels: ['cat', 'dog'] });   // x: [N, H, W, C]
 *   showPng(png); writeFileAtomic('figures/e1-samples.png', png);
 *
 * Legend: N images, H x W pixels, C = 1 (grey) or 3 (RGB) channels, layout NHWC, T steps.
 * The canvas is always RGB; grey images are copied to the three channels.
 */
import * as tf from '@tensorflow/tfjs';
import { loadSharp } from '../util/heavy-modules';

/** Images as plain data: `data` is row-major `[N, H, W, C]`. */
export interface ImageBatch {
  data: ArrayLike<number>;
  shape: readonly [number, number, number, number];
}
/** A tfjs tensor `[N, H, W, C]` (not disposed here) or plain data. */
export type ImageInput = tf.Tensor | ImageBatch;

// ---------------------------------------------------------------------------------------------
// Pixel conversion
// ---------------------------------------------------------------------------------------------

/**
 * One value in [-1, 1] to uint8 as the reference does: clip((x + 1) * 127.5 + 0.5, 0, 255),
 * then truncate. NaN maps to 0.
 */
export function toUint8(x: number): number {
  const v = (x + 1) * 127.5 + 0.5;
  return v > 0 ? (v < 255 ? Math.trunc(v) : 255) : 0;
}

/** `toUint8` over an array. */
export function toUint8Array(data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = toUint8(data[i]!);
  return out;
}

interface Uint8Batch {
  pixels: Uint8Array; // [N, H, W, C]
  n: number;
  h: number;
  w: number;
  c: number;
}

async function readBatch(x: ImageInput, what: string): Promise<Uint8Batch> {
  const shape = x instanceof tf.Tensor ? x.shape : [...x.shape];
  if (shape.length !== 4 || (shape[3] !== 1 && shape[3] !== 3)) {
    throw new Error(`${what}: expected images [N, H, W, C] with C = 1 or 3, got shape [${shape.join(', ')}]`);
  }
  const [n, h, w, c] = shape as [number, number, number, number];
  const data = x instanceof tf.Tensor ? await x.data() : x.data;
  if (data.length !== n * h * w * c) {
    throw new Error(`${what}: data has ${data.length} values, shape [${shape.join(', ')}] needs ${n * h * w * c}`);
  }
  return { pixels: toUint8Array(data as ArrayLike<number>), n, h, w, c };
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

export interface GridOptions {
  /** Images per row. Default: N / rows with row labels, else ceil(sqrt(N)). */
  cols?: number;
  /** One label per row (e.g. class names); the row count is their number. */
  rowLabels?: readonly string[];
  /** One label per column (e.g. t of each sampling step). */
  colLabels?: readonly string[];
  /** Integer nearest-neighbour upscaling. Default ceil(64 / H): 32 px images are shown at 64 px. */
  scale?: number;
  /** Pixels between images and around the border (background colour). Default 2. */
  gap?: number;
  /** Label font size in px (DejaVu Sans). Default 14. */
  fontSize?: number;
  /** Background grey level 0..255. Default 255 (white). */
  background?: number;
}

/** Where everything goes on the canvas (pixels). */
export interface GridGeometry {
  width: number;
  height: number;
  rows: number;
  cols: number;
  /** Size of one (upscaled) image. */
  cellW: number;
  cellH: number;
  scale: number;
  gap: number;
  /** Width of the row-label column and height of the column-label band (0 without labels). */
  labelW: number;
  labelH: number;
  fontSize: number;
}

/** Label text width estimate for DejaVu Sans (average advance ~0.6 em). */
const CHAR_EM = 0.6;

/** Computes the canvas layout for `n` images of `h x w` pixels. */
export function gridGeometry(n: number, h: number, w: number, opts: GridOptions = {}): GridGeometry {
  const scale = opts.scale ?? Math.max(1, Math.ceil(64 / h));
  const gap = opts.gap ?? 2;
  const fontSize = opts.fontSize ?? 14;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be an integer >= 1, got ${scale}`);
  if (!Number.isInteger(gap) || gap < 0) throw new Error(`gap must be an integer >= 0, got ${gap}`);
  const rowLabels = opts.rowLabels;
  let rows: number;
  let cols: number;
  if (rowLabels) {
    rows = rowLabels.length;
    cols = opts.cols ?? Math.ceil(n / rows);
  } else {
    cols = opts.cols ?? Math.ceil(Math.sqrt(n));
    rows = Math.ceil(n / cols);
  }
  if (rows < 1 || cols < 1 || rows * cols < n) {
    throw new Error(`grid of ${rows} rows x ${cols} cols cannot hold ${n} images`);
  }
  if (opts.colLabels && opts.colLabels.length !== cols) {
    throw new Error(`colLabels has ${opts.colLabels.length} entries for ${cols} columns`);
  }
  const pad = Math.ceil(fontSize / 2);
  const longest = Math.max(0, ...(rowLabels ?? []).map((s) => s.length));
  const labelW = rowLabels ? Math.ceil(longest * fontSize * CHAR_EM) + 2 * pad : 0;
  const labelH = opts.colLabels ? fontSize + pad : 0;
  const cellW = w * scale;
  const cellH = h * scale;
  return {
    width: labelW + gap + cols * (cellW + gap),
    height: labelH + gap + rows * (cellH + gap),
    rows,
    cols,
    cellW,
    cellH,
    scale,
    gap,
    labelW,
    labelH,
    fontSize,
  };
}

/** Top-left canvas pixel of the image in row `r`, column `c`. */
export function cellOrigin(g: GridGeometry, r: number, c: number): { x: number; y: number } {
  return { x: g.labelW + g.gap + c * (g.cellW + g.gap), y: g.labelH + g.gap + r * (g.cellH + g.gap) };
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);

/** The label layer as SVG text (transparent elsewhere), or null without labels. */
function labelSvg(g: GridGeometry, rowLabels?: readonly string[], colLabels?: readonly string[]): string | null {
  if (!rowLabels && !colLabels) return null;
  const fs = g.fontSize;
  const texts: string[] = [];
  rowLabels?.forEach((label, r) => {
    const { y } = cellOrigin(g, r, 0);
    const baseline = Math.round(y + g.cellH / 2 + fs * 0.35);
    texts.push(`<text x="${g.labelW - Math.ceil(fs / 2)}" y="${baseline}" text-anchor="end">${escapeXml(label)}</text>`);
  });
  colLabels?.forEach((label, c) => {
    const { x } = cellOrigin(g, 0, c);
    texts.push(`<text x="${Math.round(x + g.cellW / 2)}" y="${fs}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}">` +
    `<g font-family="DejaVu Sans, sans-serif" font-size="${fs}" fill="#000">${texts.join('')}</g></svg>`
  );
}

/** Copies image `i` of `b`, upscaled, into the RGB canvas at (x0, y0). */
function blit(canvas: Uint8Array, canvasW: number, b: Uint8Batch, i: number, x0: number, y0: number, scale: number): void {
  const { pixels, h, w, c } = b;
  for (let y = 0; y < h * scale; y++) {
    const sy = Math.floor(y / scale);
    let dst = ((y0 + y) * canvasW + x0) * 3;
    for (let x = 0; x < w * scale; x++, dst += 3) {
      const src = ((i * h + sy) * w + Math.floor(x / scale)) * c;
      canvas[dst] = pixels[src]!;
      canvas[dst + 1] = pixels[src + (c === 3 ? 1 : 0)]!;
      canvas[dst + 2] = pixels[src + (c === 3 ? 2 : 0)]!;
    }
  }
}

/** Draws cells (batch, index) at grid positions and encodes the canvas as PNG. */
async function renderPng(
  g: GridGeometry,
  cells: Array<{ r: number; c: number; batch: Uint8Batch; index: number }>,
  opts: GridOptions,
): Promise<Buffer> {
  const canvas = new Uint8Array(g.width * g.height * 3).fill(opts.background ?? 255);
  for (const cell of cells) {
    const { x, y } = cellOrigin(g, cell.r, cell.c);
    blit(canvas, g.width, cell.batch, cell.index, x, y, g.scale);
  }
  let img = loadSharp()(canvas, { raw: { width: g.width, height: g.height, channels: 3 } });
  const svg = labelSvg(g, opts.rowLabels, opts.colLabels);
  if (svg) img = img.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  return img.png().toBuffer();
}

/**
 * A grid of samples as PNG bytes. Image i goes to row floor(i / cols), column i % cols.
 * @param images [N, H, W, C] in [-1, 1], C = 1 or 3 (a tensor is read, not disposed).
 */
export async function imageGridPng(images: ImageInput, opts: GridOptions = {}): Promise<Buffer> {
  const b = await readBatch(images, 'imageGridPng');
  const g = gridGeometry(b.n, b.h, b.w, opts);
  const cells = Array.from({ length: b.n }, (_, i) => ({ r: Math.floor(i / g.cols), c: i % g.cols, batch: b, index: i }));
  return renderPng(g, cells, opts);
}

/**
 * A trajectory strip as PNG bytes: row n shows sample n at every step, left to right.
 * @param frames T batches [N, H, W, C] in [-1, 1] (x_t at each sampling step), same shape each.
 * @param opts rowLabels: N labels (e.g. classes); colLabels: T labels (e.g. `t=0.50`).
 */
export async function trajectoryStripPng(
  frames: readonly ImageInput[],
  opts: Omit<GridOptions, 'cols'> = {},
): Promise<Buffer> {
  if (frames.length === 0) throw new Error('trajectoryStripPng: no frames');
  const batches: Uint8Batch[] = [];
  for (const [t, f] of frames.entries()) batches.push(await readBatch(f, `trajectoryStripPng frame ${t}`));
  const first = batches[0]!;
  batches.forEach((b, t) => {
    if (b.n !== first.n || b.h !== first.h || b.w !== first.w || b.c !== first.c) {
      throw new Error(
        `trajectoryStripPng: frame ${t} is [${b.n}, ${b.h}, ${b.w}, ${b.c}], frame 0 is [${first.n}, ${first.h}, ${first.w}, ${first.c}]`,
      );
    }
  });
  if (opts.rowLabels && opts.rowLabels.length !== first.n) {
    throw new Error(`trajectoryStripPng: ${opts.rowLabels.length} row labels for ${first.n} samples`);
  }
  const T = batches.length;
  const gridOpts: GridOptions = { ...opts, cols: T };
  const g = gridGeometry(first.n * T, first.h, first.w, gridOpts);
  const cells = batches.flatMap((batch, t) => Array.from({ length: first.n }, (_, n) => ({ r: n, c: t, batch, index: n })));
  return renderPng(g, cells, gridOpts);
}
