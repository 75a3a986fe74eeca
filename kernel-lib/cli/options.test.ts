import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from 'commander';
import { finalAverage } from './options';

test('--final-average: t,k or none; bad values name the rule', () => {
  assert.equal(finalAverage('0.75,4'), { t: 0.75, draws: 4 });
  assert.is(finalAverage(' none '), null);
  for (const [s, rule] of [['0.8', /t,k/], ['1,4', /finalAverage\.t must be in \(0, 1\), got 1/], ['0.5,0', /finalAverage\.draws must be an integer >= 1, got 0/], ['0.5,2.5', /draws/], ['x,4', /not a number/]] as const) {
    assert.throws(() => finalAverage(s), (e: Error) => e instanceof InvalidArgumentError && rule.test(e.message), s);
  }
});

test.run();
