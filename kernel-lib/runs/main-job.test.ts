import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EVAL_DEFAULTS, validateEvalConfig } from './evaluate-run';
import { describeSampling, MAIN_JOB_SAMPLING } from './main-job';

test("the main job's samples and `evaluate`'s defaults use one sampling recipe", () => {
  const { samples: _n, ...evalSampling } = EVAL_DEFAULTS;
  const { finalAverage, ...grid } = MAIN_JOB_SAMPLING; // experiment files: without the final average (their hashes)
  assert.equal(evalSampling, grid);
  validateEvalConfig({ ...EVAL_DEFAULTS });
  validateEvalConfig({ ...EVAL_DEFAULTS, finalAverage });
  assert.is(describeSampling(MAIN_JOB_SAMPLING), 'Heun 10 steps, CFG 2 on (0.1, 1), final average of 4 at t = 0.8');
  assert.is(describeSampling({ sampler: 'euler', steps: 20 }), 'Euler 20 steps, CFG 1');
});

test.run();
