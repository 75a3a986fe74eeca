import { tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../util/errors';
import { deepMerge, expandRuns, parseExperiment, readExperimentFile } from './experiment-config';
import { runOrder, runStatuses } from './runner';

const FILE = 'experiments/smoke-head.json';
const cliArgs = (root: string, out: string, ...extra: string[]) => ['--import', 'tsx', 'kernel-lib/cli/pixnerd.ts', 'experiment', FILE, '--runs-root', root, '--results-dir', out, '--figures-dir', join(out, 'figures'), ...extra];

test('expansion: variants x seeds, deep-merged overrides, stable hashes, smoke shrinking', () => {
  const exp = readExperimentFile(FILE);
  const specs = expandRuns(exp);
  assert.equal(specs.map((s) => s.dir), ['smoke-head/nerf/seed-0', 'smoke-head/nerf/seed-1', 'smoke-head/linear/seed-0', 'smoke-head/linear/seed-1']);
  assert.equal(specs[2]!.model.head, { kind: 'linear' });
  assert.is(specs[0]!.model.head.kind === 'nerf' && specs[0]!.model.head.width, 8);
  assert.is(specs[1]!.train.seed, 1);
  assert.is(expandRuns(exp)[3]!.hash, specs[3]!.hash);
  assert.is.not(specs[0]!.hash, specs[1]!.hash);
  const smoke = expandRuns({ ...exp, smoke: { steps: 2, batchSize: 2, samples: 0, sampleSteps: 1 } }, { smoke: true });
  assert.is(smoke[0]!.dir, 'smoke-head-smoke/nerf/seed-0');
  assert.is(smoke[0]!.train.steps, 2);
  assert.equal(deepMerge({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: 3 }, d: [2] }), { a: { b: 3, c: 2 }, d: [2] });
});

test("run order: the file's (seeds inner) or seed-major, every run once", () => {
  const specs = expandRuns(readExperimentFile(FILE));
  assert.equal(runOrder(specs, 'variants').map((s) => s.dir), specs.map((s) => s.dir));
  assert.equal(runOrder(specs, 'seeds').map((s) => s.dir), ['smoke-head/nerf/seed-0', 'smoke-head/linear/seed-0', 'smoke-head/nerf/seed-1', 'smoke-head/linear/seed-1']);
  assert.equal(specs.map((s) => s.index), [0, 1, 2, 3], 'the specs themselves are not reordered');
});

test('bad experiment files name the field', () => {
  const exp = JSON.parse(readFileSync(FILE, 'utf8'));
  const bad: [unknown, RegExp][] = [
    [{ ...exp, seeds: [] }, /seeds/],
    [{ ...exp, seeds: [1, 1] }, /must not repeat/],
    [{ ...exp, variants: { 'a b': {} } }, /variant names/],
    [{ ...exp, eval: { sampler: 'ddim' } }, /eval.sampler/],
    [{ ...exp, extra: 1 }, /unknown field/],
  ];
  for (const [json, re] of bad) assert.throws(() => parseExperiment(json), (e: Error) => e instanceof ConfigError && re.test(e.message));
  assert.throws(() => expandRuns(parseExperiment({ ...exp, variants: { w: { model: { numHeads: 3 } } } })), /variants.w: hiddenSize/);
});

test('a killed experiment resumes: every run finishes exactly once and the report counts each once', async () => {
  const root = tempDir('pixnerd-exp-'), out = join(root, 'results');
  const exp = readExperimentFile(FILE);
  const specs = expandRuns(exp);
  // start, and kill hard as soon as the first run has finished (the second is then under way)
  const child = spawn(process.execPath, cliArgs(root, out, '--quiet'), { stdio: 'ignore' });
  const first = join(root, specs[0]!.dir, 'result.json');
  const deadline = Date.now() + 120_000;
  while (!existsSync(first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const mid = runStatuses(specs, root);
  assert.is(mid[0]!.state, 'done');
  assert.ok(mid.filter((r) => r.state === 'done').length < 4, 'killed before the end');
  // resume
  execFileSync(process.execPath, cliArgs(root, out, '--quiet'), { stdio: 'ignore' });
  assert.ok(runStatuses(specs, root).every((r) => r.state === 'done'));
  const lines = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines.length, 4);
  assert.is(new Set(lines.map((l) => `${l.variant}/${l.seed}`)).size, 4);
  const md = readFileSync(join(out, 'summary.md'), 'utf8');
  assert.match(md, /4 of 4 runs finished/);
  assert.match(md, /\|nerf\|2\|/);
  assert.match(md, /\|linear\|2\|/);
  assert.ok(existsSync(join(out, 'figures', 'smoke-head-final-loss.png')));
  // a second invocation does no work and changes nothing
  const before = readFileSync(join(out, 'results.jsonl'), 'utf8');
  execFileSync(process.execPath, cliArgs(root, out, '--quiet'), { stdio: 'ignore' });
  assert.is(readFileSync(join(out, 'results.jsonl'), 'utf8'), before);
});

test.run();
