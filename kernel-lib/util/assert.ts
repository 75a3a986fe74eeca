import type * as tf from '@tensorflow/tfjs';
import { ShapeError } from './errors';

/**
 * Throws a ShapeError unless `x.shape` matches `expected`; `null` entries match any size.
 * The message names the tensor, the expected pattern and the actual shape.
 *
 *   assertShape(x, [B, null, D], 'tokens')
 */
export function assertShape(x: tf.Tensor, expected: ReadonlyArray<number | null>, what: string): void {
  const ok =
    x.shape.length === expected.length && expected.every((e, i) => e === null || e === x.shape[i]);
  if (!ok) {
    const pattern = `[${expected.map((e) => (e === null ? '*' : e)).join(', ')}]`;
    throw new ShapeError(`${what}: expected shape ${pattern}, got [${x.shape.join(', ')}]`);
  }
}

/** Throws `new ShapeError(message())` when `cond` is false; the message is built lazily. */
export function check(cond: boolean, message: () => string): asserts cond {
  if (!cond) throw new ShapeError(message());
}
