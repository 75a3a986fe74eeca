/**
 * Talking to the SLURM scheduler: running its commands (sbatch, squeue, scontrol, sacct,
 * scancel) with errors that name the missing package or the scheduler's own message, and
 * parsing what they print into task records.
 */
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { parseArrayRanges, SlurmError, SLURM_CLIENT_PACKAGE } from './slurm-script';

// ------------------------------------------------------------------ pure parts: scheduler output

/** One array task as the scheduler reports it. */
export interface TaskInfo {
  /** The array's job id (SLURM_ARRAY_JOB_ID). */
  jobId: string;
  /** The array task id = run index. */
  index: number;
  /** SLURM JobState: PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, ... */
  state: string;
  reason?: string;
  /** "status:signal", e.g. "1:0" (exited 1) or "0:15" (killed by SIGTERM). */
  exitCode?: string;
  node?: string;
}

/** `squeue -h -r -o '%F|%K|%T|%r|%N'` lines (array tasks only). */
export function parseSqueue(text: string): TaskInfo[] {
  const out: TaskInfo[] = [];
  for (const line of text.split('\n')) {
    const [jobId, task, state, reason, node] = line.trim().split('|');
    if (!jobId || !task || !state || !/^\d+$/.test(task)) continue; // not an array task (N/A)
    out.push({ jobId, index: Number(task), state, ...(reason && reason !== 'None' ? { reason } : {}), ...(node ? { node } : {}) });
  }
  return out;
}

/** `scontrol show job -o J` records (one line each; a pending range "ArrayTaskId=2-3" expands). */
export function parseScontrol(text: string): TaskInfo[] {
  const out: TaskInfo[] = [];
  for (const line of text.split('\n')) {
    // a value runs to the next " Key=" (values such as JobName or StdOut may hold spaces)
    const field = (k: string) => new RegExp(`(?:^| )${k}=(.*?)(?= [A-Za-z][A-Za-z/:_]*=|$)`).exec(line.trim())?.[1];
    const jobId = field('ArrayJobId'), tasks = field('ArrayTaskId'), state = field('JobState');
    if (!jobId || !tasks || !state) continue;
    const reason = field('Reason'), exitCode = field('ExitCode'), node = field('NodeList');
    for (const index of parseArrayRanges(tasks)) {
      out.push({ jobId, index, state, ...(reason && reason !== 'None' ? { reason } : {}), ...(exitCode ? { exitCode } : {}), ...(node && node !== '(null)' ? { node } : {}) });
    }
  }
  return out;
}

/** `sacct -n -P -X -o JobID,State,ExitCode` lines ("12_3|FAILED|1:0", "12_[4-5]|PENDING|0:0"). */
export function parseSacct(text: string): TaskInfo[] {
  const out: TaskInfo[] = [];
  for (const line of text.split('\n')) {
    const [id, state, exitCode] = line.trim().split('|');
    const m = /^(\d+)_(\[?[\d,:%-]+\]?)$/.exec(id ?? '');
    if (!m || !state) continue;
    for (const index of parseArrayRanges(m[2]!)) out.push({ jobId: m[1]!, index, state: state.split(' ')[0]!, ...(exitCode ? { exitCode } : {}) });
  }
  return out;
}

export const ACTIVE_STATES = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED']);

/** How an ended task went, in words ("FAILED, exit code 3, reason NonZeroExitCode"). */
export function describeEnd(t: TaskInfo): string {
  const parts = [t.state];
  if (t.exitCode) {
    const [code, signal] = t.exitCode.split(':');
    if (signal && signal !== '0') parts.push(`killed by signal ${signal}`);
    else if (code && code !== '0') parts.push(`exit code ${code}`);
  }
  if (t.reason) parts.push(`reason ${t.reason}`);
  return parts.join(', ');
}

// ------------------------------------------------------------------ scheduler calls

interface CmdResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a SLURM client command; a missing command throws a SlurmError naming the package. */
export function slurmCommand(cmd: string, args: readonly string[], cwd?: string): CmdResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, timeout: 60_000 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SlurmError(`${cmd} not found on PATH: the SLURM client commands (sbatch, squeue, scontrol, scancel) come in the Debian/Ubuntu package ${SLURM_CLIENT_PACKAGE} (apt-get install ${SLURM_CLIENT_PACKAGE}; on RHEL the slurm package); run from a machine that can submit to the cluster, or use --executor local`);
    }
    throw new SlurmError(`${cmd} ${args.join(' ')} could not run: ${r.error.message}`);
  }
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The current user's array tasks that squeue lists (pending, running, completing). */
export function squeueTasks(): TaskInfo[] {
  const r = slurmCommand('squeue', ['-h', '-r', '-u', userInfo().username, '-o', '%F|%K|%T|%r|%N']);
  if (r.status !== 0) throw new SlurmError(`squeue failed (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
  return parseSqueue(r.stdout);
}

/** How the tasks of job `jobId` ended: scontrol (jobs stay MinJobAge after the end), else sacct. */
export function endedTasks(jobId: string): TaskInfo[] {
  const sc = slurmCommand('scontrol', ['show', 'job', '-o', jobId]);
  if (sc.status === 0) {
    const tasks = parseScontrol(sc.stdout);
    if (tasks.length) return tasks;
  }
  try {
    const sa = slurmCommand('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'JobID,State,ExitCode']);
    return sa.status === 0 ? parseSacct(sa.stdout) : [];
  } catch {
    return []; // no sacct: the end is unknown
  }
}

