import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EVAL_DEFAULTS, validateEvalConfig } from './evaluate-run';
import { describeSampling, MAIN_JOB_SAMPLING } from './main-job';

test("the main job's samples and `evaluate`'s defaults use one sampling recipe", () => {
  const { samples: _n, ...evalSampling } = EVAL_DEFAULTS;
  assert.equal(evalSampling, MAIN_JOB_SAMPLING);
  validateEvalConfig({ ...EVAL_DEFAULTS });
  assert.is(describeSampling(MAIN_JOB_SAMPLING), 'Heun 10 steps, CFG 2 on (0.1, 1)');
  assert.is(describeSampling({ sampler: 'euler', steps: 20 }), 'Euler 20 steps, CFG 1');
});

test.run();
