import { tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandRuns, readExperimentFile } from './experiment-config';
import { restoreReportedResults } from './restore-results';
import { runStatuses } from './runner';

test('a reported run is restored into an empty runs root only when experiment, variant, seed and hash match', () => {
  const root = tempDir('pixnerd-restore-');
  const specs = expandRuns(readExperimentFile('experiments/smoke-head.json'));
  const report = join(root, 'report');
  mkdirSync(report);
  const row = (i: number, hash = specs[i]!.hash) => JSON.stringify({ experimentId: specs[i]!.experimentId, variant: specs[i]!.variant, seed: specs[i]!.seed, hash, fid: 10 + i });
  // run 0 as reported; run 1 from an older config (another hash); runs 2 and 3 never reported
  writeFileSync(join(report, 'results.jsonl'), `${row(0)}\n${row(1, '000000000000')}\n`);
  const runs = join(root, 'runs');
  assert.equal(restoreReportedResults(specs, runs, report), [specs[0]!.dir]);
  const restored = JSON.parse(readFileSync(join(runs, specs[0]!.dir, 'result.json'), 'utf8'));
  assert.is(restored.fid, 10);
  assert.ok(!existsSync(join(runs, specs[1]!.dir, 'result.json')), 'a stale row is not restored');
  assert.equal(runStatuses(specs, runs).map((r) => r.state), ['done', 'pending', 'pending', 'pending']);
  assert.equal(restoreReportedResults(specs, runs, report), [], 'nothing twice');
  assert.equal(restoreReportedResults(specs, join(root, 'other'), join(root, 'no-report')), [], 'no report: nothing');
});

test('the committed ablation-regime results still match their experiment file (a new config default must not change old hashes)', () => {
  // The regime sweep resumes from these rows on a fresh clone; a default added to a config type
  // (filled into every spec) changes every hash, and the sweep would silently run its 11 finished
  // runs again. Optional fields without defaults keep the hashes.
  const specs = expandRuns(readExperimentFile('experiments/regime-ablations.json'));
  const rows = readFileSync('experiments/results/regime-ablations/results.jsonl', 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { variant: string; seed: number; hash: string });
  assert.ok(rows.length >= 11, `${rows.length} reported rows`);
  const root = tempDir('pixnerd-restore-regime-');
  const restored = restoreReportedResults(specs, root, 'experiments/results/regime-ablations');
  assert.is(restored.length, rows.length, `restored ${restored.length} of ${rows.length}: hashes ${rows.filter((r) => !specs.some((s) => s.hash === r.hash)).map((r) => `${r.variant}/seed-${r.seed} ${r.hash}`).join(', ')} match no spec`);
});

test.run();
