/**
 * The SLURM executor: every run of an experiment that is not done becomes one task of ONE job
 * array; task i runs `pixnerd experiment FILE --run-index i` (the same runOne as the local
 * executor, on the shared file system), so the array index IS the run index of expandRuns.
 *
 *   <runsRoot>/<id>/slurm/submit-<timestamp>.sh   the generated batch script (kept, resubmittable)
 *   <runsRoot>/<id>/slurm/<jobid>_<taskid>.log    one log per task
 *   <runsRoot>/<id>/slurm/jobs.json               every submission: job id, indices, runs
 *   <runsRoot>/<id>/<variant>/seed-<s>/status.json   jobId "<jobid>_<index>" of the run's task
 *
 * Run states combine the run directories (result.json = done; status.json) with the scheduler:
 * `squeue` for queued / running tasks, then `scontrol show job` (or `sacct` where accounting is
 * on) for how a task ended. A task that ended without a result is marked failed with the
 * scheduler's state, exit code and reason. Sections: pure parts (quoting, array ranges, the
 * script, parsers of scheduler output) -> scheduler calls -> states -> submit / wait / cancel.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { projectRoot } from '../util/load-module';
import type { RunSpec } from './experiment-config';
import { readResult, readStatus, runOne, writeStatus, type RunResult } from './run-one';
import { runStatuses } from './runner';
import type { SlurmOptions } from './slurm-options';
import { arrayRanges, propagatedEnv, sbatchScript, shellQuote, SlurmError } from './slurm-script';
import { ACTIVE_STATES, describeEnd, endedTasks, slurmCommand, squeueTasks, type TaskInfo } from './slurm-scheduler';

/** How long a requeued array task waits for its predecessor's lock on the run before it gives up. */
export const REQUEUE_LOCK_WAIT_MS = 10 * 60_000;

// ------------------------------------------------------------------ submissions (jobs.json)

/** One sbatch submission of a sweep. */
export interface SlurmSubmission {
  jobId: string;
  submittedAt: string;
  /** Absolute path of the generated script. */
  script: string;
  /** Array task ids = run indices. */
  indices: number[];
  /** Run directories of those indices, relative to the runs root. */
  runs: string[];
}

export const JOBS_FILE = 'jobs.json';

/** <runsRoot>/<experiment id>/slurm: scripts, task logs, jobs.json. */
export function slurmDir(specs: readonly RunSpec[], runsRoot: string): string {
  if (specs.length === 0) throw new SlurmError('the experiment expands to no runs');
  return join(resolve(runsRoot), specs[0]!.experimentId, 'slurm');
}

export function readSubmissions(dir: string): SlurmSubmission[] {
  const path = join(dir, JOBS_FILE);
  if (!existsSync(path)) return [];
  return (JSON.parse(readFileSync(path, 'utf8')) as { submissions: SlurmSubmission[] }).submissions;
}

/** The log of task `index` of job `jobId`. */
export function taskLog(dir: string, jobId: string, index: number): string {
  return join(dir, `${jobId}_${index}.log`);
}

