/**
 * One run of an experiment: train (resuming whatever checkpoint the run directory holds),
 * evaluate, and write `result.json` atomically. A run whose result.json exists with the same
 * config hash is done and skipped; its status is in `status.json` while it runs or after it failed.
 *
 * The local executor calls this in-process; a cluster task calls the same function through
 * `pixnerd experiment --run-index i` (same files, same resume semantics).
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parameterCount } from '../model/params';
import { disposeTrainState } from '../training/train';
import { readMetrics } from '../runs/run-dir';
import { writeFileAtomic } from '../util/atomic-write';
import { trainRun } from '../runs/train-run';
import { acquireRunLock } from '../runs/run-lock';
import { evaluateRun, type RunMetrics } from '../runs/evaluate-run';
import type { RunSpec } from './experiment-config';

export const RESULT_FILE = 'result.json';
export const STATUS_FILE = 'status.json';

/** One line of results: what the runner measured for a run. */
export interface RunResult extends RunMetrics {
  experimentId: string;
  variant: string;
  seed: number;
  hash: string;
  parameters: number;
  /** Median training step time (ms) over the steps logged in this run. */
  stepMs: number;
  /** Mean total loss over the last 10% of logged steps. */
  finalLoss: number;
  finalFmLoss: number;
  finalRepaLoss: number | null;
  steps: number;
  /** Wall time of training + evaluation of the last attempt (s). */
  wallSeconds: number;
  finishedAt: string;
}

export type RunState = 'pending' | 'running' | 'done' | 'failed';

export interface RunStatus {
  state: RunState;
  pid?: number;
  host?: string;
  startedAt?: string;
  error?: string;
  /** Scheduler job id (cluster executors). */
  jobId?: string;
}

/** The result of a finished run, or null. Throws when the run directory holds a different config. */
export function readResult(runDir: string, hash?: string): RunResult | null {
  const path = join(runDir, RESULT_FILE);
  if (!existsSync(path)) return null;
  const r = JSON.parse(readFileSync(path, 'utf8')) as RunResult;
  if (hash !== undefined && r.hash !== hash) {
    throw new Error(`${runDir} holds a result for config ${r.hash}, but the experiment now resolves to ${hash}: change the experiment id or move the old run away`);
  }
  return r;
}

export function readStatus(runDir: string): RunStatus | null {
  const path = join(runDir, STATUS_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RunStatus) : null;
}

export function writeStatus(runDir: string, s: RunStatus): void {
  writeFileAtomic(join(runDir, STATUS_FILE), JSON.stringify(s) + '\n');
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export interface RunOneOptions {
  quiet?: boolean;
  /** How long to wait for the run's lock when another process holds it (a requeued cluster task); default 0: refuse at once. */
  lockWaitMs?: number;
  /** Scheduler job id recorded in status.json (`<jobid>_<index>`). */
  jobId?: string;
}

/**
 * Trains and evaluates one run (or returns its existing result). Holds the run directory's lock
 * from before its first write (status.json) to after result.json.
 */
export async function runOne(spec: RunSpec, runsRoot: string, opts: RunOneOptions = {}): Promise<RunResult> {
  const runDir = join(runsRoot, spec.dir);
  const done = readResult(runDir, spec.hash);
  if (done) return done;
  const lock = await acquireRunLock(runDir, { waitMs: opts.lockWaitMs ?? 0, purpose: `experiment ${spec.experimentId}, run ${spec.index} (${spec.dir})` });
  const job = opts.jobId ? { jobId: opts.jobId } : {};
  try {
    const finished = readResult(runDir, spec.hash); // a predecessor may have finished while this one waited
    if (finished) return finished;
    const t0 = performance.now();
    writeStatus(runDir, { state: 'running', pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), ...job });
    try {
      disposeTrainState(await trainRun({ model: spec.model, train: spec.train, data: spec.data }, runDir, { resume: true, quiet: opts.quiet, lock }));
      const metrics = readMetrics(runDir);
      const tail = metrics.slice(-Math.max(1, Math.ceil(metrics.length / 10)));
      const ms = metrics.map((m) => m.ms!).filter(Number.isFinite).sort((a, b) => a - b);
      const evalMetrics = await evaluateRun(runDir, { seed: spec.seed, model: spec.model, data: spec.data, eval: spec.eval, label: spec.dir, quiet: opts.quiet });
      const repa = tail.map((m) => m.repa).filter((v): v is number => typeof v === 'number');
      const result: RunResult = {
        experimentId: spec.experimentId,
        variant: spec.variant,
        seed: spec.seed,
        hash: spec.hash,
        parameters: parameterCount(spec.model),
        stepMs: ms.length ? ms[Math.floor(ms.length / 2)]! : NaN,
        finalLoss: mean(tail.map((m) => m.total!)),
        finalFmLoss: mean(tail.map((m) => m.fm!)),
        finalRepaLoss: repa.length ? mean(repa) : null,
        steps: spec.train.steps,
        ...evalMetrics,
        wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
        finishedAt: new Date().toISOString(),
      };
      lock.assertHeld();
      writeFileAtomic(join(runDir, RESULT_FILE), JSON.stringify(result, null, 2) + '\n');
      writeStatus(runDir, { state: 'done', host: hostname(), ...job });
      return result;
    } catch (e) {
      if (!lock.lost) writeStatus(runDir, { state: 'failed', host: hostname(), error: (e as Error).message, ...job });
      throw e;
    }
  } finally {
    lock.release();
  }
}
