import '../../test/setup';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomNormal } from './random-normal';

/** Indices where two float32 arrays differ bit for bit (Object.is: -0 and NaN count). */
function differing(a: Float32Array, b: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

test('randomNormal equals tf.randomNormal bit for bit: shapes (odd sizes too), seeds, mean and stdDev', () => {
  const cases: [number[], number, number, number][] = [
    [[16, 64, 64, 3], 12345, 0, 1], // a bench-S step's noise
    [[7], 3, 0.5, 2], // odd: the last pair's second value is dropped
    [[1], 99, 0, 1],
    [[3, 5], 4294967295, -1, 0.1],
    [[2, 0, 4], 8, 0, 1], // empty
  ];
  for (const [shape, seed, mean, std] of cases) {
    const want = tf.tidy(() => tf.randomNormal(shape, mean, std, 'float32', seed).dataSync() as Float32Array);
    const t = randomNormal(shape, seed, mean, std);
    assert.equal(t.shape, shape);
    assert.is(t.dtype, 'float32');
    const got = t.dataSync() as Float32Array;
    t.dispose();
    assert.is(got.length, want.length);
    const bad = differing(got, want);
    assert.is(bad.length, 0, `[${shape}] seed ${seed}: ${bad.length} values differ, first at ${bad[0]}: ${got[bad[0]!]} vs ${want[bad[0]!]}`);
  }
  // a different seed gives different values (the seed is used)
  const a = randomNormal([64], 1).dataSync(), b = randomNormal([64], 2).dataSync();
  assert.ok(differing(a as Float32Array, b as Float32Array).length > 60);
});

test('randomNormal: samples look standard normal (mean, variance, tails over 200k values)', () => {
  const v = randomNormal([200_000], 77).dataSync();
  let s = 0, s2 = 0, tail = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
    if (Math.abs(x) > 3) tail++;
  }
  const mean = s / v.length, variance = s2 / v.length - mean * mean;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  assert.ok(tail > 400 && tail < 700, `|x| > 3: ${tail} of 200000 (expected ~540)`); // 2 (1 - Phi(3)) = 0.0027
});

test.run();
