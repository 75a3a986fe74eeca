/**
 * Native BLAS matMul for the tfjs wasm backend.
 *
 * In Node the wasm backend is single-threaded, and its batched / transposeA matMuls run at
 * ~2 GFLOP/s. This module overrides the wasm `BatchMatMul` and `_FusedMatMul` kernels with
 * kernels that call the `nativeblas` add-on (kernel-lib/native, built by `npm install` /
 * `npm run build:native`): OpenBLAS's sgemm on zero-copy views of the wasm heap, on every core.
 * See /work/shared/design/native-blas.md for the measured design.
 *
 * - `enableNativeMatmul()` registers the kernels (idempotent); `disableNativeMatmul()` puts the
 *   stock kernels back. (initBackend also registers the kernels of
 *   ./native-kernels.ts, which this module must not import: tslab's CommonJS loader cannot
 *   follow the cycle.) `PIXNERD_NATIVE_BLAS=0` keeps the stock kernels;
 *   `PIXNERD_BLAS_THREADS=n` sets the threads (default: the machine's cores).
 * - Without the add-on (no compiler at install time) nothing changes and the result says why.
 * - Where the add-on found no BLAS library it uses its built-in loop, which beats stock wasm only
 *   for batched and transposeA matMuls: then only `BatchMatMul` is overridden, and 2-D
 *   non-transposeA products still go to the stock XNNPACK kernel.
 * - A `_FusedMatMul` bias along the last axis is written into the output rows first and the GEMM
 *   accumulates onto it (beta 1): no separate broadcasting Add (the stock wasm Add took ~2 ms on a
 *   [512, 4096] field-generator output). The add-on writes the rows itself, each GEMM thread its
 *   own block just before its product (sgemm's `bias` argument). Other bias shapes are added
 *   after the GEMM.
 * - Non-float32 inputs, and fused activations / bias shapes the override does not handle, go to
 *   the saved stock kernel.
 * - `setNativeMatmulBf16(true)` routes both kernels through the add-on's `sgemmBf16` (bf16
 *   products, fp32 sums: oneDNN, where the CPU has AVX512_BF16) until it is set back, but for
 *   products with N or K under 16 (see bf16Pays); the fused neural-field block
 *   (./native-kernels.ts) follows it. For the sampling forward only, through ./precision.ts.
 *   `nativeBf16Support()` says whether it can run.
 *
 * Pitfall handled here: any allocation on the wasm heap (`makeOutput`, any kernel) may grow
 * WebAssembly.Memory and detach older views, so heap views are taken after the last allocation
 * and never kept across kernels. The add-on checks view lengths (a detached view throws).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { projectRequire, projectRoot } from '../util/load-module';

/** `C[b] = op(A[b]) op(B[b])`, row-major; strides in elements, 0 broadcasts that operand. */
export type SgemmFn = (
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  batch: number,
  strideA: number,
  strideB: number,
  /** C += op(A) op(B) instead of C = (beta 1). Older builds ignore it. */
  accumulate?: boolean,
  /** A row of N that every row of C starts as: C = bias + op(A) op(B) (not with accumulate). Builds with `info().sgemmBias`. */
  bias?: Float32Array,
) => void;

export interface NativeBlasInfo {
  /** The BLAS library loaded (`libopenblas.so.0`, ...) or `builtin`. */
  lib: string;
  /** OpenBLAS's configuration string (with the CPU core its kernels are for). */
  config: string;
  threads: number;
  /** True where no BLAS library was found and the add-on's own loop runs. */
  builtin: boolean;
  /** The OPENBLAS_CORETYPE the add-on chose from the CPU features, where it set one. */
  coretype?: string;
  /**
   * The fp32 GEMM that `sgemm` runs: oneDNN's dnnl_sgemm where the library loads (its AVX-512
   * kernels, whatever OPENBLAS_CORETYPE says), else OpenBLAS, else the built-in loop. Absent in
   * older builds (OpenBLAS).
   */
  fp32?: 'onednn' | 'openblas' | 'builtin';
  /** What loaded for fp32 (`oneDNN 2.6.3 (libdnnl.so.2) dnnl_sgemm`), or why oneDNN did not. */
  fp32Note?: string;
  /** The GEMMs take a bias row (SgemmFn's last argument). Absent in older builds. */
  sgemmBias?: boolean;
}

