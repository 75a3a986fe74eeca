import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EVAL_DEFAULTS, validateEvalConfig } from './evaluate-run';
import { describeSampling, MAIN_JOB_SAMPLING } from './main-job';

test("the main job's samples and `evaluate` use one sampling recipe; experiment files keep theirs", () => {
  const { samples: _n, ...evalSampling } = EVAL_DEFAULTS;
  // experiment files keep the earlier recipe (CFG 2 on (0.1, 1), no final average): their config hashes
  const { finalAverage, interval, cfg, ...grid } = MAIN_JOB_SAMPLING;
  const { interval: evalInterval, cfg: evalCfg, ...evalGrid } = evalSampling;
  assert.equal(evalGrid, grid);
  assert.equal([cfg, evalCfg], [2.5, 2]);
  assert.equal([interval, evalInterval], [[0.2, 0.55], [0.1, 1]]);
  assert.ok(!('finalAverage' in EVAL_DEFAULTS));
  validateEvalConfig({ ...EVAL_DEFAULTS });
  validateEvalConfig({ ...EVAL_DEFAULTS, cfg, interval, finalAverage });
  assert.is(describeSampling(MAIN_JOB_SAMPLING), 'Heun 10 steps, CFG 2.5 on (0.2, 0.55), final average of 8 at t = 0.55');
  assert.is(describeSampling({ sampler: 'euler', steps: 20 }), 'Euler 20 steps, CFG 1');
});

test.run();
