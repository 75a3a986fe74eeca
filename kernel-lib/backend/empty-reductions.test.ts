/**
 * Reductions of empty tensors on wasm: the stock Sum and Mean kernels return uninitialised heap
 * memory there; the project's overrides return 0 (sum) and NaN (mean: 0 / 0), as tfjs-cpu and numpy.
 */
import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { wasmKernelOverridesActive } from './native-kernels';

test('the wasm kernel overrides are active in this test run', () => {
  assert.is(tf.getBackend(), 'wasm');
  assert.ok(wasmKernelOverridesActive(), 'PIXNERD_WASM_KERNELS is not 0, so the overrides must be registered');
});

test('mean of an empty tensor is NaN, over all axes and over an empty axis', () => {
  // dirty the heap first, so that an uninitialised output would show non-NaN garbage
  tf.tidy(() => tf.fill([4096], 123.5).add(1).dataSync());
  const all = tf.mean(tf.zeros([0]));
  assert.equal(all.shape, []);
  assert.ok(Number.isNaN(all.dataSync()[0]!), `mean([]) = ${all.dataSync()[0]}`);
  const overRows = tf.mean(tf.zeros([0, 3]), 0);
  assert.equal(overRows.shape, [3]);
  assert.ok(Array.from(overRows.dataSync()).every(Number.isNaN), `mean over an empty axis = ${overRows.dataSync()}`);
  const keep = tf.mean(tf.zeros([2, 0]), 1, true);
  assert.equal(keep.shape, [2, 1]);
  assert.ok(Array.from(keep.dataSync()).every(Number.isNaN));
  tf.dispose([all, overRows, keep]);
});

test('mean of a non-empty tensor is unchanged; sum of an empty tensor is 0', () => {
  const m = tf.mean(tf.tensor2d([[1, 2], [3, 5]]), 0);
  assert.equal(Array.from(m.dataSync()), [2, 3.5]);
  const s = tf.sum(tf.zeros([0, 3]), 0);
  assert.equal(Array.from(s.dataSync()), [0, 0, 0]);
  tf.dispose([m, s]);
});

test.run();
