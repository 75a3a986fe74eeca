import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kid } from './kid';
import { fromRows, type FeatureMatrix } from './feature-matrix';
import { gaussianFeatures } from './synthetic-features';
import { ConfigError, ShapeError } from '../util/errors';

/** Unbiased MMD^2 of the whole sets (N1 = N2 = m) by the definition, term by term. */
function bruteForceMmd(x: FeatureMatrix, y: FeatureMatrix): number {
  const [m, f] = x.shape;
  const k = (a: FeatureMatrix, i: number, b: FeatureMatrix, j: number) => {
    let d = 0;
    for (let c = 0; c < f; c++) d += a.data[i * f + c]! * b.data[j * f + c]!;
    return (d / f + 1) ** 3;
  };
  let xx = 0, yy = 0, xy = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      if (i !== j) (xx += k(x, i, x, j)), (yy += k(y, i, y, j));
      xy += k(x, i, y, j);
    }
  return xx / (m * (m - 1)) + yy / (m * (m - 1)) - (2 * xy) / (m * m);
}

test('one subset of the whole sets equals the unbiased MMD^2 by definition (subsets are permutations)', () => {
  const x = fromRows([[0, 1], [1, 0], [1, 1]]);
  const y = fromRows([[2, 0], [0, 0], [1, -1]]);
  // hand check of one kernel value: k([0,1],[1,1]) = (1/2 + 1)^3 = 3.375
  const r = kid(x, y, { subsets: 1, subsetSize: 3 });
  assert.is(r.perSubset.length, 1);
  assert.ok(Math.abs(r.mean - bruteForceMmd(x, y)) < 1e-13, `${r.mean} vs ${bruteForceMmd(x, y)}`);
  assert.is(r.std, 0);
  const a = gaussianFeatures(20, new Array(5).fill(0), new Array(5).fill(1), 1);
  const b = gaussianFeatures(20, new Array(5).fill(0.4), new Array(5).fill(1), 2);
  for (const seed of [0, 1]) assert.ok(Math.abs(kid(a, b, { subsets: 2, subsetSize: 20, seed }).mean - bruteForceMmd(a, b)) < 1e-12);
});

const F = 16;
const zeros = new Array(F).fill(0), ones = new Array(F).fill(1);

test('same distribution: |mean| < std (unbiased); shifted by 0.5 per feature: mean > 0 and > 3 std', () => {
  // Over 10 seeds, |mean| / std <= 0.49 for the same distribution and mean / std >= 6.5 for the shift.
  const x = gaussianFeatures(400, zeros, ones, 10);
  const same = kid(x, gaussianFeatures(400, zeros, ones, 11), { subsets: 50, subsetSize: 100, seed: 3 });
  assert.is(same.perSubset.length, 50);
  assert.ok(Math.abs(same.mean) < same.std, `mean ${same.mean}, std ${same.std}`);
  const shifted = kid(x, gaussianFeatures(400, zeros.map(() => 0.5), ones, 11), { subsets: 50, subsetSize: 100, seed: 3 });
  assert.ok(shifted.mean > 3 * shifted.std, `mean ${shifted.mean}, std ${shifted.std}`);
});

test('seeded: the same seed gives the same estimates, another seed other subsets', () => {
  const x = gaussianFeatures(60, zeros, ones, 20), y = gaussianFeatures(60, zeros, ones, 21);
  const opts = { subsets: 5, subsetSize: 30 };
  assert.equal(kid(x, y, { ...opts, seed: 7 }).perSubset, kid(x, y, { ...opts, seed: 7 }).perSubset);
  assert.not.equal(kid(x, y, { ...opts, seed: 7 }).perSubset, kid(x, y, { ...opts, seed: 8 }).perSubset);
});

test("strategies 'full' and 'per-subset' draw the same subsets and agree to rounding; 'auto' picks the cheaper", () => {
  const x = gaussianFeatures(50, zeros, ones, 30), y = gaussianFeatures(40, zeros.map(() => 0.2), ones, 31);
  const opts = { subsets: 8, subsetSize: 25, seed: 4 };
  const full = kid(x, y, { ...opts, strategy: 'full' });
  const per = kid(x, y, { ...opts, strategy: 'per-subset' });
  assert.is(full.strategy, 'full');
  assert.is(per.strategy, 'per-subset');
  for (let s = 0; s < 8; s++) assert.ok(Math.abs(full.perSubset[s]! - per.perSubset[s]!) < 1e-12, `subset ${s}`);
  assert.is(kid(x, y, opts).strategy, 'full'); // (50^2 + 40^2) / 2 + 50 * 40 dot products < 8 * 2 * 25^2
  assert.is(kid(x, y, { subsets: 1, subsetSize: 25 }).strategy, 'per-subset');
});

test('bad input: mismatched feature dims, N < 2, subset larger than a set, zero subsets', () => {
  const x = gaussianFeatures(10, zeros, ones, 1);
  assert.throws(() => kid(x, fromRows([[1, 2], [3, 4]])), (e: Error) => e instanceof ShapeError && /real features have F = 16, generated features have F = 2/.test(e.message));
  assert.throws(() => kid(x, fromRows([zeros])), (e: Error) => /kid: generated features: N = 1 samples, need N >= 2/.test(e.message));
  assert.throws(() => kid(x, x), (e: Error) => e instanceof ConfigError && /kid.subsetSize = 1000: must be an integer in \[2, min\(N_real, N_generated\) = 10\]/.test(e.message));
  assert.throws(() => kid(x, x, { subsets: 0, subsetSize: 5 }), (e: Error) => /kid.subsets = 0/.test(e.message));
});

test.run();
