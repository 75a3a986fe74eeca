import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EVAL_DEFAULTS, validateEvalConfig } from './evaluate-run';
import { describeSampling, MAIN_JOB_SAMPLING } from './main-job';

test("the main job's samples and `evaluate`'s defaults use one sampling recipe", () => {
  const { samples: _n, ...evalSampling } = EVAL_DEFAULTS;
  // experiment files keep the earlier recipe (interval (0.1, 1), no final average): their config hashes
  const { finalAverage, interval, ...grid } = MAIN_JOB_SAMPLING;
  const { interval: evalInterval, ...evalGrid } = evalSampling;
  assert.equal(evalGrid, grid);
  assert.equal([interval, evalInterval], [[0.1, 0.75], [0.1, 1]]);
  validateEvalConfig({ ...EVAL_DEFAULTS });
  validateEvalConfig({ ...EVAL_DEFAULTS, interval, finalAverage });
  assert.is(describeSampling(MAIN_JOB_SAMPLING), 'Heun 10 steps, CFG 2 on (0.1, 0.75), final average of 4 at t = 0.75');
  assert.is(describeSampling({ sampler: 'euler', steps: 20 }), 'Euler 20 steps, CFG 1');
});

test.run();
