import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kthNeighbourSqDistances, precisionRecall } from './precision-recall';
import { featureMatrix, fromRows } from './feature-matrix';
import { gaussianFeatures } from './synthetic-features';
import { ConfigError, ShapeError } from '../util/errors';
import { maxAbsDiff } from '../../test/setup';

test('1-D hand example: radii, precision 1/2, recall 1', () => {
  const real = fromRows([[0], [1], [2], [3]]); // k = 1: every radius is 1
  const gen = fromRows([[0.5], [10]]); // k = 1: both radii 9.5
  assert.equal(Array.from(kthNeighbourSqDistances(real, 1)), [1, 1, 1, 1]);
  assert.equal(Array.from(kthNeighbourSqDistances(real, 3)), [9, 4, 4, 9]);
  const r = precisionRecall(real, gen, { k: 1 });
  assert.is(r.precision, 0.5); // 0.5 is inside, 10 is not
  assert.is(r.recall, 1); // all of 0..3 lie within 9.5 of 0.5
  assert.is(r.k, 1);
});

test('k-th neighbour distances match a brute-force sort', () => {
  const n = 50, f = 6, k = 3;
  const x = gaussianFeatures(n, new Array(f).fill(0), new Array(f).fill(1), 4);
  const got = kthNeighbourSqDistances(x, k);
  const want = Array.from({ length: n }, (_, i) => {
    const d: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < f; c++) s += (x.data[i * f + c]! - x.data[j * f + c]!) ** 2;
      d.push(s);
    }
    return d.sort((a, b) => a - b)[k - 1]!;
  });
  assert.ok(maxAbsDiff(got, want) < 1e-12);
});

const F = 8;
const zeros = new Array(F).fill(0), ones = new Array(F).fill(1);

test('identical sets: precision = recall = 1; both drop as the generated set shifts away', () => {
  const real = gaussianFeatures(300, zeros, ones, 1);
  const same = precisionRecall(real, real);
  assert.is(same.precision, 1);
  assert.is(same.recall, 1);
  // shift per feature -> (precision, recall): 0.5 -> (0.997, 0.997), 1 -> (0.46, 0.43), 2 -> (0.04, 0.003), 4 -> (0, 0)
  let last = { precision: 1, recall: 1 };
  for (const shift of [0.5, 1, 2]) {
    const gen = featureMatrix(real.data.map((v) => v + shift), 300, F);
    const r = precisionRecall(real, gen);
    assert.ok(r.precision < last.precision && r.recall < last.recall, `shift ${shift}: ${JSON.stringify(r)}`);
    last = r;
  }
  const far = precisionRecall(real, featureMatrix(real.data.map((v) => v + 4), 300, F));
  assert.is(far.precision, 0);
  assert.is(far.recall, 0);
});

test('mode collapse: generated samples bunched near one real mode keep precision, lose recall', () => {
  const real = gaussianFeatures(300, zeros, ones, 2);
  const gen = gaussianFeatures(300, zeros, ones.map(() => 0.1), 3);
  const r = precisionRecall(real, gen);
  assert.ok(r.precision > 0.9, `${r.precision}`);
  assert.ok(r.recall < 0.2, `${r.recall}`);
});

test('bad input: mismatched feature dims, N < 2, k too large', () => {
  const x = gaussianFeatures(5, zeros, ones, 1);
  assert.throws(() => precisionRecall(x, fromRows([[1], [2]])), (e: Error) => e instanceof ShapeError && /real features have F = 8, generated features have F = 1/.test(e.message));
  assert.throws(() => precisionRecall(fromRows([zeros]), x), (e: Error) => /precisionRecall: real features: N = 1 samples, need N >= 2/.test(e.message));
  assert.throws(() => precisionRecall(x, x, { k: 5 }), (e: Error) => e instanceof ConfigError && /precisionRecall.k = 5: must be an integer in \[1, min\(N_real, N_generated\) - 1 = 4\]/.test(e.message));
});

test.run();
