/**
 * Faster wasm kernels: zero-copy replacements for stock kernels that copy more than they need
 * to, a transpose-free Sum, and fused model kernels that run in the nativeblas add-on.
 *
 * 1. Zero-copy Identity, Cast, Slice (pure JS, no add-on):
 *    - `Identity` (what `clone()` and the engine run for every tensor a kernel saves for its
 *      gradient: ~1,600 calls per PixNerd training step) copies the whole buffer on wasm; the
 *      cpu backend shares it. Here it shares it too: a new reference to the same buffer
 *      (refCount + 1), exactly what the stock wasm `Reshape` does.
 *    - `Cast` to the same dtype (every Multiply / RealDiv gradient casts its other input to
 *      float32) copies; here it shares. Casts that change the dtype go to the stock kernel.
 *    - `Slice` reads its input with `readSync`, which copies the *whole* input out of the heap
 *      (a [256, 16384] tensor: 16 MB per slice); here it reads through a zero-copy heap view.
 *      `SplitV` (tf.split: each trunk block's six adaLN vectors) calls the stock slice once per
 *      part, so once per part a copy of the whole input: here the parts are zero-copy slices
 *      (10 splits of a bench-S step: 3.7 ms, and ~9 MB of copies for V8 to collect).
 *    Sharing buffers is safe because no tfjs kernel writes to its inputs and `Variable.assign`
 *    swaps buffers; in-place writers (kernel-lib/backend/native-update.ts) copy a buffer whose
 *    refCount is above 1 first. Values are bit-identical to the stock kernels.
 * 1b. `Add` of float32 tensors of the same shape, or where one repeats along the other's leading
 *    axes ([N, P, hx] + [P, hx]: the field's pixel embedding, 33 MB at bench-S), in one threaded
 *    pass in the add-on (the stock kernel is single-threaded); bit-identical. Small adds and
 *    other broadcasts stay stock. `Transpose` of float32 tensors likewise: threaded copies of the
 *    runs that stay contiguous (patchify and unpatchify: 6-D permutations, ~1.2 ms each at
 *    bench-S on the stock kernel).
 * 2. `Sum` over axes that are not the innermost: the stock kernel transposes them to the end
 *    first (a full copy; a [256, 256, 64] -> [64] gain gradient took ~30 ms). Where the reduced
 *    axes are one contiguous block ([outer, R, inner] after merging), ours sums in one pass,
 *    float32 blocks of 64 rows added in float64 (a little more accurate than stock), in the
 *    add-on (threads) or a JS loop. Other patterns, int32 and innermost sums stay stock, except
 *    sums of empty tensors: zeros here, where the stock kernel returns uninitialised memory. `Mean`
 *    of an empty tensor is NaN here (0 / 0, as numpy and tfjs-cpu), where the stock kernel also
 *    returns uninitialised memory; every other Mean is the stock kernel.
 * 3. Fused model kernels (add-on only), used by kernel-lib/model/ops.ts through tf.customGrad
 *    where they are registered (see `fusedKernel`): SiLU, SwiGLU's silu(a) * b, RMSNorm with
 *    gain, L2 normalisation along an axis, each a forward and a backward kernel; one pass over
 *    memory instead of 3-15 tfjs ops. And the whole NerfBlock (kernel-lib/heads/nerf-head.ts)
 *    of every patch from the generator output: normalise the generated weights, RMSNorm, both
 *    per-patch matMuls and SiLU, patch by patch in cache (~25 kernels on 8 MB tensors before);
 *    under the bf16 matMul precision (./precision.ts) its two matMuls run bf16 (nerfBlockBf16).
 *    And the attention core of a trunk block (kernel-lib/model/attention.ts, kernel-lib/native/
 *    attention.cc): q/k RMSNorm, RoPE, softmax(q k^T) v from the qkv projection to the heads
 *    merged for the output projection (~35 kernels forward and ~70 backward per block before);
 *    and the field's output layer (RMSNorm then Linear(hx -> C) on every pixel row, one pass:
 *    kernel-lib/native/field-output.cc); and the trunk block's adaLN pieces: RMSNorm then modulate,
 *    and the gated residual (kernel-lib/native/adaln.cc).
 *    Every other backend keeps the op formulas.
 *
 * `enableWasmKernelOverrides()` registers them (idempotent; `enableNativeMatmul` calls it, so
 * `initBackend` does); `PIXNERD_WASM_KERNELS=0` keeps the stock kernels and registers no fused
 * ones. The add-on's element-wise code uses the threads set by `enableNativeMatmul`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadNativeBlas, nativeMatmulBf16, type NativeBlasAddon } from './native-matmul';

const BACKEND = 'wasm';
const OVERRIDDEN = ['Identity', 'Cast', 'Slice', 'SplitV', 'Sum', 'Mean', 'Add', 'Transpose'] as const;
type Overridden = (typeof OVERRIDDEN)[number];

/** Names of the fused kernels (registered on wasm only, with the add-on). */
export const FUSED_KERNELS = {
  silu: 'PixnerdSilu',
  siluGrad: 'PixnerdSiluGrad',
  swiGlu: 'PixnerdSwiGlu',
  swiGluGrad: 'PixnerdSwiGluGrad',
  rmsNorm: 'PixnerdRmsNorm',
  rmsNormGrad: 'PixnerdRmsNormGrad',
  l2Normalize: 'PixnerdL2Normalize',
  l2NormalizeGrad: 'PixnerdL2NormalizeGrad',
  nerfBlock: 'PixnerdNerfBlock',
  nerfBlockGrad: 'PixnerdNerfBlockGrad',
  attention: 'PixnerdAttention',
  attentionGrad: 'PixnerdAttentionGrad',
  nerfFinal: 'PixnerdNerfFinal',
  nerfFinalGrad: 'PixnerdNerfFinalGrad',
  normModulate: 'PixnerdNormModulate',
  normModulateGrad: 'PixnerdNormModulateGrad',
  gatedAdd: 'PixnerdGatedAdd',
  gatedAddGrad: 'PixnerdGatedAddGrad',
} as const;
export type FusedKernel = keyof typeof FUSED_KERNELS;