/** One line on the fp32 GEMM the add-on runs: `oneDNN 2.6.3 (libdnnl.so.2) dnnl_sgemm` or `libopenblas.so.0 Haswell`. */
export function describeFp32Gemm(info: NativeBlasInfo): string {
  if (info.fp32 === 'onednn') return info.fp32Note ?? 'oneDNN dnnl_sgemm';
  const core = / ([A-Za-z0-9]+) MAX_THREADS/.exec(info.config)?.[1];
  return `${info.lib}${core ? ` ${core}` : ''}`;
}

/** The add-on's bf16 GEMM: whether it can run here, and which of its needs is missing. */
export interface Bf16Info {
  available: boolean;
  /** What runs (`oneDNN 2.6.3 (libdnnl.so.2) ...`), or `missing the CPU feature AVX512_BF16 (...)` / `missing the oneDNN library (...)`. */
  reason: string;
  lib?: string;
  version?: string;
}

export interface NativeBlasAddon {
  sgemm: SgemmFn;
  /** The same with the add-on's built-in loop, whatever library was loaded. */
  sgemmBuiltin: SgemmFn;
  /** The same with bf16 products and fp32 sums (throws where bf16Info().available is false). Absent in older builds. */
  sgemmBf16?: SgemmFn;
  /** Loads oneDNN on the first call. Absent in older builds. */
  bf16Info?(): Bf16Info;
  setThreads(n: number): void;
  info(): NativeBlasInfo;
}

export interface NativeMatmulStatus {
  active: boolean;
  /** Why it is off, or which path is on. */
  reason: string;
  lib?: string;
  threads?: number;
}

export interface NativeMatmulOptions {
  /** Threads for the BLAS calls (default `PIXNERD_BLAS_THREADS`, else the machine's cores). */
  threads?: number;
  /** Use the add-on's built-in loop even where a BLAS library loaded (tests, comparisons). */
  builtin?: boolean;
}

/** Where `kernel-lib/native/build.mjs` puts the add-on. */
export const ADDON_PATH = join(projectRoot(), 'kernel-lib/native/build/Release/nativeblas.node');

let defaultAddon: NativeBlasAddon | string | undefined;

