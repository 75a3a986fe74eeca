/**
 * Optimizer updates on the wasm heap: one AdamW or EMA update per parameter tensor, instead of
 * ~12 (AdamW) or ~3 (EMA) tfjs ops that each allocate and write a new tensor.
 *
 * On the wasm backend every float32 tensor is a contiguous block of the wasm heap. These
 * functions take zero-copy views of the blocks (`typedArrayFromHeap`) and compute the update
 * with the nativeblas add-on's C++ loops (2 threads on big tensors), or, without the add-on,
 * with a JS loop over the same views that rounds every step to float32 (`Math.fround`) like
 * the op path does.
 *
 * What is written where:
 * - The AdamW moments m, v are updated in place (they are only ever read here).
 * - The new parameter (and the new EMA copy) goes to a fresh heap buffer that the variable is
 *   then assigned, never into the old buffer: tfjs-wasm's stock XNNPACK matMul caches the
 *   packed weights of its right operand by buffer id, so a weight changed in place would be
 *   multiplied with its stale packed copy wherever the stock kernel runs (without the add-on,
 *   with its built-in loop, or for a fused matMul the native override hands back). That is
 *   how a fallback run once trained on frozen weights. One allocation per tensor per step.
 *
 * Safety:
 * - A moment's buffer may be shared (tfjs shares data between a variable and the tensor it was
 *   made from, between `clone()`s, ...). Writing to a shared buffer would change the other
 *   tensors too, so a moment whose buffer's refCount is above 1 first gets a private copy.
 * - Heap growth detaches views: views are taken after the last allocation and used at once.
 * - Only the wasm backend is handled (`inPlaceUpdates()`); callers keep their tfjs-op path for
 *   every other backend (tensorflow, cpu). `PIXNERD_INPLACE_UPDATES=0` forces the op path.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadNativeBlas, type NativeBlasAddon } from './native-matmul';

/** The AdamW scalars of one step: hyper-parameters and the bias corrections 1 - beta^k. */
export interface AdamWScalars {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  bc1: number;
  bc2: number;
}

/** Which implementation of the in-place updates runs: the add-on, or the JS loop. */
export type InPlaceKind = 'native' | 'js';

interface UpdateAddon {
  adamwStep(p: Float32Array, pOut: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, bc1: number, bc2: number): void;
  emaStep(e: Float32Array, eOut: Float32Array, p: Float32Array, decay: number): void;
}

/** The add-on's update functions; null without the add-on, or with a build older than them. */
function updateAddon(): UpdateAddon | null {
  if (process.env.PIXNERD_NATIVE_BLAS === '0') return null;
  const a = loadNativeBlas() as (NativeBlasAddon & Partial<UpdateAddon>) | string;
  return typeof a !== 'string' && typeof a.adamwStep === 'function' && typeof a.emaStep === 'function' ? (a as UpdateAddon) : null;
}

/**
 * The in-place path that runs on the current backend, or null where the callers must use tfjs
 * ops (any backend but wasm, or `PIXNERD_INPLACE_UPDATES=0`). `kind` forces the JS loop.
 */
export function inPlaceUpdates(kind?: InPlaceKind): InPlaceKind | null {
  if (process.env.PIXNERD_INPLACE_UPDATES === '0' || tf.getBackend() !== 'wasm') return null;
  if (kind === 'js') return 'js';
  return updateAddon() ? 'native' : 'js';
}

const wasmBackend = () => tf.backend() as unknown as BackendWasm;

function checkFloat32(...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`in-place update: ${t.dtype} tensor [${t.shape}], float32 expected`);
}

/** A float32 tensor's buffer on the wasm heap (valid until the next allocation). */
function heapView(b: BackendWasm, t: tf.TensorInfo): Float32Array {
  checkFloat32(t);
  return b.typedArrayFromHeap(t) as Float32Array;
}

/** Gives `v` a buffer of its own (a copy) when its buffer is shared with other tensors. */
export function makeUnique(v: tf.Variable): void {
  const b = wasmBackend();
  if (b.refCount(v.dataId) <= 1) return;
  const out = b.makeOutput(v.shape, v.dtype);
  (b.typedArrayFromHeap(out) as Float32Array).set(heapView(b, v)); // views after the allocation
  const copy = tf.engine().makeTensorFromTensorInfo(out);
  v.assign(copy);
  copy.dispose();
}