/** The add-on's element-wise functions (views of the wasm heap; sizes in elements). */
interface ElementwiseAddon {
  /** out = x with axes permuted (shape, perm as Float32Arrays); absent in older builds. */
  transpose?(x: Float32Array, out: Float32Array, shape: Float32Array, perm: Float32Array): void;
  /** out[i] = a[i] + b[i mod m]; absent in older builds. */
  addBroadcast?(a: Float32Array, b: Float32Array, out: Float32Array, n: number, m: number): void;
  reduceSum(x: Float32Array, out: Float32Array, outer: number, R: number, inner: number): void;
  silu(x: Float32Array, y: Float32Array): void;
  siluGrad(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  swiGlu(a: Float32Array, b: Float32Array, y: Float32Array): void;
  swiGluGrad(a: Float32Array, b: Float32Array, dy: Float32Array, da: Float32Array, db: Float32Array): void;
  rmsNorm(x: Float32Array, w: Float32Array, y: Float32Array, rstd: Float32Array, rows: number, n: number, eps: number): void;
  rmsNormGrad(x: Float32Array, w: Float32Array, rstd: Float32Array, dy: Float32Array, dx: Float32Array, dw: Float32Array, rows: number, n: number): void;
  l2Normalize(x: Float32Array, y: Float32Array, rinv: Float32Array, outer: number, K: number, inner: number, eps: number): void;
  l2NormalizeGrad(x: Float32Array, rinv: Float32Array, dy: Float32Array, dx: Float32Array, outer: number, K: number, inner: number, eps: number): void;
  /** Absent in add-on builds older than the fused neural-field block. */
  nerfBlock?(z: Float32Array, g: Float32Array, gen: Float32Array, out: Float32Array, N: number, P: number, hx: number, hr: number, norm1: number, norm2: number, rmsEps: number, l2Eps: number): void;
  nerfBlockGrad?(z: Float32Array, g: Float32Array, gen: Float32Array, dy: Float32Array, dz: Float32Array, dg: Float32Array, dgen: Float32Array, N: number, P: number, hx: number, hr: number, norm1: number, norm2: number, rmsEps: number, l2Eps: number): void;
  /** nerfBlock with bf16 GEMMs (AVX512_BF16; hx, hr multiples of 16), else the fp32 block; returns which ran. Absent in older builds. */
  nerfBlockBf16?(z: Float32Array, g: Float32Array, gen: Float32Array, out: Float32Array, N: number, P: number, hx: number, hr: number, norm1: number, norm2: number, rmsEps: number, l2Eps: number): boolean;
  /** The attention core (kernel-lib/native/attention.h). Absent in older builds. */
  attention?(qkv: Float32Array, qw: Float32Array, kw: Float32Array, cos: Float32Array, sin: Float32Array, o: Float32Array, B: number, L: number, h: number, Dh: number, eps: number): void;
  attentionGrad?(qkv: Float32Array, qw: Float32Array, kw: Float32Array, cos: Float32Array, sin: Float32Array, dy: Float32Array, dqkv: Float32Array, dqw: Float32Array, dkw: Float32Array, B: number, L: number, h: number, Dh: number, eps: number): void;
  /** The field's output layer (kernel-lib/native/field-output.h). Absent in older builds. */
  nerfFinal?(z: Float32Array, g: Float32Array, W: Float32Array, b: Float32Array, out: Float32Array, rstd: Float32Array, R: number, hx: number, C: number, eps: number): void;
  nerfFinalGrad?(z: Float32Array, g: Float32Array, W: Float32Array, rstd: Float32Array, dy: Float32Array, dz: Float32Array, dg: Float32Array, dW: Float32Array, db: Float32Array, R: number, hx: number, C: number): void;
  /** The trunk's adaLN pieces (kernel-lib/native/adaln.h). Absent in older builds. */
  normModulate?(x: Float32Array, w: Float32Array, shift: Float32Array, scale: Float32Array, y: Float32Array, rstd: Float32Array, B: number, L: number, D: number, eps: number): void;
  normModulateGrad?(x: Float32Array, w: Float32Array, scale: Float32Array, rstd: Float32Array, dy: Float32Array, dx: Float32Array, dw: Float32Array, dshift: Float32Array, dscale: Float32Array, B: number, L: number, D: number): void;
  gatedAdd?(s: Float32Array, gate: Float32Array, h: Float32Array, y: Float32Array, B: number, L: number, D: number): void;
  gatedAddGrad?(gate: Float32Array, h: Float32Array, dy: Float32Array, ds: Float32Array, dgate: Float32Array, dh: Float32Array, B: number, L: number, D: number): void;
}

/**
 * Attributes of the fused attention core: tokens per image L, heads h, the q/k RMSNorm epsilon and
 * the RoPE tables [L * Dh] (kernel-lib/model/rope.ts).
 */
export interface AttentionAttrs {
  L: number;
  h: number;
  eps: number;
  cos: Float32Array;
  sin: Float32Array;
}

/** Attributes of the fused neural-field block: the field's sizes and switches. */
export interface NerfBlockAttrs {
  /** Field width hx and hidden width hr = hx * mlpRatio. */
  hx: number;
  hr: number;
  /** L2-normalise fc1 / fc2 over their input axis. */
  norm1: boolean;
  norm2: boolean;
  rmsEps: number;
  l2Eps: number;
}

function elementwiseAddon(): ElementwiseAddon | null {
  if (process.env.PIXNERD_NATIVE_BLAS === '0') return null;
  const a = loadNativeBlas() as (NativeBlasAddon & Partial<ElementwiseAddon>) | string;
  return typeof a !== 'string' && typeof a.rmsNormGrad === 'function' && typeof a.reduceSum === 'function' ? (a as ElementwiseAddon) : null;
}

/** The stock configs we replaced (to delegate to and to restore); null when not registered. */
let stock: Map<Overridden, tf.KernelConfig> | null = null;

const numel = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** A second reference to x's buffer (the stock wasm Reshape's way). */
function share(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function makeIdentity(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return st.get('Identity')!.kernelFunc(args);
    return share(args.backend as BackendWasm, x);
  };
}

