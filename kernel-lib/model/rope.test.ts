import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { applyRope, linspace, ropeTables } from './rope';

const gridH = 3, gridW = 4, Dh = 8;
const tables = ropeTables(gridH, gridW, Dh);

/** q at every token = the same vector a; k at every token = b. */
function rotated(vec: number[]): number[][] {
  const L = gridH * gridW;
  const x = tf.tensor4d(Array.from({ length: L }, () => vec).flat(), [1, L, 1, Dh]);
  return (applyRope(x, tables).reshape([L, Dh]).arraySync() as number[][]);
}
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

test('q.k after RoPE depends only on the position difference', () => {
  const q = rotated([0.3, -1.2, 0.5, 0.9, -0.4, 1.1, 0.7, -0.2]);
  const k = rotated([1.0, 0.4, -0.6, 0.2, 0.8, -0.9, 0.1, 0.5]);
  const tok = (py: number, px: number) => py * gridW + px;
  // same (dy, dx) = (1, 2) at two places
  const a = dot(q[tok(0, 0)]!, k[tok(1, 2)]!);
  const b = dot(q[tok(1, 1)]!, k[tok(2, 3)]!);
  assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);
  // a different offset gives a different product
  const c = dot(q[tok(0, 0)]!, k[tok(2, 1)]!);
  assert.ok(Math.abs(a - c) > 1e-3);
});

test('RoPE preserves norms and is the identity at position (0, 0)', () => {
  const v = [0.3, -1.2, 0.5, 0.9, -0.4, 1.1, 0.7, -0.2];
  const r = rotated(v);
  for (const row of r) assert.ok(Math.abs(Math.hypot(...row) - Math.hypot(...v)) < 1e-5);
  r[0]!.forEach((x, i) => assert.ok(Math.abs(x - v[i]!) < 1e-6));
});

test('pair 2m turns by x * w_m, pair 2m+1 by y * w_m; positions span 0..16', () => {
  const xs = linspace(0, 16, gridW), ys = linspace(0, 16, gridH);
  assert.is(xs[gridW - 1], 16);
  const l = 2 * gridW + 3; // py = 2, px = 3
  const w1 = Math.pow(10000, -4 / Dh);
  assert.ok(Math.abs(tables.cos[l * Dh + 0]! - Math.cos(xs[3]!)) < 1e-6); // pair 0: x, m = 0
  assert.ok(Math.abs(tables.sin[l * Dh + 2]! - Math.sin(ys[2]!)) < 1e-6); // pair 1: y, m = 0
  assert.ok(Math.abs(tables.cos[l * Dh + 4]! - Math.cos(xs[3]! * w1)) < 1e-6); // pair 2: x, m = 1
  assert.ok(Math.abs(tables.sin[l * Dh + 7]! - Math.sin(ys[2]! * w1)) < 1e-6); // pair 3: y, m = 1
});

test('gradient flows through RoPE (rotation is orthogonal: |grad| of sum of squares = 2|x|)', () => {
  const x = tf.randomNormal([1, 12, 1, Dh], 0, 1, 'float32', 3) as tf.Tensor4D;
  const g = tf.grad((z: tf.Tensor) => tf.sum(tf.square(applyRope(z as tf.Tensor4D, tables))))(x);
  assert.ok(tf.sub(g, tf.mul(x, 2)).abs().max().dataSync()[0]! < 1e-4);
});

test.run();
