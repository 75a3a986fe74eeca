import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandRuns, readExperimentFile } from './experiment-config';
import { runOne } from './run-one';
import { samplerSweep, sweepPlan, SAMPLER_SWEEP_DEFAULTS } from './sampler-sweep';

test('the default plan: 4 samplers x 4 step counts, then 3 intervals x 4 CFG scales', () => {
  const plan = sweepPlan(SAMPLER_SWEEP_DEFAULTS);
  assert.is(plan.length, 16 + 12);
  assert.equal(plan.slice(0, 5).map((p) => [p.s.sampler, p.steps]), [['euler', 5], ['euler', 10], ['euler', 20], ['euler', 50], ['heun', 5]]);
  assert.ok(plan.slice(16).every((p) => p.study === 'cfg' && p.steps === 20 && p.s.sampler === 'euler'));
  assert.throws(() => sweepPlan({ ...SAMPLER_SWEEP_DEFAULTS, samplers: [] }), /at least one sampler/);
});

test('a sweep on a trained run writes one line per point, resumes without repeating, and draws its charts', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pixnerd-sweep-'));
  try {
    const spec = expandRuns(readExperimentFile('experiments/smoke-head.json'))[0]!;
    await runOne(spec, root, { quiet: true });
    const o = {
      ...SAMPLER_SWEEP_DEFAULTS, runDir: join(root, spec.dir), out: join(root, 'sweep'), figures: join(root, 'fig'), samples: 10, quiet: true,
      samplers: [{ sampler: 'euler' as const }, { sampler: 'heun' as const }], steps: [1, 2], cfgScales: [1, 2], intervals: [[0.1, 1]] as [number, number][], cfgSteps: 1,
    };
    const points = await samplerSweep(o);
    assert.is(points.length, 6);
    assert.equal(points.map((p) => p.nfe), [1, 2, 1, 3, 1, 1]);
    assert.ok(points.every((p) => Number.isFinite(p.fid) && p.extractor === 'small-cnn/mnist'));
    const lines = () => readFileSync(join(o.out, 'results.jsonl'), 'utf8').trim().split('\n');
    assert.is(lines().length, 6);
    await samplerSweep(o); // nothing left to do
    assert.is(lines().length, 6);
    assert.match(readFileSync(join(o.out, 'summary.md'), 'utf8'), /\|heun\|2\|3\|/);
    for (const f of ['fig-steps.svg', 'fig-steps.png', 'fig-cfg.png']) assert.ok(existsSync(join(root, f)), f);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
