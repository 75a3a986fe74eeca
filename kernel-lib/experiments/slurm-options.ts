/**
 * Scheduler options of the SLURM executor: the optional `"slurm": {...}` key of an experiment
 * file, overridden field by field by the command line (`--partition`, `--time`,
 * `--cpus-per-task`, `--gpus-per-task`, `--sbatch-arg`).
 *
 *   "slurm": {"partition": "gpu", "time": "0-02:00:00", "cpusPerTask": 4, "gpusPerTask": 1,
 *             "sbatchArgs": ["--mem=16G", "--account=vision"]}
 *
 * Every field is optional; what is not given is left to the cluster's defaults.
 */
import { ConfigError } from '../util/errors';

export interface SlurmOptions {
  /** Partition (or comma-separated partitions) to submit to. */
  partition?: string;
  /** Per-task time limit in a SLURM format: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, UNLIMITED. */
  time?: string;
  cpusPerTask?: number;
  gpusPerTask?: number;
  /** Further sbatch options, each one argument as on sbatch's command line (e.g. "--mem=16G"). */
  sbatchArgs?: string[];
}

const FIELDS = ['partition', 'time', 'cpusPerTask', 'gpusPerTask', 'sbatchArgs', '$comment'];
const PARTITION = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/;

/** Validates a `slurm` object; throws ConfigError naming the field. */
export function parseSlurmOptions(json: unknown, field = 'slurm'): SlurmOptions {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(field, json, 'must be an object of scheduler options');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.includes(k)) throw new ConfigError(`${field}.${k}`, o[k], `unknown field (allowed: ${FIELDS.join(', ')})`);
  const out: SlurmOptions = {};
  if (o.partition !== undefined) {
    if (typeof o.partition !== 'string' || !PARTITION.test(o.partition)) throw new ConfigError(`${field}.partition`, o.partition, 'must be a partition name (letters, digits, _ . -; several separated by commas)');
    out.partition = o.partition;
  }
  if (o.time !== undefined) {
    if (typeof o.time !== 'string' || !TIME.test(o.time)) throw new ConfigError(`${field}.time`, o.time, 'must be a SLURM time limit: minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED');
    out.time = o.time;
  }
  if (o.cpusPerTask !== undefined) {
    if (!Number.isInteger(o.cpusPerTask) || (o.cpusPerTask as number) < 1) throw new ConfigError(`${field}.cpusPerTask`, o.cpusPerTask, 'must be an integer >= 1');
    out.cpusPerTask = o.cpusPerTask as number;
  }
  if (o.gpusPerTask !== undefined) {
    if (!Number.isInteger(o.gpusPerTask) || (o.gpusPerTask as number) < 0) throw new ConfigError(`${field}.gpusPerTask`, o.gpusPerTask, 'must be an integer >= 0');
    out.gpusPerTask = o.gpusPerTask as number;
  }
  if (o.sbatchArgs !== undefined) {
    const a = o.sbatchArgs;
    if (!Array.isArray(a) || !a.every((s) => typeof s === 'string' && s.startsWith('-') && !/[\n\r\\]/.test(s))) {
      throw new ConfigError(`${field}.sbatchArgs`, a, 'must be a list of sbatch options, each one argument starting with - (no newlines or backslashes), e.g. ["--mem=16G"]');
    }
    out.sbatchArgs = a as string[];
  }
  return out;
}

/** The command line's options over the file's: scalars replace, sbatch arguments append. */
export function mergeSlurmOptions(file: SlurmOptions | undefined, cli: SlurmOptions): SlurmOptions {
  const out: SlurmOptions = { ...(file ?? {}) };
  for (const k of ['partition', 'time', 'cpusPerTask', 'gpusPerTask'] as const) if (cli[k] !== undefined) (out as Record<string, unknown>)[k] = cli[k];
  const args = [...(file?.sbatchArgs ?? []), ...(cli.sbatchArgs ?? [])];
  if (args.length) out.sbatchArgs = args;
  return out;
}
