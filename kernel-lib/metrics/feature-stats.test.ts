import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { featureMatrix, fromRows } from './feature-matrix';
import { checkStats, featureCovariance, featureMean, featureStats } from './feature-stats';
import { ShapeError } from '../util/errors';
import { maxAbsDiff } from '../../test/setup';

test('mean and unbiased covariance of a hand-built [3, 2] matrix', () => {
  // centred rows: [-2, -2], [0, 2], [2, 0]; Xc^T Xc / (N - 1) = [[8, 4], [4, 8]] / 2
  const x = fromRows([[1, 2], [3, 6], [5, 4]]);
  const s = featureStats(x);
  assert.equal(s.mean.length, 2);
  assert.equal(s.cov.length, 4);
  assert.equal(Array.from(s.mean), [3, 4]);
  assert.equal(Array.from(s.cov), [4, 2, 2, 4]);
  assert.is(s.count, 3);
});

test('covariance matches the two-pass definition on random data, for any N mod 4, and is symmetric', () => {
  for (const n of [5, 6, 7, 8]) {
    const f = 7;
    const data = Float64Array.from({ length: n * f }, (_, i) => Math.sin(1.7 * i + 0.3) * (1 + (i % 3)));
    const x = featureMatrix(data, n, f);
    const mean = featureMean(x);
    const cov = featureCovariance(x);
    const want = new Float64Array(f * f);
    for (let a = 0; a < f; a++)
      for (let b = 0; b < f; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (data[i * f + a]! - mean[a]!) * (data[i * f + b]! - mean[b]!);
        want[a * f + b] = s / (n - 1);
      }
    assert.ok(maxAbsDiff(cov, want) < 1e-13, `N = ${n}`);
  }
});

test('Float32 features with a large common offset: centring in Float64 keeps the covariance exact', () => {
  // values 1e4 + {0, 1, 2, 3} are exact in Float32; variance of {0,1,2,3} (N - 1) = 5/3
  const x = featureMatrix(Float32Array.from([10000, 10001, 10002, 10003]), 4, 1);
  const s = featureStats(x);
  assert.is(s.mean[0], 10001.5);
  assert.ok(Math.abs(s.cov[0]! - 5 / 3) < 1e-12);
});

test('bad input: N < 2, wrong data length, non-finite values, ragged rows, inconsistent stats', () => {
  assert.throws(() => featureStats(fromRows([[1, 2, 3]])), (e: Error) => e instanceof ShapeError && /N = 1 samples, need N >= 2/.test(e.message));
  assert.throws(() => featureMatrix(new Float64Array(5), 2, 3), (e: Error) => e instanceof ShapeError && /5 values, shape \[2, 3\] needs 6/.test(e.message));
  assert.throws(() => fromRows([[1, NaN], [2, 3]]), (e: Error) => /NaN at sample 0, feature 1 is not finite/.test(e.message));
  assert.throws(() => fromRows([[1, 2], [3]]), (e: Error) => /row 1 has 1 features, row 0 has 2/.test(e.message));
  const s = featureStats(fromRows([[1, 2], [3, 5]]));
  assert.throws(() => checkStats({ ...s, cov: new Float64Array(3) }, 'stats'), (e: Error) => /covariance has 3 values, mean has F = 2/.test(e.message));
});

test.run();
