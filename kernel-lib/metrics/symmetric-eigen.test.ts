import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { symmetricEigen } from './symmetric-eigen';
import { ShapeError } from '../util/errors';
import { maxAbsDiff } from '../../test/setup';
import { standardNormals } from './synthetic-features';

/** A random symmetric [n, n] matrix (entries ~ N(0, 1)). */
function randomSymmetric(n: number, seed: number): Float64Array {
  const z = standardNormals(n * n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = z[Math.min(i, j) * n + Math.max(i, j)]!;
  return a;
}

test('[[2, 1], [1, 2]] has eigenvalues 1, 3 with eigenvectors (1, -1)/sqrt2, (1, 1)/sqrt2', () => {
  const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2, { vectors: true });
  assert.equal(values.length, 2);
  assert.equal(vectors!.length, 4);
  assert.ok(maxAbsDiff(values, [1, 3]) < 1e-15);
  const v = vectors!;
  assert.ok(Math.abs(Math.abs(v[0]! * v[1]!) - 0.5) < 1e-15 && v[0]! * v[1]! < 0);
  assert.ok(Math.abs(v[2]! * v[3]! - 0.5) < 1e-15);
});

test('random symmetric [40, 40]: A v = lambda v, V orthonormal, values ascending and equal with or without vectors', () => {
  const n = 40;
  const a = randomSymmetric(n, 7);
  const { values, vectors } = symmetricEigen(a, n, { vectors: true });
  const v = vectors!;
  for (let i = 1; i < n; i++) assert.ok(values[i]! >= values[i - 1]!);
  let resid = 0, ortho = 0;
  for (let e = 0; e < n; e++) {
    for (let r = 0; r < n; r++) {
      let av = 0;
      for (let c = 0; c < n; c++) av += a[r * n + c]! * v[e * n + c]!;
      resid = Math.max(resid, Math.abs(av - values[e]! * v[e * n + r]!));
    }
    for (let e2 = 0; e2 < n; e2++) {
      let d = 0;
      for (let c = 0; c < n; c++) d += v[e * n + c]! * v[e2 * n + c]!;
      ortho = Math.max(ortho, Math.abs(d - (e === e2 ? 1 : 0)));
    }
  }
  assert.ok(resid < 1e-12, `residual ${resid}`);
  assert.ok(ortho < 1e-13, `orthogonality ${ortho}`);
  assert.ok(maxAbsDiff(symmetricEigen(a, n).values, values) < 1e-12);
  let trace = 0, sum = 0;
  for (let i = 0; i < n; i++) (trace += a[i * n + i]!), (sum += values[i]!);
  assert.ok(Math.abs(trace - sum) < 1e-12);
});

test('degenerate cases: 1x1, zero matrix, identity, diagonal with repeats', () => {
  assert.equal(Array.from(symmetricEigen(Float64Array.from([-3]), 1, { vectors: true }).values), [-3]);
  assert.equal(Array.from(symmetricEigen(new Float64Array(9), 3).values), [0, 0, 0]);
  const eye = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const r = symmetricEigen(eye, 3, { vectors: true });
  assert.equal(Array.from(r.values), [1, 1, 1]);
  assert.ok(maxAbsDiff(r.vectors!.map(Math.abs), eye) < 1e-15);
  assert.equal(Array.from(symmetricEigen(Float64Array.from([5, 0, 0, 0, -1, 0, 0, 0, 5]), 3).values), [-1, 5, 5]);
});

test('throws on a matrix that is not [n, n]', () => {
  assert.throws(() => symmetricEigen(new Float64Array(6), 3), (e: Error) => e instanceof ShapeError && /6 values, \[3, 3\] needs 9/.test(e.message));
  assert.throws(() => symmetricEigen(new Float64Array(0), 0), (e: Error) => /n = 0 must be a positive integer/.test(e.message));
});

test.run();