/** Loads the add-on (cached for the default path); returns it, or a string saying why not. */
export function loadNativeBlas(path: string = ADDON_PATH): NativeBlasAddon | string {
  if (path === ADDON_PATH && defaultAddon !== undefined) return defaultAddon;
  let r: NativeBlasAddon | string;
  if (!existsSync(path)) {
    r = `add-on not built (${path === ADDON_PATH ? 'kernel-lib/native/build/Release/nativeblas.node' : path} missing; run npm run build:native)`;
  } else {
    try {
      const m = projectRequire()(path) as NativeBlasAddon;
      r = typeof m.sgemm === 'function' && typeof m.info === 'function' ? m : `${path} is not the nativeblas add-on`;
    } catch (e) {
      r = `add-on failed to load: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  if (path === ADDON_PATH) defaultAddon = r;
  return r;
}

// ---- kernels -----------------------------------------------------------------------------------

const BACKEND = 'wasm';
const OVERRIDDEN = ['BatchMatMul', '_FusedMatMul'] as const;
type Overridden = (typeof OVERRIDDEN)[number];

interface State {
  addon: NativeBlasAddon;
  sgemm: SgemmFn;
  builtin: boolean;
  threads: number;
  /** The stock configs we replaced, to delegate to and to restore. */
  stock: Map<Overridden, tf.KernelConfig>;
  /** The add-on's sgemm takes `accumulate` (builds since the fused bias). */
  accumulate: boolean;
  /** The add-on's sgemm takes a bias row and fills C's rows itself, per thread (info().sgemmBias). */
  biasArg: boolean;
  /** Route the GEMMs through the add-on's sgemmBf16 (see setNativeMatmulBf16). */
  bf16: boolean;
}

let state: State | null = null;

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

interface Geometry {
  M: number;
  N: number;
  K: number;
  outerA: number[];
  outerB: number[];
  outer: number[];
  batchA: number;
  batchB: number;
  batch: number;
}

/** M, N, K and the broadcast batch dims of op(a) @ op(b), as the stock wasm kernel reads them. */
function geometry(a: tf.TensorInfo, b: tf.TensorInfo, tA: boolean, tB: boolean): Geometry {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const KB = tB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== KB) {
    throw new Error(
      `Error in matMul: inner shapes (${K}) and (${KB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${tA} and transposeB=${tB} must match.`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  return { M, N, K, outerA, outerB, outer, batchA: size(outerA), batchB: size(outerB), batch: size(outer) };
}

/** Row-major strides (in matrices) of `dims` aligned right to rank `rank`, 0 on broadcast dims. */
function broadcastStrides(dims: number[], outer: number[]): number[] {
  const rank = outer.length;
  const padded = [...new Array<number>(rank - dims.length).fill(1), ...dims];
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 && outer[d] !== 1 ? 0 : s;
    s *= padded[d]!;
  }
  return strides;
}

/**
 * Whether a product runs faster in bf16: not where N or K is under 16 (the neural field's RGB
 * projections, [131072, 64] x [64, 3] and [131072, 3] x [3, 64] in bench-S): at 2K or 2N FLOPs per
 * element of A they are memory-bound, and converting A to bf16 cost more than it saved (11.8 ms
 * against 7.1 ms in fp32). They stay fp32 under the bf16 switch.
 */
export function bf16Pays(g: { N: number; K: number }): boolean {
  return g.N >= 16 && g.K >= 16;
}

/**
 * Fills `out` (already allocated, [...outer, M, N]) with op(a) @ op(b), plus `bias` (a row of N)
 * when given: every row of `out` starts as the bias and the GEMM accumulates onto it (beta 1),
 * one pass instead of a GEMM and a broadcasting Add. The add-on fills the rows itself where it
 * can (biasArg: each GEMM thread its own block, just before its product; filling the field
 * generator's [256, 16384] output here, one JS thread, took ~1.3 ms of its ~12 ms product at
 * bench-S). No allocation on the heap.
 */
function gemmInto(st: State, backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo, tA: boolean, tB: boolean, g: Geometry, out: tf.TensorInfo, bias?: tf.TensorInfo): void {
  // Views only now: makeOutput (the last allocation) may have grown and detached the heap.
  const outV = backend.typedArrayFromHeap(out) as Float32Array;
  if (outV.length === 0) return;
  const biasV = bias ? (backend.typedArrayFromHeap(bias) as Float32Array) : undefined;
  // one call for the whole product, unless both operands broadcast (the per-matrix loop below)
  const oneCall = (g.batchA === g.batch && g.batchB === g.batch) || g.batchA === 1 || g.batchB === 1;
  // the add-on takes the bias for products it runs in one call
  const native = biasV !== undefined && st.biasArg && g.K > 0 && oneCall;
  if (biasV && !native) for (let r = 0; r < outV.length; r += g.N) outV.set(biasV, r);
  if (g.K === 0) {
    if (!bias) outV.fill(0); // the malloc'd output is not zeroed
    return;
  }
  const aV = backend.typedArrayFromHeap(a) as Float32Array;
  const bV = backend.typedArrayFromHeap(b) as Float32Array;
  const gemm = st.bf16 && bf16Pays(g) ? st.addon.sgemmBf16! : st.sgemm;
  const { M, N, K } = g;
  const sA = M * K;
  const sB = K * N;
  if (oneCall) {
    // C = bias + product (the add-on fills), or C += product onto the rows filled above
    gemm(aV, bV, outV, M, N, K, tA, tB, g.batch, g.batchA === 1 ? 0 : sA, g.batchB === 1 ? 0 : sB, Boolean(bias) && !native, native ? biasV : undefined);
    return;
  }
  // Two-sided outer broadcasting ([2,1,..] @ [1,3,..]): one call per output matrix.
  const stA = broadcastStrides(g.outerA, g.outer);
  const stB = broadcastStrides(g.outerB, g.outer);
  const MN = M * N;
  const idx = new Array<number>(g.outer.length).fill(0);
  for (let o = 0; o < g.batch; o++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < idx.length; d++) {
      ia += idx[d]! * stA[d]!;
      ib += idx[d]! * stB[d]!;
    }
    gemm(aV.subarray(ia * sA, (ia + 1) * sA), bV.subarray(ib * sB, (ib + 1) * sB), outV.subarray(o * MN, (o + 1) * MN), M, N, K, tA, tB, 1, 0, 0, Boolean(bias));
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < g.outer[d]!) break;
      idx[d] = 0;
    }
  }
}

/** makeOutput, then the GEMM (onto a bias row, when given); frees the output if the GEMM throws. */
function matmulOutput(st: State, backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo, tA: boolean, tB: boolean, g: Geometry, bias?: tf.TensorInfo): tf.TensorInfo {
  const out = backend.makeOutput([...g.outer, g.M, g.N], 'float32');
  try {
    gemmInto(st, backend, a, b, tA, tB, g, out, bias);
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  return out;
}

function stockKernel(st: State, name: Overridden): tf.KernelFunc {
  return st.stock.get(name)!.kernelFunc;
}

function makeBatchMatMul(st: State): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stockKernel(st, 'BatchMatMul')(args);
    const g = geometry(a, b, transposeA, transposeB);
    // The built-in loop loses to XNNPACK on 2-D non-transposeA products.
    if (st.builtin && g.batch === 1 && !transposeA) return stockKernel(st, 'BatchMatMul')(args);
    return matmulOutput(st, args.backend as BackendWasm, a, b, transposeA, transposeB, g);
  };
}

/** Stock wasm kernels that apply a fused activation to x (and, for prelu, alpha). */
const ACTIVATIONS: Record<string, { kernel: string; attrs: (alpha: number) => tf.NamedAttrMap }> = {
  relu: { kernel: 'Relu', attrs: () => ({}) },
  relu6: { kernel: 'Relu6', attrs: () => ({}) },
  elu: { kernel: 'Elu', attrs: () => ({}) },
  sigmoid: { kernel: 'Sigmoid', attrs: () => ({}) },
  leakyrelu: { kernel: 'LeakyRelu', attrs: (alpha) => ({ alpha }) },
  prelu: { kernel: 'Prelu', attrs: () => ({}) },
};

/** True where adding `t` to an output of shape `outShape` keeps that shape. */
function broadcastsInto(t: tf.TensorInfo, outShape: number[]): boolean {
  if (t.shape.length > outShape.length) return false;
  try {
    const s = tf.broadcast_util.assertAndGetBroadcastShape(outShape, t.shape);
    return s.length === outShape.length && s.every((d, i) => d === outShape[i]);
  } catch {
    return false;
  }
}

function makeFusedMatMul(st: State): tf.KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: tf.TensorInfo;
      b: tf.TensorInfo;
      bias?: tf.TensorInfo;
      preluActivationWeights?: tf.TensorInfo;
    };
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number };
    const activation = attrs.activation ?? 'linear';
    const stock = () => stockKernel(st, '_FusedMatMul')(args);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return stock();
    const act = activation === 'linear' ? null : ACTIVATIONS[activation];
    if (act === undefined || (act && !tf.getKernel(act.kernel, BACKEND))) return stock();
    if (activation === 'prelu' && !preluActivationWeights) return stock();
    const addKernel = bias ? tf.getKernel('Add', BACKEND) : null;
    if (bias && !addKernel) return stock();
    const g = geometry(a, b, attrs.transposeA, attrs.transposeB);
    const outShape = [...g.outer, g.M, g.N];
    if (bias && !broadcastsInto(bias, outShape)) return stock();
    if (activation === 'prelu' && !broadcastsInto(preluActivationWeights!, outShape)) return stock();

    const backend = args.backend as BackendWasm;
    // A bias along the last axis only ([N], [1, N], ...) goes into the GEMM (beta 1, the add-on
    // builds that know `accumulate`); any other broadcast is a separate Add after it.
    const rowBias = bias && st.accumulate && bias.shape[bias.shape.length - 1] === g.N && bias.shape.slice(0, -1).every((d) => d === 1) ? bias : undefined;
    let out = matmulOutput(st, backend, a, b, attrs.transposeA, attrs.transposeB, g, rowBias);
    const then = (f: (x: tf.TensorInfo) => tf.TensorInfo) => {
      try {
        const r = f(out);
        backend.disposeData(out.dataId);
        out = r;
      } catch (e) {
        backend.disposeData(out.dataId);
        throw e;
      }
    };
    if (bias && !rowBias) then((x) => addKernel!.kernelFunc({ inputs: { a: x, b: bias }, backend, attrs: {} }) as tf.TensorInfo);
    if (act) {
      const k = tf.getKernel(act.kernel, BACKEND)!;
      const inputs: tf.NamedTensorInfoMap = activation === 'prelu' ? { x: out, alpha: preluActivationWeights! } : { x: out };
      then((x) => k.kernelFunc({ inputs: { ...inputs, x }, backend, attrs: act.attrs(attrs.leakyreluAlpha ?? 0.2) }) as tf.TensorInfo);
    }
    return out;
  };
}

// ---- switching ---------------------------------------------------------------------------------

function resolveThreads(opt: number | undefined): number {
  if (opt !== undefined) {
    if (!Number.isInteger(opt) || opt < 1 || opt > 1024) throw new Error(`native matMul: threads must be an integer in [1, 1024], got ${opt}`);
    return opt;
  }
  const env = process.env.PIXNERD_BLAS_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`PIXNERD_BLAS_THREADS must be an integer in [1, 1024], got "${env}"`);
    return n;
  }
  return Math.max(1, availableParallelism());
}

function describe(st: State): string {
  const info = st.addon.info();
  const threads = `${st.threads} thread${st.threads === 1 ? '' : 's'}`;
  if (st.builtin) {
    const why = info.builtin ? 'no BLAS library found; install libopenblas0-pthread' : 'built-in loop forced';
    return `native add-on, built-in loop for batched/transposeA matMuls, ${threads} (${why}); stock XNNPACK for 2-D`;
  }
  return `native BLAS (${describeFp32Gemm(info)}, ${threads})`;
}

/**
 * Overrides the wasm `BatchMatMul` / `_FusedMatMul` kernels with the native ones (idempotent;
 * a second call updates the threads). The wasm backend must be registered (its package imported).
 * Returns whether it is active, and why not.
 */
export function enableNativeMatmul(opts: NativeMatmulOptions = {}): NativeMatmulStatus {
  const threads = resolveThreads(opts.threads);
  if (process.env.PIXNERD_NATIVE_BLAS === '0') {
    disableNativeMatmul();
    return { active: false, reason: 'PIXNERD_NATIVE_BLAS=0' };
  }
  const addon = loadNativeBlas();
  if (typeof addon === 'string') return { active: false, reason: addon };
  const info = addon.info();
  // No BLAS library but oneDNN: its sgemm runs every product (the built-in mode is for neither).
  const builtin = Boolean(opts.builtin) || (info.builtin && info.fp32 !== 'onednn');
  addon.setThreads(threads);
  if (state && state.builtin === builtin) {
    state.threads = threads;
    return { active: true, reason: describe(state), lib: builtin ? 'builtin' : info.lib, threads };
  }
  disableNativeMatmul();
  const names: readonly Overridden[] = builtin ? ['BatchMatMul'] : OVERRIDDEN;
  const stock = new Map<Overridden, tf.KernelConfig>();
  for (const name of names) {
    const k = tf.getKernel(name, BACKEND);
    if (!k) return { active: false, reason: `the wasm backend has no ${name} kernel registered (import @tensorflow/tfjs-backend-wasm first)` };
    stock.set(name, k);
  }
  const st: State = { addon, sgemm: builtin ? addon.sgemmBuiltin : addon.sgemm, builtin, threads, stock, accumulate: typeof (addon as { nerfBlock?: unknown }).nerfBlock === 'function', biasArg: info.sgemmBias === true, bf16: false };
  const funcs: Record<Overridden, (s: State) => tf.KernelFunc> = { BatchMatMul: makeBatchMatMul, _FusedMatMul: makeFusedMatMul };
  for (const name of names) {
    const k = stock.get(name)!;
    tf.unregisterKernel(name, BACKEND);
    // Keep the stock setup: if the backend is ever re-initialised, the stock kernel we delegate to
    // is set up again.
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: funcs[name](st), setupFunc: k.setupFunc, disposeFunc: k.disposeFunc });
  }
  state = st;
  return { active: true, reason: describe(st), lib: builtin ? 'builtin' : info.lib, threads };
}

/** Puts the stock wasm kernels back (no-op when the native ones are not registered). */
export function disableNativeMatmul(): void {
  if (!state) return;
  for (const [name, k] of state.stock) {
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel(k);
  }
  state = null;
}

/** Whether the native GEMMs run bf16 now (setNativeMatmulBf16); the fused field block follows it. */
export function nativeMatmulBf16(): boolean {
  return state?.bf16 ?? false;
}

/** Whether the native kernels are registered now. */
export function nativeMatmulActive(): boolean {
  return state !== null;
}

/**
 * Whether BatchMatMul and _FusedMatMul both run natively now for float32 2-D operands (the stock
 * wasm kernels take rank 3 only; the built-in mode overrides BatchMatMul alone).
 */
export function nativeMatmul2d(): boolean {
  return state !== null && !state.builtin;
}

/**
 * Whether the native kernels can run their GEMMs in bf16 now, or what is missing (`missing the
 * nativeblas add-on (...)`, `missing the CPU feature AVX512_BF16 (...)`, `missing the oneDNN
 * library (...)`, ...). Loads oneDNN on the first call.
 */
export function nativeBf16Support(): { available: true; how: string } | { available: false; missing: string } {
  if (process.env.PIXNERD_NATIVE_BLAS === '0') return { available: false, missing: 'missing the nativeblas add-on (PIXNERD_NATIVE_BLAS=0)' };
  const addon = loadNativeBlas();
  if (typeof addon === 'string') return { available: false, missing: `missing the nativeblas add-on (${addon})` };
  if (!state) return { available: false, missing: `missing the native matMul kernels (the tfjs backend is ${tf.getBackend()}, not wasm with the add-on)` };
  if (state.builtin) return { available: false, missing: 'missing a BLAS library (the add-on runs its built-in loop; bf16 goes with the full native matMul path)' };
  if (typeof addon.sgemmBf16 !== 'function' || typeof addon.bf16Info !== 'function') return { available: false, missing: 'missing bf16 in the add-on build (rebuild it: npm run build:native)' };
  const info = addon.bf16Info();
  return info.available ? { available: true, how: info.reason } : { available: false, missing: info.reason };
}

/**
 * Routes the native BatchMatMul / _FusedMatMul through bf16 GEMMs (`on`) or fp32 ones; returns
 * the previous setting. Turning it on throws where nativeBf16Support() says it cannot run;
 * turning it off never throws.
 */
export function setNativeMatmulBf16(on: boolean): boolean {
  const prev = state?.bf16 ?? false;
  if (on) {
    const s = nativeBf16Support();
    if (!s.available) throw new Error(`bf16 matMuls unavailable: ${s.missing}`);
  }
  if (state) state.bf16 = on;
  return prev;
}