function makeCast(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (x.dtype !== dtype || x.dtype === 'string') return st.get('Cast')!.kernelFunc(args);
    return share(args.backend as BackendWasm, x);
  };
}

function makeSlice(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return st.get('Slice')!.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const backend = args.backend as BackendWasm;
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const out = backend.makeOutput(s, x.dtype);
    const n = s.reduce((p, d) => p * d, 1);
    if (n === 0) return out;
    // Views only now: makeOutput may have grown the heap and detached older ones.
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    const strides = tf.util.computeStrides(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, b, s)) {
      const off = tf.slice_util.computeFlatOffset(b, strides);
      ov.set(xv.subarray(off, off + n));
      return out;
    }
    // Copy runs of the innermost axis; walk the outer index like an odometer.
    const rank = s.length;
    const inner = s[rank - 1]!;
    const idx = new Array<number>(rank - 1).fill(0);
    let o = 0;
    for (let row = 0; row < n / inner; row++) {
      let off = b[rank - 1]!;
      for (let d = 0; d < rank - 1; d++) off += (b[d]! + idx[d]!) * strides[d]!;
      ov.set(xv.subarray(off, off + inner), o);
      o += inner;
      for (let d = rank - 2; d >= 0; d--) {
        if (++idx[d]! < s[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  };
}

/** tf.split: one zero-copy slice per part along the axis (the stock kernel's parts, bit for bit). */
function makeSplitV(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  const slice = makeSlice(st);
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return st.get('SplitV')!.kernelFunc(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((n) => {
      const size = x.shape.slice();
      size[ax] = n;
      const part = slice({ inputs: { x }, attrs: { begin: [...begin], size }, backend: args.backend }) as tf.TensorInfo;
      begin[ax]! += n;
      return part;
    });
  };
}

/**
 * The reduced axes as one block of a [outer, R, inner] view (size-1 axes fit anywhere), or null
 * when kept axes sit between reduced ones.
 */
export function reductionBlock(shape: readonly number[], axes: readonly number[]): { outer: number; R: number; inner: number } | null {
  const reduced = new Set(axes);
  let outer = 1, R = 1, inner = 1;
  let phase = 0; // 0: before the block, 1: in it, 2: after it
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    if (reduced.has(d)) {
      if (phase === 2) return null;
      phase = 1;
      R *= n;
    } else if (phase === 0) outer *= n;
    else {
      phase = 2;
      inner *= n;
    }
  }
  return { outer, R, inner };
}

function sumJs(x: Float32Array, out: Float32Array, outer: number, R: number, inner: number): void {
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * R * inner;
    for (let r = 0; r < R; r++) {
      const row = base + r * inner;
      for (let i = 0; i < inner; i++) acc[i] += x[row + i]!;
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i]!;
  }
}

