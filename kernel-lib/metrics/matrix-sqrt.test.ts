import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FID_EPS, sqrtmPsd, traceSqrtProduct } from './matrix-sqrt';
import { symmetricEigen } from './symmetric-eigen';
import { standardNormals } from './synthetic-features';
import { ShapeError } from '../util/errors';
import { maxAbs, maxAbsDiff } from '../../test/setup';

/** [n, n] matrix product. */
function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * n + k]! * b[k * n + j]!;
  return c;
}

/** A random orthogonal [n, n] matrix: a product of n Householder reflections. */
function randomOrthogonal(n: number, seed: number): Float64Array {
  let q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const z = standardNormals(n * n, seed);
  for (let r = 0; r < n; r++) {
    const v = z.subarray(r * n, r * n + n);
    const vv = v.reduce((s, x) => s + x * x, 0);
    const h = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] = (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv;
    q = matMul(q, h, n);
  }
  return q;
}

/** Q diag(lambda) Q^T. */
function withSpectrum(q: Float64Array, lambda: ArrayLike<number>, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j]! += q[i * n + k]! * lambda[k]! * q[j * n + k]!;
  return a;
}

test('sqrtmPsd of a known SPD matrix: diag(4, 9) -> diag(2, 3); [[2,1],[1,2]] -> closed form', () => {
  assert.ok(maxAbsDiff(sqrtmPsd(Float64Array.from([4, 0, 0, 9]), 2), [2, 0, 0, 3]) < 1e-15);
  const p = (1 + Math.sqrt(3)) / 2, m = (Math.sqrt(3) - 1) / 2; // V diag(1, sqrt3) V^T
  assert.ok(maxAbsDiff(sqrtmPsd(Float64Array.from([2, 1, 1, 2]), 2), [p, m, m, p]) < 1e-15);
});

test('sqrtmPsd of a random SPD [24, 24] (A A^T + I) squares back to it (1e-8 relative) and is symmetric', () => {
  const n = 24;
  const a = standardNormals(n * n, 3);
  const at = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) at[j * n + i] = a[i * n + j]!;
  const s = matMul(a, at, n);
  for (let i = 0; i < n; i++) s[i * n + i]! += 1;
  const r = sqrtmPsd(s, n);
  assert.is(r.length, n * n);
  const back = matMul(r, r, n);
  assert.ok(maxAbsDiff(back, s) / maxAbs(s) < 1e-8, `${maxAbsDiff(back, s)}`);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.is(r[i * n + j], r[j * n + i]);
});

test('sqrtmPsd of a singular PSD matrix (rank 2 of 6) squares back, with no NaN', () => {
  const n = 6;
  const s = withSpectrum(randomOrthogonal(n, 11), [0, 0, 0, 0, 2, 5], n);
  const r = sqrtmPsd(s, n);
  assert.ok(r.every(Number.isFinite));
  assert.ok(maxAbsDiff(matMul(r, r, n), s) < 1e-8 * maxAbs(s));
});

test('eigenvalues of a graded matrix (spectrum 1e-8 .. 1e4) are found to 1e-12 of the norm', () => {
  const n = 16;
  const lambda = Float64Array.from({ length: n }, (_, i) => 10 ** (-8 + (12 * i) / (n - 1)));
  const values = symmetricEigen(withSpectrum(randomOrthogonal(n, 5), lambda, n), n).values;
  assert.ok(maxAbsDiff(values, lambda) < 1e-12 * 1e4, `${maxAbsDiff(values, lambda)}`);
});

test('tr sqrtm(S1 S2) of commuting covariances (same eigenvectors) = sum sqrt(a_i b_i)', () => {
  const n = 12;
  const q = randomOrthogonal(n, 2);
  const a = Float64Array.from({ length: n }, (_, i) => 0.5 + i);
  const b = Float64Array.from({ length: n }, (_, i) => 3 / (1 + i));
  const want = a.reduce((s, ai, i) => s + Math.sqrt(ai * b[i]!), 0);
  const r = traceSqrtProduct(withSpectrum(q, a, n), withSpectrum(q, b, n), n);
  assert.ok(Math.abs(r.trace - want) < 1e-10, `${r.trace} vs ${want}`);
  assert.is(r.nearSingular, false);
  assert.is(r.offset, 0);
});

test('tr sqrtm(S1 S2) of non-commuting [2, 2] SPD matrices = sqrt(tr M + 2 sqrt(det M)), M = S1 S2', () => {
  const s1 = Float64Array.from([2, 0.7, 0.7, 1]);
  const s2 = Float64Array.from([0.5, -0.3, -0.3, 3]);
  const m = [s1[0]! * s2[0]! + s1[1]! * s2[2]!, 0, 0, s1[2]! * s2[1]! + s1[3]! * s2[3]!];
  const det = (s1[0]! * s1[3]! - s1[1]! ** 2) * (s2[0]! * s2[3]! - s2[1]! ** 2);
  const want = Math.sqrt(m[0]! + m[3]! + 2 * Math.sqrt(det));
  assert.ok(Math.abs(traceSqrtProduct(s1, s2, 2).trace - want) < 1e-14);
  assert.ok(Math.abs(traceSqrtProduct(s2, s1, 2).trace - want) < 1e-14); // symmetric in its arguments
});

test('singular product: reported, pytorch-fid eps offset applied inside the root (or not, with eps = 0)', () => {
  const n = 5;
  const q = randomOrthogonal(n, 9);
  const a = [0, 0, 1, 2, 3], b = [1, 1, 1, 1, 1];
  const s1 = withSpectrum(q, a, n), s2 = withSpectrum(q, b, n);
  const plain = traceSqrtProduct(s1, s2, n, { eps: 0 });
  assert.is(plain.nearSingular, true);
  assert.is(plain.offset, 0);
  assert.ok(Math.abs(plain.trace - (1 + Math.SQRT2 + Math.sqrt(3))) < 1e-7); // sqrt of rounding-size eigenvalues ~1e-8
  const fixed = traceSqrtProduct(s1, s2, n);
  assert.is(fixed.offset, FID_EPS);
  const want = a.reduce((s, ai, i) => s + Math.sqrt((ai + FID_EPS) * (b[i]! + FID_EPS)), 0);
  assert.ok(Math.abs(fixed.trace - want) < 1e-10, `${fixed.trace} vs ${want}`);
});

test('throws on mismatched sizes and a bad eps', () => {
  assert.throws(() => traceSqrtProduct(new Float64Array(4), new Float64Array(9), 2), (e: Error) => e instanceof ShapeError && /S2: matrix has 9 values, \[2, 2\] needs 4/.test(e.message));
  assert.throws(() => traceSqrtProduct(new Float64Array(4), new Float64Array(4), 2, { eps: -1 }), (e: Error) => /eps = -1/.test(e.message));
  assert.throws(() => sqrtmPsd(new Float64Array(5), 2), (e: Error) => /5 values/.test(e.message));
});

test.run();
