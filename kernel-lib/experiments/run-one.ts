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
import { readMetrics } from '../training/run-dir';
import { writeFileAtomic } from '../util/atomic-write';
import { runExperiment } from '../cli/train-command';
import { evaluateRun, type RunMetrics } from './evaluate-run';
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

/** Trains and evaluates one run (or returns its existing result). */
export async function runOne(spec: RunSpec, runsRoot: string, opts: { quiet?: boolean } = {}): Promise<RunResult> {
  const runDir = join(runsRoot, spec.dir);
  const done = readResult(runDir, spec.hash);
  if (done) return done;
  const t0 = performance.now();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(runDir, { recursive: true });
  writeStatus(runDir, { state: 'running', pid: process.pid, host: hostname(), startedAt: new Date().toISOString() });
  try {
    disposeTrainState(await runExperiment({ model: spec.model, train: spec.train, data: spec.data }, runDir, { resume: true, quiet: opts.quiet }));
    const metrics = readMetrics(runDir);
    const tail = metrics.slice(-Math.max(1, Math.ceil(metrics.length / 10)));
    const ms = metrics.map((m) => m.ms!).filter(Number.isFinite).sort((a, b) => a - b);
    const evalMetrics = await evaluateRun(runDir, spec, { quiet: opts.quiet });
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
    writeFileAtomic(join(runDir, RESULT_FILE), JSON.stringify(result, null, 2) + '\n');
    writeStatus(runDir, { state: 'done', host: hostname() });
    return result;
  } catch (e) {
    writeStatus(runDir, { state: 'failed', host: hostname(), error: (e as Error).message });
    throw e;
  }
}
