import * as tf from '@tensorflow/tfjs';

/**
 * tf.tidy with a typed result: runs `fn` in a scope, frees every intermediate tensor and keeps
 * the tensors inside the returned value (a tensor, or an object/array of tensors).
 */
export function scoped<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

/** The size of axis `axis` (negative counts from the end) of a tensor of any rank. */
export function dim(x: tf.Tensor, axis: number): number {
  const a = axis < 0 ? x.shape.length + axis : axis;
  const n = x.shape[a];
  if (n === undefined) throw new Error(`axis ${axis} out of range for shape [${x.shape}]`);
  return n;
}
