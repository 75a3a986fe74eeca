/**
 * One writer per run directory (issue 19), end to end through train(): a second training process
 * is refused naming the holder while the first finishes with one metrics line per step; a
 * SIGKILLed run's lock is recovered by the next resume, which ends bit-identical to an
 * uninterrupted run; a second train() in the same process is refused.
 */
import { tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMetrics } from '../runs/run-dir';
import { RunLockedError } from '../runs/run-lock';
import { disposeTrainState, train } from './train';
import { MICRO_RUN_MODEL, microBatch, microRunConfig } from './micro-run.fixture';

const FIXTURE = 'kernel-lib/training/micro-run.fixture.ts';

function child(dir: string, steps: number, delayMs: number, resume = false): { proc: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, String(steps), String(delayMs), resume ? 'resume' : ''], { env: { ...process.env, PIXNERD_BACKEND: 'wasm' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, out: () => out, err: () => err, exit };
}

async function until(cond: () => boolean, what: string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stepsLogged = (dir: string) => readMetrics(dir).map((r) => r.step);

test('two trainings on one run directory: the second is refused naming the holder; the first logs each step once', async () => {
  const dir = tempDir('pixnerd-lock-');
  const a = child(dir, 60, 120);
  await until(() => /step 2\b/.test(a.out()), 'the first writer to start');
  const b = child(dir, 60, 0, true);
  const codeB = await b.exit;
  assert.is(codeB, 1, `second writer exit ${codeB}: ${b.out()} ${b.err()}`);
  assert.match(b.err(), new RegExp(`locked by another writer: PID ${a.proc.pid} on host `));
  assert.match(b.err(), /--force-unlock/);
  assert.is(await a.exit, 0, a.err());
  assert.equal(stepsLogged(dir), Array.from({ length: 60 }, (_, i) => i + 1));
  assert.not.ok(existsSync(join(dir, '.lock')), 'the lock is released at the end');
});

test('a SIGKILLed run leaves a lock that the next resume recovers; the result equals an uninterrupted run', async () => {
  const steps = 10;
  const whole = tempDir('pixnerd-lock-whole-');
  disposeTrainState(await train({ model: MICRO_RUN_MODEL, train: microRunConfig(steps), runDir: whole, nextBatch: microBatch }));
  const dir = tempDir('pixnerd-lock-killed-');
  const a = child(dir, steps, 150);
  await until(() => /step 5\b/.test(a.out()), 'five steps');
  a.proc.kill('SIGKILL');
  await a.exit;
  assert.ok(existsSync(join(dir, '.lock')), 'the killed writer left its lock');
  const lines: string[] = [];
  const warn = console.warn;
  console.warn = (s: string) => lines.push(String(s));
  try {
    disposeTrainState(await train({ model: MICRO_RUN_MODEL, train: microRunConfig(steps), runDir: dir, resume: true, nextBatch: microBatch }));
  } finally {
    console.warn = warn;
  }
  assert.is(lines.filter((l) => l.includes(String(a.proc.pid))).length, 1, `one takeover line naming the dead PID: ${lines.join(' | ')}`);
  assert.equal(readMetrics(dir).map((r) => r.total), readMetrics(whole).map((r) => r.total));
  assert.is(readFileSync(join(dir, 'checkpoint.safetensors')).equals(readFileSync(join(whole, 'checkpoint.safetensors'))), true, 'checkpoints are bit-identical');
});

test('a second train() on the same run in the same process is refused while the first runs', async () => {
  const dir = tempDir('pixnerd-lock-inproc-');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const first = train({ model: MICRO_RUN_MODEL, train: microRunConfig(3), runDir: dir, nextBatch: async (s) => (s === 1 ? (await gate, microBatch(s)) : microBatch(s)) });
  await until(() => readMetrics(dir).length >= 1, 'the first step');
  try {
    disposeTrainState(await train({ model: MICRO_RUN_MODEL, train: microRunConfig(3), runDir: dir, resume: true, nextBatch: microBatch }));
    assert.unreachable('a second writer in the same process trained');
  } catch (e) {
    assert.instance(e, RunLockedError);
    assert.match((e as Error).message, /this process|train\(\)/);
  }
  release();
  disposeTrainState(await first);
  assert.equal(stepsLogged(dir), [1, 2, 3]);
});

test.run();