/** Mean: NaN for an empty input (stock: heap garbage), else the stock kernel. */
function makeMean(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string' || numel(x.shape) !== 0) return st.get('Mean')!.kernelFunc(args);
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(outShape, x.dtype === 'float32' ? 'float32' : x.dtype);
    backend.typedArrayFromHeap(out).fill(x.dtype === 'float32' ? NaN : 0);
    return out;
  };
}

function makeSum(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  const addon = elementwiseAddon();
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype === 'string') return st.get('Sum')!.kernelFunc(args);
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const backend = args.backend as BackendWasm;
    if (numel(x.shape) === 0) {
      // a sum over an empty axis is 0; the stock kernel leaves such outputs uninitialised (heap garbage)
      const out = backend.makeOutput(outShape, tf.sumOutType(x.dtype));
      backend.typedArrayFromHeap(out).fill(0);
      return out;
    }
    if (x.dtype !== 'float32') return st.get('Sum')!.kernelFunc(args);
    const block = reductionBlock(x.shape, axes);
    // innermost reductions need no transpose: the stock kernel is fine there
    if (!block || block.inner === 1) return st.get('Sum')!.kernelFunc(args);
    const out = backend.makeOutput(outShape, 'float32');
    const ov = backend.typedArrayFromHeap(out) as Float32Array;
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    if (addon) addon.reduceSum(xv, ov, block.outer, block.R, block.inner);
    else sumJs(xv, ov, block.outer, block.R, block.inner);
    return out;
  };
}

/** Adds below this many elements stay on the stock kernel (the call costs more than it saves). */
const ADD_MIN_ELEMENTS = 1 << 15;

/**
 * The operand order and repeat length of a float32 add our kernel can run: the same shape, or
 * one operand's shape (leading 1s dropped) equal to the trailing axes of the other's, which it
 * then repeats along ([N, P, hx] + [P, hx]: the field's pixel embedding). Else null.
 */
export function broadcastAddPlan(a: readonly number[], b: readonly number[]): { swap: boolean; m: number } | null {
  const strip = (s: readonly number[]) => s.slice(Math.max(0, s.findIndex((d) => d !== 1)));
  const trailing = (big: readonly number[], small: readonly number[]) => {
    const t = strip(small);
    return t.length <= big.length && t.every((d, i) => d === big[big.length - t.length + i]);
  };
  if (a.length >= b.length && trailing(a, b)) return { swap: false, m: numel(b) };
  if (b.length > a.length && trailing(b, a)) return { swap: true, m: numel(a) };
  return null;
}

/** Add: float32 broadcasts along leading axes in one threaded pass (add-on); the rest stock. Bit-identical. */
function makeAdd(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  const addon = elementwiseAddon();
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const plan = addon?.addBroadcast && a.dtype === 'float32' && b.dtype === 'float32' ? broadcastAddPlan(a.shape, b.shape) : null;
    const [big, small] = plan?.swap ? [b, a] : [a, b];
    const n = numel(big.shape);
    if (!plan || n < ADD_MIN_ELEMENTS || plan.m === 0) return st.get('Add')!.kernelFunc(args);
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput([...big.shape], 'float32');
    addon!.addBroadcast!(backend.typedArrayFromHeap(big) as Float32Array, backend.typedArrayFromHeap(small) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, n, plan.m);
    return out;
  };
}

/**
 * A transpose with size-1 axes dropped and axes that stay neighbours merged: the same data
 * movement on fewer, longer axes (patchify's 6-D permutation becomes 4-D with runs of p*C).
 */
export function mergeAxes(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = shape.map((d, i) => (d !== 1 ? i : -1)).filter((i) => i >= 0);
  if (kept.length === 0) return { shape: [1], perm: [0] };
  const index = new Map(kept.map((a, i) => [a, i]));
  const s = kept.map((a) => shape[a]!);
  const groups: number[][] = [];
  for (const a of perm.filter((a) => shape[a] !== 1).map((a) => index.get(a)!)) {
    const g = groups[groups.length - 1];
    if (g && a === g[g.length - 1]! + 1) g.push(a);
    else groups.push([a]);
  }
  const byInput = [...groups].sort((x, y) => x[0]! - y[0]!);
  return { shape: byInput.map((g) => g.reduce((n, a) => n * s[a]!, 1)), perm: groups.map((g) => byInput.indexOf(g)) };
}

