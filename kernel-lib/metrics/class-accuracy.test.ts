import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classAccuracy } from './class-accuracy';
import { ConfigError, ShapeError } from '../util/errors';

test('overall and per-class accuracy by hand', () => {
  //           labels: 0  0  1  1  1  2
  const r = classAccuracy([0, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 2]);
  assert.is(r.perClass.length, 3);
  assert.is(r.correct, 3);
  assert.is(r.total, 6);
  assert.is(r.accuracy, 0.5);
  assert.equal(r.perClass.map((c) => [c.correct, c.total, c.accuracy]), [[1, 2, 0.5], [2, 3, 2 / 3], [0, 1, 0]]);
  assert.is(r.meanPerClass, (0.5 + 2 / 3 + 0) / 3);
});

test('numClasses: classes without samples have accuracy NaN and are left out of the per-class mean', () => {
  const r = classAccuracy(Int32Array.from([3, 3, 1]), Int32Array.from([3, 3, 1]), 5);
  assert.is(r.perClass.length, 5);
  assert.is(r.accuracy, 1);
  assert.ok(Number.isNaN(r.perClass[0]!.accuracy) && r.perClass[0]!.total === 0);
  assert.is(r.meanPerClass, 1);
});

test('bad input: length mismatch, no samples, ids out of range or not integers, bad numClasses', () => {
  assert.throws(() => classAccuracy([0, 1], [0, 1, 2]), (e: Error) => e instanceof ShapeError && /2 predictions for 3 labels/.test(e.message));
  assert.throws(() => classAccuracy([], []), (e: Error) => /no samples/.test(e.message));
  assert.throws(() => classAccuracy([0, 5], [0, 1], 3), (e: Error) => /predicted\[1\] = 5: a class id must be an integer in \[0, 3\)/.test(e.message));
  assert.throws(() => classAccuracy([0, 1], [0, 1.5]), (e: Error) => /labels\[1\] = 1.5/.test(e.message));
  assert.throws(() => classAccuracy([0], [0], 0), (e: Error) => e instanceof ConfigError && /numClasses = 0/.test(e.message));
});

test.run();
