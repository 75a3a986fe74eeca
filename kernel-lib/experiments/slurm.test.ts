import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_BACKEND } from '../../test/setup';
import { ConfigError } from '../util/errors';
import { expandRuns, parseExperiment, readExperimentFile } from './experiment-config';
import { indicesToSubmit, readSubmissions, slurmDir, slurmStatuses, submitSweep } from './slurm-executor';
import { arrayRanges, directiveQuote, parseArrayRanges, propagatedEnv, sbatchScript, type SbatchScriptOptions } from './slurm-script';
import { describeEnd, parseSacct, parseScontrol, parseSqueue } from './slurm-scheduler';
import { mergeSlurmOptions, parseSlurmOptions } from './slurm-options';

const FILE = 'experiments/smoke-head.json';
/** A directory name with a space, a single and a double quote: every path must survive it. */
const NASTY = `pixnerd slurm 'q' "d" `;

// ------------------------------------------------------------------ unit tests (always run)

test('array specs: indices <-> ranges', () => {
  assert.is(arrayRanges([3, 1]), '1,3');
  assert.is(arrayRanges([0, 1, 2, 5, 7, 8, 8]), '0-2,5,7-8');
  assert.equal(parseArrayRanges('0-2,5,7-8'), [0, 1, 2, 5, 7, 8]);
  assert.equal(parseArrayRanges('[4-8:2]'), [4, 6, 8]);
  assert.equal(parseArrayRanges('2-3%1'), [2, 3]);
  assert.throws(() => arrayRanges([]), /non-empty/);
  assert.throws(() => parseArrayRanges('a-b'), /cannot read/);
});

function scriptOptions(root: string, over: Partial<SbatchScriptOptions> = {}): SbatchScriptOptions {
  return {
    jobName: 'pixnerd-smoke-head',
    indices: [3, 1],
    logDir: join(root, 'runs', 'smoke-head', 'slurm'),
    projectDir: join(root, 'project'),
    node: join(root, 'bin', 'node'),
    experimentFile: join(root, 'exp.json'),
    runsRoot: join(root, 'runs'),
    smoke: true,
    env: { PATH: '/usr/bin:/bin', PIXNERD_BACKEND: `wa'sm "x" $HOME` },
    slurm: { partition: 'gpu', time: '0-01:00:00', cpusPerTask: 4, gpusPerTask: 1, sbatchArgs: ['--mem=2G', '--comment=a b'] },
    ...over,
  };
}