/** The last `n` lines of a file ('' when it does not exist). */
export function tailLines(path: string, n = 10): string {
  if (!existsSync(path)) return '';
  const lines = readFileSync(path, 'utf8').replace(/\n+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

// ------------------------------------------------------------------ run states

export type SlurmRunState = 'pending' | 'queued' | 'running' | 'done' | 'failed' | 'interrupted';

export interface SlurmStatusRow {
  index: number;
  variant: string;
  seed: number;
  state: SlurmRunState;
  /** "<jobid>_<index>" of the run's latest task ('' if never submitted). */
  job: string;
  detail: string;
  /** The task's log (failed runs). */
  log?: string;
}

export interface SlurmStatusReport {
  rows: SlurmStatusRow[];
  /** Jobs with at least one task the scheduler still lists. */
  activeJobs: string[];
  /** Why scheduler states are missing (squeue absent or failing), if they are. */
  schedulerNote?: string;
}

/**
 * Each run's state from its directory and the scheduler. With `persist`, a run whose task
 * ended without a result gets status.json {state: failed, error: <scheduler's account>, jobId}.
 */
export function slurmStatuses(specs: readonly RunSpec[], runsRoot: string, opts: { persist?: boolean } = {}): SlurmStatusReport {
  const dir = slurmDir(specs, runsRoot);
  const subs = readSubmissions(dir);
  const latest = new Map<number, string>(); // index -> job id of its latest submission
  for (const s of subs) for (const i of s.indices) latest.set(i, s.jobId);
  const ours = new Set(subs.map((s) => s.jobId));
  let active: TaskInfo[] = [];
  let schedulerNote: string | undefined;
  if (subs.length) {
    try {
      active = squeueTasks().filter((t) => ours.has(t.jobId));
    } catch (e) {
      schedulerNote = `scheduler states unknown: ${(e as Error).message}`;
    }
  }
  const activeByIndex = new Map(active.map((t) => [t.index, t] as const));
  const ended = new Map<string, TaskInfo>(); // "<job>_<index>" -> how it ended, fetched lazily per job
  const fetched = new Set<string>();
  const endOf = (jobId: string, index: number): TaskInfo | undefined => {
    if (schedulerNote) return undefined;
    if (!fetched.has(jobId)) {
      fetched.add(jobId);
      try {
        for (const t of endedTasks(jobId)) ended.set(`${t.jobId}_${t.index}`, t);
      } catch {
        /* scontrol/sacct absent: the end stays unknown */
      }
    }
    return ended.get(`${jobId}_${index}`);
  };
  const local = runStatuses(specs, runsRoot);
  const rows = specs.map((spec, k): SlurmStatusRow => {
    const runDir = join(resolve(runsRoot), spec.dir);
    const live = activeByIndex.get(spec.index);
    const jobId = live?.jobId ?? latest.get(spec.index);
    const job = jobId ? `${jobId}_${spec.index}` : '';
    const base = { index: spec.index, variant: spec.variant, seed: spec.seed, job };
    if (readResult(runDir, spec.hash)) return { ...base, state: 'done', detail: '' };
    if (live) {
      if (live.state === 'PENDING') return { ...base, state: 'queued', detail: live.reason ? `pending (${live.reason})` : 'pending' };
      return { ...base, state: 'running', detail: `${live.state.toLowerCase()}${live.node ? ` on ${live.node}` : ''}` };
    }
    const log = jobId ? taskLog(dir, jobId, spec.index) : undefined;
    const st = readStatus(runDir);
    const end = jobId ? endOf(jobId, spec.index) : undefined;
    const sched = end && !ACTIVE_STATES.has(end.state) ? `slurm task ${job} ${describeEnd(end)}` : '';
    if (st?.state === 'failed') return { ...base, state: 'failed', detail: [st.error, sched && !st.error?.includes(sched) ? sched : ''].filter(Boolean).join('; '), ...(log ? { log } : {}) };
    if (sched) {
      const error = end!.state === 'COMPLETED' ? `${sched}, but wrote no result.json` : sched;
      if (opts.persist) writeStatus(runDir, { ...(st ?? {}), state: 'failed', error, jobId: job });
      return { ...base, state: 'failed', detail: error, ...(log ? { log } : {}) };
    }
    const l = local[k]!;
    // submitted, not listed by squeue and its end unknown (scheduler forgot it): trust the directory
    const state: SlurmRunState = l.state === 'running' && jobId && !schedulerNote ? 'interrupted' : l.state;
    return { ...base, state, detail: l.detail };
  });
  return { rows, activeJobs: [...new Set(active.map((t) => t.jobId))], ...(schedulerNote ? { schedulerNote } : {}) };
}

/** Runs to (re)submit: every run that is neither done nor queued / running in the scheduler. */
export function indicesToSubmit(rows: readonly SlurmStatusRow[]): number[] {
  return rows.filter((r) => r.state !== 'done' && r.state !== 'queued' && r.state !== 'running').map((r) => r.index);
}

/** The status table, failure blocks (scheduler reason and log tail) and counts, as text. */
export function formatSlurmStatus(report: SlurmStatusReport, tableMarkdown: (rows: Record<string, unknown>[]) => string): string {
  const rows = report.rows;
  const oneLine = (s: string) => (s.split('\n')[0]!.length > 120 ? `${s.split('\n')[0]!.slice(0, 117)}...` : s.split('\n')[0]!);
  const out = [tableMarkdown(rows.map((r) => ({ index: r.index, variant: r.variant, seed: r.seed, state: r.state, job: r.job, detail: oneLine(r.detail) }))).trimEnd()];
  for (const r of rows.filter((x) => x.state === 'failed')) {
    const tail = r.log ? tailLines(r.log, 8) : '';
    out.push(`\nrun ${r.index} (${r.variant}, seed ${r.seed}) failed: ${r.detail}` + (r.log ? `\n  log ${r.log}${tail ? `, last lines:\n${tail.replace(/^/gm, '    ')}` : ' (empty or missing)'}` : ''));
  }
  const count = (s: SlurmRunState) => rows.filter((r) => r.state === s).length;
  out.push(`\n${count('done')} done, ${count('running')} running, ${count('queued')} queued, ${count('interrupted')} interrupted, ${count('failed')} failed, ${count('pending')} pending` + (report.activeJobs.length ? ` (active job${report.activeJobs.length > 1 ? 's' : ''} ${report.activeJobs.join(', ')})` : ''));
  if (report.schedulerNote) out.push(report.schedulerNote);
  return out.join('\n');
}

// ------------------------------------------------------------------ submit, wait, cancel

export interface SubmitOptions {
  experimentFile: string;
  runsRoot: string;
  smoke: boolean;
  slurm: SlurmOptions;
  /** Submit only runs that are not done and not queued / running, even while other tasks are active. */
  resume: boolean;
  /** Environment to propagate (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock for the script's file name (default now). */
  now?: Date;
}

/**
 * Submits one job array with every run that needs running. Without `resume`, refuses while
 * tasks of earlier submissions are still queued or running (the same run must not run twice).
 * Returns null when nothing needs running.
 */
export function submitSweep(specs: readonly RunSpec[], opts: SubmitOptions): SlurmSubmission | null {
  const dir = slurmDir(specs, opts.runsRoot);
  const report = slurmStatuses(specs, opts.runsRoot, { persist: true });
  if (report.schedulerNote && readSubmissions(dir).length) throw new SlurmError(`cannot tell which runs are already queued: ${report.schedulerNote}`);
  const busy = report.rows.filter((r) => r.state === 'queued' || r.state === 'running');
  if (busy.length && !opts.resume) {
    throw new SlurmError(`${busy.length} run(s) of ${specs[0]!.experimentId} are already queued or running in job(s) ${report.activeJobs.join(', ')}: watch them with --status, cancel them with --cancel, or add --resume to submit only the runs that are neither done nor queued`);
  }
  const indices = indicesToSubmit(report.rows);
  if (indices.length === 0) return null;
  const runsRoot = resolve(opts.runsRoot);
  mkdirSync(dir, { recursive: true });
  const submittedAt = (opts.now ?? new Date()).toISOString();
  const script = join(dir, `submit-${submittedAt.replace(/[:.]/g, '-')}.sh`);
  const text = sbatchScript({
    jobName: `pixnerd-${specs[0]!.experimentId}`,
    indices,
    logDir: dir,
    projectDir: projectRoot(),
    node: process.execPath,
    experimentFile: resolve(opts.experimentFile),
    runsRoot,
    smoke: opts.smoke,
    env: propagatedEnv(opts.env ?? process.env),
    slurm: opts.slurm,
  });
  writeFileAtomic(script, text);
  chmodSync(script, 0o755);
  const r = slurmCommand('sbatch', ['--parsable', script], projectRoot());
  const jobId = /^(\d+)/.exec(r.stdout.trim())?.[1];
  if (r.status !== 0 || !jobId) {
    throw new SlurmError(`sbatch rejected the job array (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim() || 'no message'}\n  script: ${script}`);
  }
  if (r.stderr.trim()) console.warn(r.stderr.trim()); // sbatch warnings on an accepted job
  const submission: SlurmSubmission = { jobId, submittedAt, script, indices, runs: indices.map((i) => specs[i]!.dir) };
  writeFileAtomic(join(dir, JOBS_FILE), JSON.stringify({ experimentId: specs[0]!.experimentId, submissions: [...readSubmissions(dir), submission] }, null, 2) + '\n');
  for (const i of indices) {
    const runDir = join(runsRoot, specs[i]!.dir);
    mkdirSync(runDir, { recursive: true });
    const st = readStatus(runDir);
    if (st?.startedAt !== undefined && st.startedAt >= submittedAt) continue; // the task has already started
    writeStatus(runDir, { state: 'pending', jobId: `${jobId}_${i}` });
  }
  return submission;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls squeue until no task of the sweep's jobs is listed, then returns the final states
 * (failed tasks persisted). `onChange` sees the counts whenever they change.
 */
export async function waitForSweep(specs: readonly RunSpec[], runsRoot: string, opts: { pollMs?: number; onChange?: (line: string) => void } = {}): Promise<SlurmStatusReport> {
  const ours = new Set(readSubmissions(slurmDir(specs, runsRoot)).map((s) => s.jobId));
  let last = '';
  let failures = 0;
  for (;;) {
    let active: TaskInfo[];
    try {
      active = squeueTasks().filter((t) => ours.has(t.jobId));
      failures = 0;
    } catch (e) {
      if (e instanceof SlurmError && /not found on PATH/.test(e.message)) throw e;
      if (++failures >= 10) throw new SlurmError(`gave up waiting for job(s) ${[...ours].join(', ')}: ${(e as Error).message}`);
      await sleep(opts.pollMs ?? 1000);
      continue;
    }
    if (active.length === 0) break;
    const pending = active.filter((t) => t.state === 'PENDING').length;
    const line = `${active.length - pending} running, ${pending} queued`;
    if (line !== last) opts.onChange?.(line);
    last = line;
    await sleep(opts.pollMs ?? 1000);
  }
  return slurmStatuses(specs, runsRoot, { persist: true });
}

/** scancel every job of the sweep that still has tasks; waits until they are gone; returns the final states. */
export async function cancelSweep(specs: readonly RunSpec[], runsRoot: string, opts: { pollMs?: number; timeoutMs?: number } = {}): Promise<{ cancelled: string[]; report: SlurmStatusReport }> {
  const dir = slurmDir(specs, runsRoot);
  if (readSubmissions(dir).length === 0) throw new SlurmError(`${specs[0]!.experimentId} has no SLURM submissions (no ${join(dir, JOBS_FILE)}): nothing to cancel`);
  const ours = new Set(readSubmissions(dir).map((s) => s.jobId));
  const jobs = [...new Set(squeueTasks().filter((t) => ours.has(t.jobId)).map((t) => t.jobId))];
  for (const j of jobs) {
    const r = slurmCommand('scancel', [j]);
    if (r.status !== 0) throw new SlurmError(`scancel ${j} failed (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (jobs.length && squeueTasks().some((t) => jobs.includes(t.jobId))) {
    if (Date.now() > deadline) throw new SlurmError(`job(s) ${jobs.join(', ')} were cancelled but squeue still lists tasks after ${(opts.timeoutMs ?? 60_000) / 1000} s`);
    await sleep(opts.pollMs ?? 500);
  }
  return { cancelled: jobs, report: slurmStatuses(specs, runsRoot, { persist: true }) };
}

/** `SLURM_ARRAY_JOB_ID`_`SLURM_ARRAY_TASK_ID` when this process is an array task. */
export function arrayTaskId(env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const j = env.SLURM_ARRAY_JOB_ID, t = env.SLURM_ARRAY_TASK_ID;
  return j && t ? `${j}_${t}` : undefined;
}

/** runOne, then (inside an array task) the task's job id recorded in status.json, done or failed. */
export async function runArrayTask(spec: RunSpec, runsRoot: string, opts: { quiet?: boolean; lockWaitMs?: number } = {}): Promise<RunResult> {
  const jobId = arrayTaskId();
  if (jobId && process.env.SLURM_ARRAY_TASK_ID !== String(spec.index)) {
    throw new SlurmError(`array task ${jobId} was asked to run index ${spec.index}: the array index must be the run index`);
  }
  // A requeued task whose predecessor still holds the run waits for it (bounded), never trains beside it.
  return runOne(spec, runsRoot, { ...opts, lockWaitMs: opts.lockWaitMs ?? (jobId ? REQUEUE_LOCK_WAIT_MS : 0), jobId });
}