/** Transposes below this many elements stay on the stock kernel. */
const TRANSPOSE_MIN_ELEMENTS = 1 << 14;

/** Transpose: float32, threaded row copies in the add-on (runs of the axes that stay last); bit-identical. */
function makeTranspose(st: Map<Overridden, tf.KernelConfig>): tf.KernelFunc {
  const addon = elementwiseAddon();
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    const n = numel(x.shape);
    if (!addon?.transpose || x.dtype !== 'float32' || n < TRANSPOSE_MIN_ELEMENTS) return st.get('Transpose')!.kernelFunc(args);
    const m = mergeAxes(x.shape, perm);
    if (m.shape.length > 8) return st.get('Transpose')!.kernelFunc(args);
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(perm.map((a) => x.shape[a]!), 'float32');
    addon.transpose(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, Float32Array.from(m.shape), Float32Array.from(m.perm));
    return out;
  };
}

const FACTORIES: Record<Overridden, (st: Map<Overridden, tf.KernelConfig>) => tf.KernelFunc> = {
  Identity: makeIdentity,
  Cast: makeCast,
  Slice: makeSlice,
  SplitV: makeSplitV,
  Sum: makeSum,
  Mean: makeMean,
  Add: makeAdd,
  Transpose: makeTranspose,
};

// ---- fused model kernels -----------------------------------------------------------------------

function checkF32(name: string, inputs: Record<string, tf.TensorInfo>): void {
  for (const [k, t] of Object.entries(inputs)) {
    if (t.dtype !== 'float32') throw new Error(`${name}: input ${k} is ${t.dtype}, float32 expected`);
  }
}

/**
 * makeOutput for each shape, then views of the outputs and of the inputs: views only after the
 * last allocation (heap growth detaches older ones).
 */
function outputsAndViews(backend: BackendWasm, shapes: number[][], inputs: tf.TensorInfo[]): { outs: tf.TensorInfo[]; ov: Float32Array[]; iv: Float32Array[] } {
  const outs = shapes.map((s) => backend.makeOutput(s, 'float32'));
  return { outs, ov: outs.map((o) => backend.typedArrayFromHeap(o) as Float32Array), iv: inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array) };
}

/** [outer, K, inner] of a tensor viewed around `axis`. */
function aroundAxis(shape: readonly number[], axis: number): [number, number, number] {
  const a = axis < 0 ? shape.length + axis : axis;
  return [numel(shape.slice(0, a)), shape[a]!, numel(shape.slice(a + 1))];
}