test('sbatchScript: directives, quoted paths with spaces and quotes, exported environment, index -> run', () => {
  const root = mkdtempSync(join(tmpdir(), NASTY));
  const o = scriptOptions(root);
  const text = sbatchScript(o);
  const directives = text.split('\n').filter((l) => l.startsWith('#SBATCH '));
  assert.equal(directives, [
    '#SBATCH --job-name=pixnerd-smoke-head',
    '#SBATCH --array=1,3', // only the requested runs; the array index is the run index
    `#SBATCH "--output=${o.logDir.replace(/"/g, '\\"')}/%A_%a.log"`,
    `#SBATCH "--chdir=${o.projectDir.replace(/"/g, '\\"')}"`,
    '#SBATCH --open-mode=append',
    '#SBATCH --partition=gpu',
    '#SBATCH --time=0-01:00:00',
    '#SBATCH --cpus-per-task=4',
    '#SBATCH --gpus-per-task=1',
    '#SBATCH --mem=2G',
    '#SBATCH "--comment=a b"',
  ]);
  // run the script with bash and a stub `node` that records its argv, cwd and environment
  mkdirSync(join(root, 'bin'));
  mkdirSync(o.projectDir);
  const record = join(root, 'argv.json');
  writeFileSync(o.node, `#!/bin/bash\nexec ${JSON.stringify(process.execPath)} -e 'require("fs").writeFileSync(process.env.RECORD, JSON.stringify({argv: process.argv.slice(1), cwd: process.cwd(), backend: process.env.PIXNERD_BACKEND, path: process.env.PATH}))' -- "$@"\n`);
  chmodSync(o.node, 0o755);
  const script = join(root, 'submit.sh');
  writeFileSync(script, text);
  const env = { RECORD: record, SLURM_ARRAY_JOB_ID: '41', SLURM_ARRAY_TASK_ID: '3', PIXNERD_BACKEND: 'overridden', PATH: process.env.PATH };
  const r = spawnSync('bash', [script], { env, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /pixnerd: task 41_3 on /);
  const got = JSON.parse(readFileSync(record, 'utf8'));
  assert.equal(got.argv, ['--import', 'tsx', join(o.projectDir, 'kernel-lib', 'cli', 'pixnerd.ts'), 'experiment', o.experimentFile, '--run-index', '3', '--runs-root', o.runsRoot, '--smoke']);
  assert.is(got.cwd, o.projectDir);
  assert.is(got.backend, `wa'sm "x" $HOME`); // the submitter's value, exported verbatim
  assert.is(got.path, '/usr/bin:/bin');
  // outside an array job the script refuses to run
  const bare = spawnSync('bash', [script], { env: { RECORD: record, PATH: process.env.PATH }, encoding: 'utf8' });
  assert.is.not(bare.status, 0);
  assert.match(bare.stderr, /submit this script with sbatch/);
  assert.not.match(sbatchScript({ ...o, smoke: false }), /--smoke/);
  rmSync(root, { recursive: true, force: true });
});

test('sbatchScript and friends throw on what cannot be written', () => {
  const o = scriptOptions('/tmp/x');
  assert.throws(() => sbatchScript({ ...o, runsRoot: 'runs' }), /runsRoot must be an absolute path/);
  assert.throws(() => sbatchScript({ ...o, logDir: '/tmp/100%/slurm' }), /filename pattern/);
  assert.throws(() => sbatchScript({ ...o, env: { 'A-B': '1' } }), /variable name/);
  assert.throws(() => sbatchScript({ ...o, indices: [] }), /non-empty/);
  assert.throws(() => directiveQuote('--comment=a\\b'), /backslash/);
  assert.equal(propagatedEnv({ PATH: '/bin', PIXNERD_A: '1', HOME: '/root', SLURM_CONF: '/x', PIXNERD_B: undefined }), { PATH: '/bin', PIXNERD_A: '1' });
});

test('scheduler output: squeue, scontrol (pending ranges), sacct; how a task ended', () => {
  assert.equal(parseSqueue('4|1|PENDING|Resources|\n4|0|RUNNING|None|localhost\n9|N/A|RUNNING|None|n1\n'), [
    { jobId: '4', index: 1, state: 'PENDING', reason: 'Resources' },
    { jobId: '4', index: 0, state: 'RUNNING', node: 'localhost' },
  ]);
  const sc = [
    `JobId=4 ArrayJobId=4 ArrayTaskId=1-3 JobName=a b UserId=root(0) JobState=CANCELLED Reason=None Dependency=(null) ExitCode=0:0 NodeList=(null) StdOut=/tmp/q t/x=1/4_1.log`,
    `JobId=5 ArrayJobId=4 ArrayTaskId=0 JobName=a b JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 NodeList=localhost`,
  ].join('\n');
  const tasks = parseScontrol(sc);
  assert.equal(tasks.map((t) => [t.index, t.state]), [[1, 'CANCELLED'], [2, 'CANCELLED'], [3, 'CANCELLED'], [0, 'FAILED']]);
  assert.is(describeEnd(tasks[3]!), 'FAILED, exit code 3, reason NonZeroExitCode');
  assert.is(describeEnd({ jobId: '4', index: 0, state: 'CANCELLED', exitCode: '0:15' }), 'CANCELLED, killed by signal 15');
  assert.equal(parseSacct('12_3|FAILED|1:0\n12_[4-5]|CANCELLED by 0|0:0\n12|RUNNING|0:0\n').map((t) => `${t.jobId}_${t.index} ${t.state}`), ['12_3 FAILED', '12_4 CANCELLED', '12_5 CANCELLED']);
});

test('only runs that are not done are submitted', () => {
  const root = mkdtempSync(join(tmpdir(), NASTY));
  const specs = expandRuns(readExperimentFile(FILE), { smoke: true });
  for (const i of [0, 2]) {
    mkdirSync(join(root, specs[i]!.dir), { recursive: true });
    writeFileSync(join(root, specs[i]!.dir, 'result.json'), JSON.stringify({ hash: specs[i]!.hash, variant: specs[i]!.variant, seed: specs[i]!.seed }));
  }
  const report = slurmStatuses(specs, root); // nothing submitted yet: the scheduler is not asked
  assert.equal(report.rows.map((r) => r.state), ['done', 'pending', 'done', 'pending']);
  assert.equal(indicesToSubmit(report.rows), [1, 3]);
  assert.equal(indicesToSubmit([{ ...report.rows[1]!, state: 'queued' }, { ...report.rows[3]!, state: 'failed' }]), [3]);
  assert.is(slurmDir(specs, root), join(root, 'smoke-head-smoke', 'slurm'));
  rmSync(root, { recursive: true, force: true });
});

test('slurm options: file key validated, command line over file', () => {
  const exp = JSON.parse(readFileSync(FILE, 'utf8'));
  assert.equal(parseExperiment({ ...exp, slurm: { partition: 'gpu', cpusPerTask: 2 } }).slurm, { partition: 'gpu', cpusPerTask: 2 });
  assert.is(parseExperiment(exp).slurm, undefined);
  const bad: [unknown, RegExp][] = [
    [{ partition: 'a b' }, /slurm.partition/],
    [{ time: '1h' }, /slurm.time/],
    [{ cpusPerTask: 0 }, /slurm.cpusPerTask/],
    [{ gpusPerTask: 1.5 }, /slurm.gpusPerTask/],
    [{ sbatchArgs: ['mem=1G'] }, /slurm.sbatchArgs/],
    [{ nodes: 2 }, /slurm.nodes.*unknown field/],
  ];
  for (const [slurm, re] of bad) assert.throws(() => parseExperiment({ ...exp, slurm }), (e: Error) => e instanceof ConfigError && re.test(e.message));
  assert.ok(parseSlurmOptions({ time: 'UNLIMITED' }));
  assert.equal(mergeSlurmOptions({ partition: 'a', time: '10', sbatchArgs: ['--mem=1G'] }, { partition: 'b', sbatchArgs: ['--qos=low'] }), { partition: 'b', time: '10', sbatchArgs: ['--mem=1G', '--qos=low'] });
});

/** Runs `fn` with PATH replaced by `dir` (fake or missing SLURM commands). */
function withPath<T>(dir: string, fn: () => T): T {
  const old = process.env.PATH;
  process.env.PATH = dir;
  try {
    return fn();
  } finally {
    process.env.PATH = old;
  }
}

test('clear errors: sbatch absent names its package, a rejected job shows sbatch stderr', () => {
  const root = mkdtempSync(join(tmpdir(), NASTY));
  const specs = expandRuns(readExperimentFile(FILE), { smoke: true });
  const opts = { experimentFile: FILE, runsRoot: join(root, 'runs'), smoke: true, slurm: {}, resume: false };
  const empty = join(root, 'empty');
  mkdirSync(empty);
  assert.throws(() => withPath(empty, () => submitSweep(specs, opts)), /sbatch not found on PATH.*slurm-client/);
  const fake = join(root, 'fake');
  mkdirSync(fake);
  writeFileSync(join(fake, 'sbatch'), '#!/bin/sh\necho "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2\nexit 1\n');
  chmodSync(join(fake, 'sbatch'), 0o755);
  assert.throws(() => withPath(`${fake}:/usr/bin:/bin`, () => submitSweep(specs, opts)), /sbatch rejected the job array \(exit 1\): sbatch: error: Batch job submission failed: Invalid partition name/);
  assert.equal(readSubmissions(slurmDir(specs, opts.runsRoot)), [], 'a rejected job is not recorded');
  rmSync(root, { recursive: true, force: true });
});

// ------------------------------------------------------------------ a real single-node cluster

const hasSlurm = spawnSync('bash', ['-c', 'command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged'], { encoding: 'utf8' }).status === 0;
const isRoot = process.getuid?.() === 0;
const skipReason = !hasSlurm
  ? 'slurmctld, slurmd, sbatch or munged is not installed (apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge)'
  : !isRoot
    ? 'the throwaway cluster needs root (slurmd starts the tasks)'
    : null;
if (skipReason) console.log(`slurm.test.ts: skipping the cluster test: ${skipReason}`);

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** The CLI as a child process; throws with its output when it fails. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'kernel-lib/cli/pixnerd.ts', 'experiment', FILE, '--quiet', ...args], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`pixnerd experiment ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

const TIMING = ['stepMs', 'wallSeconds', 'finishedAt', 'evalSeconds'];
/** results.jsonl without timing fields. */
function results(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => Object.fromEntries(Object.entries(JSON.parse(l)).filter(([k]) => !TIMING.includes(k))));
}
/** summary.csv without the timing metric's columns. */
function summary(dir: string): string[] {
  const [head, ...rows] = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const keep = head!.map((h, i) => (h.startsWith('stepMs') ? -1 : i)).filter((i) => i >= 0);
  return [head!, ...rows].map((r) => keep.map((i) => r[i]).join(','));
}

(skipReason ? test.skip : test)('cluster: smoke sweep through sbatch equals the local run; cancel half-way, resume, nothing lost or doubled', async () => {
  const t0 = performance.now();
  const root = mkdtempSync(join(tmpdir(), NASTY));
  const cluster = mkdtempSync(join(tmpdir(), 'pixnerd-slurm-cluster-')); // munged wants o+x on every parent of its socket
  const [ctld, slurmd] = [await freePort(), await freePort()];
  const up = spawnSync('bash', ['scripts/slurm/cluster.sh', 'up', cluster], { env: { ...process.env, CTLD_PORT: String(ctld), SLURMD_PORT: String(slurmd) }, encoding: 'utf8', timeout: 60_000 });
  try {
    assert.is(up.status, 0, `cluster.sh up failed:\n${up.stdout}\n${up.stderr}`);
    const env = { ...process.env, SLURM_CONF: join(cluster, 'slurm.conf'), PIXNERD_BACKEND: TEST_BACKEND };
    const specs = expandRuns(readExperimentFile(FILE), { smoke: true });
    const where = (name: string) => ['--runs-root', join(root, name, 'runs'), '--results-dir', join(root, name, 'results'), '--figures-dir', join(root, name, 'figures')];

    // 1. the same smoke sweep locally and through the cluster
    cli(env, '--smoke', ...where('local'));
    const ts = performance.now();
    cli(env, '--smoke', '--executor', 'slurm', '--wait', ...where('slurm'));
    console.log(`  slurm smoke sweep (${specs.length} tasks, submit to report): ${((performance.now() - ts) / 1000).toFixed(1)} s`);
    const runsB = join(root, 'slurm', 'runs');
    const subs = readSubmissions(slurmDir(specs, runsB));
    assert.is(subs.length, 1);
    assert.equal(subs[0]!.indices, [0, 1, 2, 3]);
    assert.ok(existsSync(subs[0]!.script));
    for (const s of specs) {
      const st = JSON.parse(readFileSync(join(runsB, s.dir, 'status.json'), 'utf8'));
      assert.equal([st.state, st.jobId], ['done', `${subs[0]!.jobId}_${s.index}`]);
      const log = readFileSync(join(slurmDir(specs, runsB), `${subs[0]!.jobId}_${s.index}.log`), 'utf8');
      assert.match(log, new RegExp(`backend ${TEST_BACKEND}`), 'PIXNERD_BACKEND reached the task');
    }
    const reference = results(join(root, 'local', 'results'));
    assert.is(reference.length, 4);
    assert.equal(results(join(root, 'slurm', 'results')), reference);
    assert.equal(summary(join(root, 'slurm', 'results')), summary(join(root, 'local', 'results')));

    // 2. a second sweep, one task at a time (2 CPUs per task on a 2-CPU node), cancelled half-way
    const runsC = join(root, 'cancel', 'runs');
    cli(env, '--smoke', '--executor', 'slurm', '--cpus-per-task', String(Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim())), ...where('cancel'));
    const deadline = Date.now() + 60_000;
    while (!specs.some((s) => existsSync(join(runsC, s.dir, 'result.json'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const cancelOut = cli(env, '--smoke', '--cancel', ...where('cancel'));
    assert.match(cancelOut, /cancelled/);
    const mid = slurmStatusesIn(env, specs, runsC);
    const doneBefore = mid.filter((r) => r.state === 'done');
    assert.ok(doneBefore.length >= 1 && doneBefore.length < 4, `cancelled half-way: ${mid.map((r) => r.state).join(' ')}`);
    for (const r of mid.filter((x) => x.state !== 'done')) {
      assert.is(r.state, 'failed');
      assert.match(r.detail, /CANCELLED/);
      assert.match(readFileSync(join(runsC, specs[r.index]!.dir, 'status.json'), 'utf8'), /"state":"failed"/);
    }
    console.log(`  cancelled half-way: ${mid.map((r) => `${r.index}:${r.state}`).join(' ')}`);
    const finishedAt = new Map(doneBefore.map((r) => [r.index, readFileSync(join(runsC, specs[r.index]!.dir, 'result.json'), 'utf8')]));

    // 3. resume: only the runs that are not done go into a second array
    cli(env, '--smoke', '--executor', 'slurm', '--resume', '--wait', ...where('cancel'));
    const subsC = readSubmissions(slurmDir(specs, runsC));
    assert.is(subsC.length, 2);
    assert.equal(subsC[1]!.indices, mid.filter((r) => r.state !== 'done').map((r) => r.index));
    for (const [i, text] of finishedAt) assert.is(readFileSync(join(runsC, specs[i]!.dir, 'result.json'), 'utf8'), text, `run ${i} was not redone`);
    const resumed = results(join(root, 'cancel', 'results'));
    assert.is(new Set(resumed.map((r) => `${r.variant}/${r.seed}`)).size, 4);
    assert.equal(resumed, reference);
    assert.match(cli(env, '--smoke', '--status', ...where('cancel')), /4 done, 0 running, 0 queued, 0 interrupted, 0 failed, 0 pending/);
  } finally {
    const down = spawnSync('bash', ['scripts/slurm/cluster.sh', 'down', cluster], { encoding: 'utf8', timeout: 60_000 });
    if (down.status !== 0) console.log(`cluster.sh down failed:\n${down.stdout}\n${down.stderr}`);
    rmSync(root, { recursive: true, force: true });
    rmSync(cluster, { recursive: true, force: true });
    console.log(`  cluster test: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
});

/** slurmStatuses against the test cluster (SLURM_CONF set only for the call). */
function slurmStatusesIn(env: NodeJS.ProcessEnv, specs: Parameters<typeof slurmStatuses>[0], runsRoot: string) {
  const old = process.env.SLURM_CONF;
  process.env.SLURM_CONF = env.SLURM_CONF;
  try {
    return slurmStatuses(specs, runsRoot).rows;
  } finally {
    if (old === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = old;
  }
}

test.run();
