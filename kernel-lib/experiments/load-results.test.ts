import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimentChartSpec, metricChartSpecs } from './aggregate';
import { expandRuns, readExperimentFile } from './experiment-config';
import { experimentLossCurves, experimentOverview, loadExperimentResults, loadExperiments, readResultsJsonl } from './load-results';
import { runLocal } from './runner';
import { experimentHeading, isComplete, showExperimentResults } from './show-results';
import { existsSync } from 'node:fs';
import { vegaLiteToSvg } from '../viz/vega';

const FILE = 'experiments/smoke-head.json';
const root = mkdtempSync(join(tmpdir(), 'pixnerd-load-results-'));
const paths = { resultsRoot: join(root, 'results'), runsRoot: join(root, 'runs') };

test.after(() => rmSync(root, { recursive: true, force: true }));

test('nothing there: source none without runSmoke; a bad file is an error of that file', async () => {
  const l = await loadExperimentResults(FILE, paths);
  assert.is(l.source, 'none');
  assert.is(l.results.length, 0);
  assert.is(l.specs.length, 4);
  assert.equal(experimentOverview([l])[0]!.runs, '0 / 4');
  assert.is(experimentChartSpec(l.results), null);
  assert.match(experimentHeading(l), /No results yet: `npm run pixnerd -- experiment experiments\/smoke-head.json`/);
  assert.equal(await showExperimentResults(l, { figuresDir: join(root, 'figures') }), [], 'nothing to draw');
  try {
    await loadExperimentResults(join(root, 'missing.json'), paths);
    assert.unreachable('a missing experiment file throws');
  } catch (e) {
    assert.match((e as Error).message, /cannot read experiment/);
  }
});

test('runSmoke runs the smoke recipe (with overrides) into the smoke runs root, and reuses it', async () => {
  const smokeRunsRoot = join(root, 'smoke-runs');
  const [l] = await loadExperiments([FILE], { ...paths, runSmoke: true, smokeRunsRoot, smoke: { steps: 2, samples: 0 }, quiet: true });
  assert.is(l!.source, 'smoke');
  assert.is(l!.id, 'smoke-head-smoke');
  assert.is(l!.runsRoot, smokeRunsRoot);
  assert.equal(l!.results.map((r) => `${r.variant}/${r.seed}/${r.steps}`), ['nerf/0/2', 'nerf/1/2', 'linear/0/2', 'linear/1/2']);
  const curves = experimentLossCurves(l!)!;
  assert.equal(curves.map((c) => c.name), ['nerf', 'linear']);
  assert.equal(curves[0]!.steps, [1, 2]);
  // metrics every run has: no sampling, so losses and step time only
  assert.equal(metricChartSpecs(l!.results).map((c) => c.key), ['finalLoss', 'finalFmLoss', 'stepMs']);
  const spec = experimentChartSpec(l!.results, { metrics: ['finalLoss', 'fid', 'stepMs'] })!;
  assert.is((spec.concat as unknown[]).length, 2, 'fid is missing in every run and left out');
  assert.match(await vegaLiteToSvg(spec), /<svg/);
  const row = experimentOverview([l!])[0]!;
  assert.is(row.results, 'smoke');
  assert.is(row.runs, '4 / 4');
  assert.is(row['steps per run'], 2);
  assert.match(String(row.best), /^(nerf|linear) \(final loss \d/);
  assert.match(experimentHeading(l!), /^### smoke-head\n\nRunner test: .*\*\*Smoke results\*\* \(2 steps of 4 images per run, 0 samples for the metrics\)/s);
  assert.equal(await showExperimentResults(l!, { figuresDir: join(root, 'figures') }), [], 'smoke results: no figure files by default');
  const figures = await showExperimentResults(l!, { figuresDir: join(root, 'figures'), prefix: 'nb-', writeIncomplete: true });
  assert.equal(figures, [join(root, 'figures', 'nb-smoke-head-smoke-metrics.png'), join(root, 'figures', 'nb-smoke-head-smoke-loss.png')]);
  assert.ok(figures.every((f) => existsSync(f)));
  // a second load finds the finished smoke runs and trains nothing
  const again = await loadExperimentResults(FILE, { ...paths, runSmoke: true, smokeRunsRoot, smoke: { steps: 2, samples: 0 }, quiet: true });
  assert.equal(again.results.map((r) => r.finishedAt), l!.results.map((r) => r.finishedAt));
});

test('finished full runs are found under the runs root; a report wins over them', async () => {
  const specs = expandRuns(readExperimentFile(FILE)).filter((s) => s.seed === 0);
  await runLocal(specs, paths.runsRoot, { quiet: true });
  const fromRuns = await loadExperimentResults(FILE, paths);
  assert.is(fromRuns.source, 'runs');
  assert.match(experimentHeading(fromRuns), /finished runs under `.*\/runs\/smoke-head\/` \(not reported yet\), 2 of 4 runs/);
  assert.equal(fromRuns.results.map((r) => r.variant), ['nerf', 'linear']);
  assert.is(experimentOverview([fromRuns])[0]!.runs, '2 / 4');
  assert.not.ok(isComplete(fromRuns), '2 of 4 runs');
  assert.ok(isComplete({ ...fromRuns, results: [...fromRuns.results, ...fromRuns.results] }), '4 of 4 runs');
  assert.equal(await showExperimentResults(fromRuns, { figuresDir: join(root, 'figures') }), []);

  // a report (as the CLI writes it); one of its lines is from an older version of the file
  const dir = join(paths.resultsRoot, 'smoke-head');
  mkdirSync(dir, { recursive: true });
  const lines = [fromRuns.results[0]!, { ...fromRuns.results[1]!, hash: 'older0config' }];
  writeFileSync(join(dir, 'results.jsonl'), lines.map((r) => JSON.stringify(r)).join('\n') + '\n\n');
  assert.is(readResultsJsonl(join(dir, 'results.jsonl')).length, 2);
  const fromReport = await loadExperimentResults(FILE, paths);
  assert.is(fromReport.source, 'report');
  assert.is(fromReport.stale, 1);
  assert.match(experimentHeading(fromReport), /the runner's report `experiments\/results\/smoke-head\/results.jsonl`, 2 of 4 runs \(1 from an older version of `experiments\/smoke-head.json`\)/);
  assert.is(fromReport.runsRoot, paths.runsRoot);
  assert.equal(experimentLossCurves(fromReport)!.map((c) => c.name), ['nerf', 'linear']);
  // without the run directories there are no loss curves
  const reportOnly = await loadExperimentResults(FILE, { ...paths, runsRoot: join(root, 'elsewhere') });
  assert.is(reportOnly.runsRoot, null);
  assert.is(experimentLossCurves(reportOnly), null);

  // a broken report is a failed load of that experiment, not an exception
  writeFileSync(join(dir, 'results.jsonl'), '{"variant": \n');
  const broken = await loadExperimentResults(FILE, paths);
  assert.is(broken.source, 'failed');
  assert.match(broken.error!, /results\.jsonl:1/);
  assert.match(String(experimentOverview([broken])[0]!.results), /^failed: /);
  assert.match(experimentHeading(broken), /Loading the results failed: .*results\.jsonl:1/);
});

test.run();