function checkSameShape(what: string, a: tf.Tensor, b: tf.Tensor): void {
  if (a.size !== b.size || a.shape.some((d, i) => d !== b.shape[i]) || a.rank !== b.rank) {
    throw new Error(`${what}: shapes [${a.shape}] and [${b.shape}] differ`);
  }
}

/** JS fallback: the add-on's adamw_range, each operation rounded to float32. */
function adamwJs(p: Float32Array, pOut: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, h: AdamWScalars): void {
  const f = Math.fround;
  const lr = f(h.lr), b1 = f(h.beta1), ob1 = f(1 - h.beta1), b2 = f(h.beta2), ob2 = f(1 - h.beta2);
  const eps = f(h.eps), bc1 = f(h.bc1), bc2 = f(h.bc2);
  const decay = h.weightDecay === 0 ? 1 : f(1 - h.lr * h.weightDecay);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    const mi = f(f(m[i]! * b1) + f(gi * ob1));
    const vi = f(f(v[i]! * b2) + f(f(gi * gi) * ob2));
    m[i] = mi;
    v[i] = vi;
    const u = f(f(mi / bc1) / f(f(Math.sqrt(f(vi / bc2))) + eps));
    pOut[i] = f(f(p[i]! * decay) - f(u * lr));
  }
}

function emaJs(e: Float32Array, eOut: Float32Array, p: Float32Array, decay: number): void {
  if (decay === 0) return void eOut.set(p);
  const f = Math.fround;
  const d = f(decay), keep = f(1 - decay);
  for (let i = 0; i < e.length; i++) eOut[i] = f(f(e[i]! * d) + f(p[i]! * keep));
}

/** Points `v` at the heap buffer `out` (a fresh one the caller filled); the old buffer is released. */
function assignBuffer(v: tf.Variable, out: tf.TensorInfo): void {
  const t = tf.engine().makeTensorFromTensorInfo(out);
  v.assign(t);
  t.dispose();
}

/**
 * One AdamW update from the gradient g (the formula of kernel-lib/training/adamw.ts, in
 * float32): m and v in place, p into a fresh buffer. Wasm backend only (see `inPlaceUpdates`).
 */
export function adamwOnHeap(p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, h: AdamWScalars, kind: InPlaceKind = 'native'): void {
  checkSameShape('adamw: m', p, m);
  checkSameShape('adamw: v', p, v);
  checkSameShape('adamw: gradient', p, g);
  checkFloat32(p, m, v, g); // before allocating anything
  for (const x of [m, v]) makeUnique(x);
  const b = wasmBackend();
  const out = b.makeOutput(p.shape, 'float32');
  // views only now: makeOutput may have grown the heap and detached older ones
  const [pv, ov, mv, vv, gv] = [p, out, m, v, g].map((t) => heapView(b, t)) as Float32Array[];
  const addon = kind === 'native' ? updateAddon() : null;
  if (addon) addon.adamwStep(pv!, ov!, mv!, vv!, gv!, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.bc1, h.bc2);
  else adamwJs(pv!, ov!, mv!, vv!, gv!, h);
  assignBuffer(p, out);
}

/** e <- e * decay + p * (1 - decay) into a fresh buffer (decay 0 copies p). Wasm backend only. */
export function emaOnHeap(e: tf.Variable, p: tf.Tensor, decay: number, kind: InPlaceKind = 'native'): void {
  checkSameShape('ema', e, p);
  checkFloat32(e, p);
  const b = wasmBackend();
  const out = b.makeOutput(e.shape, 'float32');
  const [ev, ov, pv] = [e, out, p].map((t) => heapView(b, t)) as Float32Array[];
  const addon = kind === 'native' ? updateAddon() : null;
  if (addon) addon.emaStep(ev!, ov!, pv!, decay);
  else emaJs(ev!, ov!, pv!, decay);
  assignBuffer(e, out);
}
