/**
 * Separable image resampling that reproduces Pillow's `Image.resize` (libImaging/Resample.c):
 * the same filters (BOX, BILINEAR, BICUBIC with a = -0.5), the same antialiasing support
 * (the kernel is stretched by the scale when shrinking), and, in the uint8 path, the same
 * 22-bit fixed-point weights, rounding and clipping, horizontal pass first. The reference's ADM
 * centre crop is written with Pillow, so matching it bit for bit keeps our crops identical.
 *
 * Images are interleaved HWC arrays: index (y * W + x) * C + c.
 */

// ---------------------------------------------------------------------------------------------
// Filters (Pillow's, with their supports)
// ---------------------------------------------------------------------------------------------

export type ResampleFilter = 'box' | 'bilinear' | 'bicubic';

/** Pillow's bicubic parameter (Catmull-Rom-like, a = -0.5). */
const BICUBIC_A = -0.5;

/** Fixed-point precision of Pillow's 8-bit path: 32 - 8 - 2 bits. */
const PRECISION_BITS = 22;
const PRECISION_ONE = 2 ** PRECISION_BITS;

interface Filter {
  support: number;
  weight: (x: number) => number;
}

function filterOf(kind: ResampleFilter): Filter {
  switch (kind) {
    case 'box':
      return { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) };
    case 'bilinear':
      return { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) };
    case 'bicubic':
      return {
        support: 2,
        weight: (x) => {
          const a = BICUBIC_A;
          const t = Math.abs(x);
          if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
          if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
          return 0;
        },
      };
    default: {
      const never: never = kind;
      throw new Error(`unknown resample filter ${String(never)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Coefficients along one axis (Pillow's precompute_coeffs)
// ---------------------------------------------------------------------------------------------

/** Per output position: the first input index, how many inputs, and their normalised weights. */
interface AxisCoeffs {
  ksize: number;
  first: Int32Array; // [out]
  count: Int32Array; // [out]
  weights: Float64Array; // [out * ksize]
}

function axisCoeffs(inSize: number, outSize: number, kind: ResampleFilter): AxisCoeffs {
  const f = filterOf(kind);
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // stretch the kernel when shrinking (antialiasing)
  const support = f.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = f.weight((x + xmin - center + 0.5) / filterScale);
      weights[xx * ksize + x] = w;
      sum += w;
    }
    if (sum !== 0) for (let x = 0; x < xmax; x++) weights[xx * ksize + x]! /= sum;
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, weights };
}

/** Pillow's normalize_coeffs_8bpc: weights to 22-bit fixed point, rounded away from zero. */
function fixedPoint(c: AxisCoeffs): AxisCoeffs {
  const w = c.weights.map((v) => (v < 0 ? Math.trunc(-0.5 + v * PRECISION_ONE) : Math.trunc(0.5 + v * PRECISION_ONE)));
  return { ...c, weights: w };
}

/** Pillow's clip8: drop the fixed-point fraction and clamp to 0..255. */
function clip8(ss: number): number {
  if (ss <= 0) return 0;
  const v = Math.floor(ss / PRECISION_ONE);
  return v > 255 ? 255 : v;
}

// ---------------------------------------------------------------------------------------------
// Passes
// ---------------------------------------------------------------------------------------------

type Pixels = Uint8Array | Float32Array;

/** Resamples along x: [h, w, ch] -> [h, c.first.length, ch]. `finish` turns a weighted sum into a value. */
function passX<T extends Pixels>(src: Pixels, h: number, w: number, ch: number, c: AxisCoeffs, out: T, init: number, finish: (s: number) => number): T {
  const { ksize, first, count, weights } = c;
  const ow = first.length;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      const k0 = x * ksize;
      const n = count[x]!;
      const base = (y * w + first[x]!) * ch;
      const o = (y * ow + x) * ch;
      for (let k = 0; k < ch; k++) {
        let ss = init;
        for (let j = 0; j < n; j++) ss += src[base + j * ch + k]! * weights[k0 + j]!;
        out[o + k] = finish(ss);
      }
    }
  }
  return out;
}

/** Resamples along y: [h, w, ch] -> [c.first.length, w, ch], a whole row at a time (cache friendly). */
function passY<T extends Pixels>(src: Pixels, w: number, ch: number, c: AxisCoeffs, out: T, init: number, finish: (s: number) => number): T {
  const { ksize, first, count, weights } = c;
  const row = w * ch;
  const acc = new Float64Array(row);
  for (let y = 0; y < first.length; y++) {
    acc.fill(init);
    for (let j = 0; j < count[y]!; j++) {
      const wj = weights[y * ksize + j]!;
      const off = (first[y]! + j) * row;
      for (let e = 0; e < row; e++) acc[e]! += src[off + e]! * wj;
    }
    const o = y * row;
    for (let e = 0; e < row; e++) out[o + e] = finish(acc[e]!);
  }
  return out;
}

/**
 * Resizes a uint8 HWC image exactly as Pillow's `img.resize((outW, outH), filter)` does for
 * 8-bit images (horizontal pass to uint8, then vertical pass).
 *
 * @param src [h, w, ch] uint8
 * @returns [outH, outW, ch] uint8
 */
export function resampleU8(
  src: Uint8Array, h: number, w: number, ch: number, outH: number, outW: number, kind: ResampleFilter,
): Uint8Array {
  checkSizes(src.length, h, w, ch, outH, outW);
  let img: Uint8Array = src;
  if (outW !== w) {
    img = passX(img, h, w, ch, fixedPoint(axisCoeffs(w, outW, kind)), new Uint8Array(h * outW * ch), PRECISION_ONE / 2, clip8);
  }
  if (outH !== h) {
    img = passY(img, outW, ch, fixedPoint(axisCoeffs(h, outH, kind)), new Uint8Array(outH * outW * ch), PRECISION_ONE / 2, clip8);
  }
  return img === src ? src.slice() : img;
}

/**
 * Resizes a float HWC image with Pillow's filters and supports, in float arithmetic (no
 * rounding), then clamps to [lo, hi] (bicubic overshoots at edges).
 *
 * @param src [h, w, ch] float
 * @returns [outH, outW, ch] float
 */
export function resampleF32(
  src: Float32Array, h: number, w: number, ch: number, outH: number, outW: number, kind: ResampleFilter,
  lo = 0, hi = 1,
): Float32Array {
  checkSizes(src.length, h, w, ch, outH, outW);
  const id = (s: number) => s;
  let img: Float32Array = src;
  if (outW !== w) img = passX(img, h, w, ch, axisCoeffs(w, outW, kind), new Float32Array(h * outW * ch), 0, id);
  if (outH !== h) img = passY(img, outW, ch, axisCoeffs(h, outH, kind), new Float32Array(outH * outW * ch), 0, id);
  const out = img === src ? src.slice() : img;
  for (let i = 0; i < out.length; i++) out[i] = Math.min(hi, Math.max(lo, out[i]!));
  return out;
}

function checkSizes(len: number, h: number, w: number, ch: number, outH: number, outW: number): void {
  if (len !== h * w * ch) throw new Error(`resample: buffer of ${len} values is not [${h}, ${w}, ${ch}] = ${h * w * ch}`);
  for (const [name, v] of [['h', h], ['w', w], ['ch', ch], ['outH', outH], ['outW', outW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resample: ${name} = ${v} must be a positive integer`);
  }
}