function fusedKernels(addon: ElementwiseAddon): Record<FusedKernel, tf.KernelFunc> {
  type In = Record<string, tf.TensorInfo>;
  const be = (args: { backend: unknown }) => args.backend as BackendWasm;
  const nerfArgs = (args: { inputs: unknown; attrs?: unknown }) => {
    const { z, g, gen } = args.inputs as In;
    const a = args.attrs as unknown as NerfBlockAttrs;
    const [N, P, hx] = z!.shape as [number, number, number];
    if (z!.shape.length !== 3 || hx !== a.hx || g!.shape.length !== 1 || g!.shape[0] !== hx || gen!.shape.length !== 2 || gen!.shape[0] !== N || gen!.shape[1] !== 2 * a.hx * a.hr) {
      throw new Error(`nerfBlock: z [${z!.shape}], g [${g!.shape}], gen [${gen!.shape}] do not fit hx ${a.hx}, hr ${a.hr}`);
    }
    return [N, P, a.hx, a.hr, a.norm1 ? 1 : 0, a.norm2 ? 1 : 0, a.rmsEps, a.l2Eps] as const;
  };
  const attnArgs = (args: { inputs: unknown; attrs?: unknown }, name: string) => {
    const { qkv, qw, kw } = args.inputs as In;
    const a = args.attrs as unknown as AttentionAttrs;
    const [rows, D3] = qkv!.shape as [number, number];
    const Dh = D3 / 3 / a.h;
    if (qkv!.shape.length !== 2 || !Number.isInteger(Dh) || rows % a.L !== 0 || qw!.shape.join() !== `${Dh}` || kw!.shape.join() !== `${Dh}` || a.cos.length !== a.L * Dh || a.sin.length !== a.L * Dh) {
      throw new Error(`${name}: qkv [${qkv!.shape}], q/k gains [${qw!.shape}], [${kw!.shape}] and RoPE tables of ${a.cos.length} do not fit L ${a.L}, ${a.h} heads`);
    }
    return { dims: [rows / a.L, a.L, a.h, Dh, a.eps] as const, D: a.h * Dh, a };
  };
  const finalDims = (z: tf.TensorInfo, W: tf.TensorInfo, name: string) => {
    const hx = z.shape[z.shape.length - 1]!;
    if (W.shape.length !== 2 || W.shape[0] !== hx) throw new Error(`${name}: z [${z.shape}] and W [${W.shape}] do not fit`);
    return [numel(z.shape) / Math.max(1, hx), hx, W.shape[1]!] as const;
  };
  /** [B, L, D] of x [B, L, D] with the per-image vectors [B, 1, D] checked against it. */
  const bld = (x: tf.TensorInfo, vecs: tf.TensorInfo[], name: string) => {
    const [B, L, D] = x.shape as [number, number, number];
    if (x.shape.length !== 3 || vecs.some((v) => v.shape.join() !== `${B},1,${D}`)) throw new Error(`${name}: [${x.shape}] with [${vecs.map((v) => v.shape).join('], [')}]: [B, L, D] and [B, 1, D] expected`);
    return [B, L, D] as const;
  };
  return {
    normModulate: (args) => {
      const { x, w, shift, scale } = args.inputs as In;
      const { eps } = args.attrs as unknown as { eps: number };
      checkF32('normModulate', { x: x!, w: w!, shift: shift!, scale: scale! });
      const dims = bld(x!, [shift!, scale!], 'normModulate');
      if (w!.shape.join() !== `${dims[2]}`) throw new Error(`normModulate: gain [${w!.shape}] for ${dims[2]} channels`);
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape, [dims[0], dims[1], 1]], [x!, w!, shift!, scale!]);
      addon.normModulate!(iv[0]!, iv[1]!, iv[2]!, iv[3]!, ov[0]!, ov[1]!, ...dims, eps);
      return outs;
    },
    normModulateGrad: (args) => {
      const { x, w, scale, rstd, dy } = args.inputs as In;
      checkF32('normModulateGrad', { x: x!, w: w!, scale: scale!, rstd: rstd!, dy: dy! });
      const dims = bld(x!, [scale!], 'normModulateGrad');
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape, w!.shape, scale!.shape, scale!.shape], [x!, w!, scale!, rstd!, dy!]);
      addon.normModulateGrad!(iv[0]!, iv[1]!, iv[2]!, iv[3]!, iv[4]!, ov[0]!, ov[1]!, ov[2]!, ov[3]!, ...dims);
      return outs;
    },
    gatedAdd: (args) => {
      const { s, gate, h } = args.inputs as In;
      checkF32('gatedAdd', { s: s!, gate: gate!, h: h! });
      const dims = bld(s!, [gate!], 'gatedAdd');
      if (h!.shape.join() !== s!.shape.join()) throw new Error(`gatedAdd: s [${s!.shape}] and h [${h!.shape}] differ`);
      const { outs, ov, iv } = outputsAndViews(be(args), [s!.shape], [s!, gate!, h!]);
      addon.gatedAdd!(iv[0]!, iv[1]!, iv[2]!, ov[0]!, ...dims);
      return outs[0]!;
    },
    gatedAddGrad: (args) => {
      const { gate, h, dy } = args.inputs as In;
      checkF32('gatedAddGrad', { gate: gate!, h: h!, dy: dy! });
      const dims = bld(h!, [gate!], 'gatedAddGrad');
      const { outs, ov, iv } = outputsAndViews(be(args), [h!.shape, gate!.shape, h!.shape], [gate!, h!, dy!]);
      addon.gatedAddGrad!(iv[0]!, iv[1]!, iv[2]!, ov[0]!, ov[1]!, ov[2]!, ...dims);
      return outs;
    },
    nerfFinal: (args) => {
      const { z, g, W, b } = args.inputs as In;
      const { eps } = args.attrs as unknown as { eps: number };
      checkF32('nerfFinal', { z: z!, g: g!, W: W!, b: b! });
      const [R, hx, C] = finalDims(z!, W!, 'nerfFinal');
      const { outs, ov, iv } = outputsAndViews(be(args), [[...z!.shape.slice(0, -1), C], [...z!.shape.slice(0, -1), 1]], [z!, g!, W!, b!]);
      addon.nerfFinal!(iv[0]!, iv[1]!, iv[2]!, iv[3]!, ov[0]!, ov[1]!, R, hx, C, eps);
      return outs;
    },
    nerfFinalGrad: (args) => {
      const { z, g, W, rstd, dy } = args.inputs as In;
      checkF32('nerfFinalGrad', { z: z!, g: g!, W: W!, rstd: rstd!, dy: dy! });
      const [R, hx, C] = finalDims(z!, W!, 'nerfFinalGrad');
      const { outs, ov, iv } = outputsAndViews(be(args), [z!.shape, g!.shape, W!.shape, [C]], [z!, g!, W!, rstd!, dy!]);
      addon.nerfFinalGrad!(iv[0]!, iv[1]!, iv[2]!, iv[3]!, iv[4]!, ov[0]!, ov[1]!, ov[2]!, ov[3]!, R, hx, C);
      return outs;
    },
    attention: (args) => {
      const { qkv, qw, kw } = args.inputs as In;
      checkF32('attention', { qkv: qkv!, qw: qw!, kw: kw! });
      const { dims, D, a } = attnArgs(args, 'attention');
      const { outs, ov, iv } = outputsAndViews(be(args), [[qkv!.shape[0]!, D]], [qkv!, qw!, kw!]);
      addon.attention!(iv[0]!, iv[1]!, iv[2]!, a.cos, a.sin, ov[0]!, ...dims);
      return outs[0]!;
    },
    attentionGrad: (args) => {
      const { qkv, qw, kw, dy } = args.inputs as In;
      checkF32('attentionGrad', { qkv: qkv!, qw: qw!, kw: kw!, dy: dy! });
      const { dims, a } = attnArgs(args, 'attentionGrad');
      const { outs, ov, iv } = outputsAndViews(be(args), [qkv!.shape, qw!.shape, kw!.shape], [qkv!, qw!, kw!, dy!]);
      addon.attentionGrad!(iv[0]!, iv[1]!, iv[2]!, a.cos, a.sin, iv[3]!, ov[0]!, ov[1]!, ov[2]!, ...dims);
      return outs;
    },
    nerfBlock: (args) => {
      const { z, g, gen } = args.inputs as In;
      checkF32('nerfBlock', { z: z!, g: g!, gen: gen! });
      const dims = nerfArgs(args);
      const { outs, ov, iv } = outputsAndViews(be(args), [z!.shape], [z!, g!, gen!]);
      // under the bf16 matMul precision (./precision.ts) the block's per-patch GEMMs run bf16 too
      if (nativeMatmulBf16() && addon.nerfBlockBf16) addon.nerfBlockBf16(iv[0]!, iv[1]!, iv[2]!, ov[0]!, ...dims);
      else addon.nerfBlock!(iv[0]!, iv[1]!, iv[2]!, ov[0]!, ...dims);
      return outs[0]!;
    },
    nerfBlockGrad: (args) => {
      const { z, g, gen, dy } = args.inputs as In;
      checkF32('nerfBlockGrad', { z: z!, g: g!, gen: gen!, dy: dy! });
      const dims = nerfArgs(args);
      const { outs, ov, iv } = outputsAndViews(be(args), [z!.shape, g!.shape, gen!.shape], [z!, g!, gen!, dy!]);
      addon.nerfBlockGrad!(iv[0]!, iv[1]!, iv[2]!, iv[3]!, ov[0]!, ov[1]!, ov[2]!, ...dims);
      return outs;
    },
    silu: (args) => {
      const { x } = args.inputs as In;
      checkF32('silu', { x: x! });
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape], [x!]);
      addon.silu(iv[0]!, ov[0]!);
      return outs[0]!;
    },
    siluGrad: (args) => {
      const { x, dy } = args.inputs as In;
      checkF32('siluGrad', { x: x!, dy: dy! });
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape], [x!, dy!]);
      addon.siluGrad(iv[0]!, iv[1]!, ov[0]!);
      return outs[0]!;
    },
    swiGlu: (args) => {
      const { a, b } = args.inputs as In;
      checkF32('swiGlu', { a: a!, b: b! });
      const { outs, ov, iv } = outputsAndViews(be(args), [a!.shape], [a!, b!]);
      addon.swiGlu(iv[0]!, iv[1]!, ov[0]!);
      return outs[0]!;
    },
    swiGluGrad: (args) => {
      const { a, b, dy } = args.inputs as In;
      checkF32('swiGluGrad', { a: a!, b: b!, dy: dy! });
      const { outs, ov, iv } = outputsAndViews(be(args), [a!.shape, b!.shape], [a!, b!, dy!]);
      addon.swiGluGrad(iv[0]!, iv[1]!, iv[2]!, ov[0]!, ov[1]!);
      return outs;
    },
    rmsNorm: (args) => {
      const { x, weight } = args.inputs as In;
      const { eps } = args.attrs as unknown as { eps: number };
      checkF32('rmsNorm', { x: x!, weight: weight! });
      const n = x!.shape[x!.shape.length - 1]!;
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape, [...x!.shape.slice(0, -1), 1]], [x!, weight!]);
      addon.rmsNorm(iv[0]!, iv[1]!, ov[0]!, ov[1]!, numel(x!.shape) / Math.max(1, n), n, eps);
      return outs;
    },
    rmsNormGrad: (args) => {
      const { x, weight, rstd, dy } = args.inputs as In;
      checkF32('rmsNormGrad', { x: x!, weight: weight!, rstd: rstd!, dy: dy! });
      const n = x!.shape[x!.shape.length - 1]!;
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape, weight!.shape], [x!, weight!, rstd!, dy!]);
      addon.rmsNormGrad(iv[0]!, iv[1]!, iv[2]!, iv[3]!, ov[0]!, ov[1]!, numel(x!.shape) / Math.max(1, n), n);
      return outs;
    },
    l2Normalize: (args) => {
      const { x } = args.inputs as In;
      const { axis, eps } = args.attrs as unknown as { axis: number; eps: number };
      checkF32('l2Normalize', { x: x! });
      const [outer, K, inner] = aroundAxis(x!.shape, axis);
      const rShape = x!.shape.map((d, i) => (i === (axis < 0 ? x!.shape.length + axis : axis) ? 1 : d));
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape, rShape], [x!]);
      addon.l2Normalize(iv[0]!, ov[0]!, ov[1]!, outer, K, inner, eps);
      return outs;
    },
    l2NormalizeGrad: (args) => {
      const { x, rinv, dy } = args.inputs as In;
      const { axis, eps } = args.attrs as unknown as { axis: number; eps: number };
      checkF32('l2NormalizeGrad', { x: x!, rinv: rinv!, dy: dy! });
      const [outer, K, inner] = aroundAxis(x!.shape, axis);
      const { outs, ov, iv } = outputsAndViews(be(args), [x!.shape], [x!, rinv!, dy!]);
      addon.l2NormalizeGrad(iv[0]!, iv[1]!, iv[2]!, ov[0]!, outer, K, inner, eps);
      return outs[0]!;
    },
  };
}

