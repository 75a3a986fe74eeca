/**
 * The local executor: every variant x seed of an experiment, one after the other in this
 * process, skipping finished runs and resuming interrupted ones, with an overall progress
 * display; then the report. Cluster executors (SLURM) run the same runOne per task.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { hasCheckpoint } from '../runs/run-dir';
import { progress } from '../viz/progress';
import type { RunSpec } from './experiment-config';
import { readResult, readStatus, runOne, type RunResult, type RunState } from './run-one';

export interface RunStatusRow {
  index: number;
  variant: string;
  seed: number;
  state: RunState | 'interrupted';
  /** Steps done according to the checkpoint, when known. */
  detail: string;
}

/** Each run's state from its directory: done (result.json), running/failed (status.json), interrupted (a checkpoint, no live status), pending. */
export function runStatuses(specs: readonly RunSpec[], runsRoot: string): RunStatusRow[] {
  return specs.map((s) => {
    const dir = join(runsRoot, s.dir);
    const row = { index: s.index, variant: s.variant, seed: s.seed };
    if (readResult(dir, s.hash)) return { ...row, state: 'done', detail: '' };
    const st = readStatus(dir);
    if (st?.state === 'failed') return { ...row, state: 'failed', detail: st.error ?? '' };
    if (st?.state === 'running') return { ...row, state: pidAlive(st.pid, st.host) ? 'running' : 'interrupted', detail: `${st.host ?? ''} pid ${st.pid ?? '?'}${st.jobId ? ` job ${st.jobId}` : ''}` };
    if (existsSync(dir) && hasCheckpoint(dir)) return { ...row, state: 'interrupted', detail: 'checkpoint present' };
    return { ...row, state: 'pending', detail: '' };
  });
}

/** Whether the process that claims a run is alive (a run claimed on another host is trusted). */
function pidAlive(pid: number | undefined, host: string | undefined): boolean {
  if (pid === undefined) return false;
  if (host !== undefined && host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const RUN_ORDERS = ['variants', 'seeds'] as const;
/** 'variants': the file's order (every seed of a variant, then the next variant); 'seeds': every variant of the first seed, then of the next (a partial sweep then covers every variant). */
export type RunOrder = (typeof RUN_ORDERS)[number];

/** The specs in execution order (stable; 'seeds' sorts by the seed's position in the file, then the variant's). */
export function runOrder(specs: readonly RunSpec[], order: RunOrder): RunSpec[] {
  if (order === 'variants') return [...specs];
  const seedRank = new Map<number, number>();
  for (const s of specs) if (!seedRank.has(s.seed)) seedRank.set(s.seed, seedRank.size);
  return [...specs].sort((a, b) => seedRank.get(a.seed)! - seedRank.get(b.seed)! || a.index - b.index);
}

/** Runs every spec that is not done (in `order`, default the file's); returns all results (finished ones included). */
export async function runLocal(specs: readonly RunSpec[], runsRoot: string, opts: { quiet?: boolean; label?: string; order?: RunOrder } = {}): Promise<RunResult[]> {
  const todo = runOrder(specs, opts.order ?? 'variants').filter((s) => !readResult(join(runsRoot, s.dir), s.hash));
  const bar = progress({ total: specs.length, start: specs.length - todo.length, label: opts.label ?? 'runs', mode: opts.quiet ? 'silent' : 'log', everyMs: 0 });
  let done = specs.length - todo.length;
  for (const spec of todo) {
    if (!opts.quiet) console.log(`\n[${done + 1}/${specs.length}] ${spec.dir} (${spec.train.steps} steps, batch ${spec.train.batchSize})`);
    const r = await runOne(spec, runsRoot, { quiet: opts.quiet });
    done += 1;
    bar.update(done, { finalLoss: r.finalLoss, ...(r.fid !== null ? { fid: r.fid } : {}) });
  }
  bar.done();
  return specs.map((s) => readResult(join(runsRoot, s.dir), s.hash)!).filter(Boolean);
}
