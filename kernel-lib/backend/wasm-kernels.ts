/**
 * Kernels that the tfjs wasm backend lacks but our gradients need, registered by kernel-lib.
 *
 * - UnsortedSegmentSum: the gradient of `gather` (label-embedding lookup) sums the incoming
 *   gradient rows by index. tfjs-backend-wasm 4.22 has no kernel for it.
 * - PixnerdIm2col3x3: the 3x3 patches of the small CNN's convolutions (kernel-lib/classifier/
 *   im2col.ts; the REPA teacher and the metrics' feature extractor run it every call), heap to
 *   heap: the nativeblas add-on's copy loop where it is built, else the same loop in JS.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convOutSize, IM2COL_KERNEL, im2col3x3Into } from '../classifier/im2col';
import { loadNativeBlas } from './native-matmul';

type Im2colFn = (x: Float32Array, out: Float32Array, B: number, H: number, W: number, C: number, stride: number) => void;

/** The add-on's im2col3x3, or null (no add-on, PIXNERD_NATIVE_BLAS=0, or a build older than it). */
function nativeIm2col(): Im2colFn | null {
  if (process.env.PIXNERD_NATIVE_BLAS === '0') return null;
  const a = loadNativeBlas() as unknown as { im2col3x3?: Im2colFn } | string;
  return typeof a !== 'string' && typeof a.im2col3x3 === 'function' ? a.im2col3x3.bind(a) : null;
}

/** x [B, H, W, C] float32 -> [B*Ho*Wo, 9*C] (attrs: stride). */
const im2colKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const { stride } = attrs as unknown as { stride: number };
  if (x.dtype !== 'float32') throw new Error(`${IM2COL_KERNEL}: x is ${x.dtype}, float32 expected`);
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput([B * convOutSize(H, stride) * convOutSize(W, stride), 9 * C], 'float32');
  // views only after the last allocation (heap growth detaches older ones)
  const xv = wasm.typedArrayFromHeap(x) as Float32Array;
  const ov = wasm.typedArrayFromHeap(out) as Float32Array;
  if (ov.length > 0) (nativeIm2col() ?? im2col3x3Into)(xv, ov, B, H, W, C, stride);
  return out;
};

/**
 * out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s; ids outside [0, numSegments)
 * are dropped, as in TensorFlow.  x [N, ...inner], segmentIds [N] -> [numSegments, ...inner]
 */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const wasm = backend as BackendWasm;
  const idRank = segmentIds.shape.length;
  const innerShape = x.shape.slice(idRank);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const outer = segmentIds.shape.reduce((a, b) => a * b, 1);
  // readSync copies out of the heap; take the output view only after the last allocation.
  const xVals = wasm.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
  const out = wasm.makeOutput([numSegments, ...innerShape], x.dtype);
  const outVals = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
  outVals.fill(0);
  for (let i = 0; i < outer; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) outVals[dst + j] += xVals[src + j];
  }
  return out;
};

/** Registers the missing kernels on the wasm backend (idempotent). */
export function registerWasmKernels(): void {
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  }
  if (!tf.getKernel(IM2COL_KERNEL, 'wasm')) tf.registerKernel({ kernelName: IM2COL_KERNEL, backendName: 'wasm', kernelFunc: im2colKernel });
}