/** The registered fused kernel `k` for the current backend, or null (ops.ts then uses tfjs ops). */
export function fusedKernel(k: FusedKernel): string | null {
  return fusedActive && tf.getBackend() === BACKEND && tf.getKernel(FUSED_KERNELS[k], BACKEND) !== undefined ? FUSED_KERNELS[k] : null;
}

let fusedActive = false;

function registerFused(): void {
  const addon = elementwiseAddon();
  if (!addon) return;
  const funcs = fusedKernels(addon);
  // each kernel is the add-on function of the same name; a pair registers only where the build
  // has both its forward and its backward (an older add-on build lacks the newer ones)
  const has = (f: string) => typeof (addon as unknown as Record<string, unknown>)[f] === 'function';
  for (const [k, name] of Object.entries(FUSED_KERNELS) as [FusedKernel, string][]) {
    const forward = k.replace(/Grad$/, '');
    if (!has(forward) || !has(`${forward}Grad`)) continue;
    if (!tf.getKernel(name, BACKEND)) tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: funcs[k] });
  }
  fusedActive = true;
}

function unregisterFused(): void {
  if (!fusedActive) return;
  for (const name of Object.values(FUSED_KERNELS)) if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
  fusedActive = false;
}

/**
 * Registers the replacement kernels (and, with the add-on, the fused ones) on the wasm backend
 * (idempotent). Returns whether they are active, and why not. The wasm backend must be registered.
 */
