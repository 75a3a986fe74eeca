/**
 * Kernels that the tfjs wasm backend lacks but our gradients need, registered by kernel-lib.
 *
 * - UnsortedSegmentSum: the gradient of `gather` (label-embedding lookup) sums the incoming
 *   gradient rows by index. tfjs-backend-wasm 4.22 has no kernel for it.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

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
}
