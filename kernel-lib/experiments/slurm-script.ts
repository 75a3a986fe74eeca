/**
 * The pure parts of the SLURM executor: quoting for the shell and for #SBATCH directives, array
 * index ranges, the environment a task inherits, and the generated batch script. No scheduler
 * calls, no files: everything here is a function of its arguments (tested without SLURM).
 */
import { isAbsolute, join } from 'node:path';
import type { SlurmOptions } from './slurm-options';

/** The Debian/Ubuntu package with sbatch, squeue, scancel, scontrol and sacct. */
export const SLURM_CLIENT_PACKAGE = 'slurm-client';

/** Something the scheduler or its commands refused; the message says what and why. */
export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlurmError';
  }
}


// ------------------------------------------------------------------ pure parts: quoting, arrays

/** A POSIX shell word that is exactly `s` (single quotes; a ' becomes '\''). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One `#SBATCH` argument. sbatch reads directives itself, not the shell: "..." groups words and
 * \" is a literal quote. Backslashes and newlines cannot be written reliably, so they throw.
 */
export function directiveQuote(arg: string): string {
  if (/[\n\r\\]/.test(arg)) throw new SlurmError(`cannot pass ${JSON.stringify(arg)} to sbatch as a directive: it holds a newline or a backslash`);
  return /[\s"'#$`]/.test(arg) ? `"${arg.replace(/"/g, '\\"')}"` : arg;
}

/** Sorted unique indices as a SLURM array spec: [0, 1, 2, 5, 7, 8] -> "0-2,5,7-8". */
export function arrayRanges(indices: readonly number[]): string {
  const xs = [...new Set(indices)].sort((a, b) => a - b);
  if (xs.length === 0 || !xs.every((i) => Number.isInteger(i) && i >= 0)) throw new SlurmError(`array indices must be a non-empty list of integers >= 0, got [${indices.join(', ')}]`);
  const parts: string[] = [];
  for (let k = 0; k < xs.length; ) {
    let j = k;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    parts.push(j === k ? `${xs[k]}` : `${xs[k]}-${xs[j]}`);
    k = j + 1;
  }
  return parts.join(',');
}

/** A SLURM array spec back to indices: "0-2,5", "[4-7:2]", "2-3%1" (throttle ignored). */
export function parseArrayRanges(spec: string): number[] {
  const body = spec.replace(/^\[|\]$/g, '').replace(/%\d+$/, '');
  const out: number[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) throw new SlurmError(`cannot read array task ids "${spec}"`);
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]), step = m[3] === undefined ? 1 : Number(m[3]);
    for (let i = lo; i <= hi; i += step) out.push(i);
  }
  return out;
}

/** The variables a task gets explicitly: PATH and every PIXNERD_* (sorted by name). */
export function propagatedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(env).sort()) {
    const v = env[k];
    if (v !== undefined && (k === 'PATH' || k.startsWith('PIXNERD_'))) out[k] = v;
  }
  return out;
}

// ------------------------------------------------------------------ pure parts: the batch script

export interface SbatchScriptOptions {
  /** sbatch --job-name. */
  jobName: string;
  /** Run indices (expandRuns order) to run; each is the array task id that runs it. */
  indices: readonly number[];
  /** Absolute directory for the task logs, written as <jobid>_<taskid>.log. */
  logDir: string;
  /** Absolute repository root: tasks cd here and run kernel-lib/cli/pixnerd.ts through tsx. */
  projectDir: string;
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of the experiment file. */
  experimentFile: string;
  /** Absolute runs root (on the file system every node shares). */
  runsRoot: string;
  smoke: boolean;
  /** Exported at the top of the script (see propagatedEnv). */
  env: Readonly<Record<string, string>>;
  slurm: SlurmOptions;
}

/**
 * The sbatch script of one sweep submission: directives (array, log path, resources, extra
 * arguments), the exported environment, then `exec node ... --run-index $SLURM_ARRAY_TASK_ID`.
 * Every path is quoted (spaces and quotes work); throws on relative paths, on a log directory
 * with % (a SLURM filename pattern) and on malformed variable names.
 */
export function sbatchScript(o: SbatchScriptOptions): string {
  for (const [name, p] of [['logDir', o.logDir], ['projectDir', o.projectDir], ['node', o.node], ['experimentFile', o.experimentFile], ['runsRoot', o.runsRoot]] as const) {
    if (!isAbsolute(p)) throw new SlurmError(`sbatchScript: ${name} must be an absolute path, got "${p}"`);
    if (/[\n\r]/.test(p)) throw new SlurmError(`sbatchScript: ${name} must not contain a newline: ${JSON.stringify(p)}`);
  }
  if (/[%\\]/.test(o.logDir)) throw new SlurmError(`sbatchScript: the log directory ${JSON.stringify(o.logDir)} contains % or \\, which SLURM reads as a filename pattern: use a runs root without them`);
  for (const k of Object.keys(o.env)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new SlurmError(`sbatchScript: cannot export the variable name ${JSON.stringify(k)}`);
  const s = o.slurm;
  const directives = [
    `--job-name=${o.jobName}`,
    `--array=${arrayRanges(o.indices)}`,
    `--output=${join(o.logDir, '%A_%a.log')}`,
    `--chdir=${o.projectDir}`,
    '--open-mode=append', // a requeued task appends to its log instead of truncating it
    ...(s.partition !== undefined ? [`--partition=${s.partition}`] : []),
    ...(s.time !== undefined ? [`--time=${s.time}`] : []),
    ...(s.cpusPerTask !== undefined ? [`--cpus-per-task=${s.cpusPerTask}`] : []),
    ...(s.gpusPerTask !== undefined ? [`--gpus-per-task=${s.gpusPerTask}`] : []),
    ...(s.sbatchArgs ?? []),
  ];
  const command = [
    shellQuote(o.node), '--import', 'tsx', shellQuote(join(o.projectDir, 'kernel-lib', 'cli', 'pixnerd.ts')),
    'experiment', shellQuote(o.experimentFile), '--run-index', '"$SLURM_ARRAY_TASK_ID"', '--runs-root', shellQuote(o.runsRoot), ...(o.smoke ? ['--smoke'] : []),
  ];
  return [
    '#!/bin/bash',
    ...directives.map((d) => `#SBATCH ${directiveQuote(d)}`),
    '#',
    '# Generated by `pixnerd experiment --executor slurm`: one array task per run of the experiment;',
    '# the array index is the run index (expandRuns order), so task i trains and evaluates run i.',
    'set -euo pipefail',
    ': "${SLURM_ARRAY_TASK_ID:?not set: submit this script with sbatch (it is a job array)}"',
    ...Object.entries(o.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `cd ${shellQuote(o.projectDir)}`,
    'echo "pixnerd: task ${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"',
    `exec ${command.join(' ')}`,
    '',
  ].join('\n');
}