export function enableWasmKernelOverrides(): { active: boolean; reason: string } {
  if (process.env.PIXNERD_WASM_KERNELS === '0') {
    disableWasmKernelOverrides();
    return { active: false, reason: 'PIXNERD_WASM_KERNELS=0' };
  }
  if (stock) return { active: true, reason: describeOverrides() };
  const st = new Map<Overridden, tf.KernelConfig>();
  for (const name of OVERRIDDEN) {
    const k = tf.getKernel(name, BACKEND);
    if (!k) return { active: false, reason: `the wasm backend has no ${name} kernel registered` };
    st.set(name, k);
  }
  for (const name of OVERRIDDEN) {
    const k = st.get(name)!;
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: FACTORIES[name](st), setupFunc: k.setupFunc, disposeFunc: k.disposeFunc });
  }
  stock = st;
  registerFused();
  return { active: true, reason: describeOverrides() };
}

function describeOverrides(): string {
  const optional: [FusedKernel, string][] = [['nerfBlock', 'NerfBlock'], ['attention', 'attention'], ['nerfFinal', 'field output'], ['gatedAdd', 'adaLN']];
  const nerf = optional.filter(([k]) => fusedActive && tf.getKernel(FUSED_KERNELS[k], BACKEND)).map(([, label]) => `/${label}`).join('');
  return `zero-copy Identity/Cast/Slice/SplitV, one-pass Sum (${elementwiseAddon() ? 'add-on' : 'JS'})${elementwiseAddon()?.addBroadcast ? ', threaded broadcast Add and Transpose (add-on)' : ''}${fusedActive ? `, fused SiLU/SwiGLU/RMSNorm/L2-norm${nerf} (add-on)` : ''}`;
}

/** Puts the stock wasm kernels back and drops the fused ones (no-op when ours are not registered). */
export function disableWasmKernelOverrides(): void {
  unregisterFused();
  if (!stock) return;
  for (const [name, k] of stock) {
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel(k);
  }
  stock = null;
}

/** Whether the replacement kernels are registered now. */
export function wasmKernelOverridesActive(): boolean {
  return stock !== null;
}
