/**
 * `pixnerd experiment experiments/<name>.json [--smoke] [--status] [--report] [--runs-root runs]
 *  [--run-index i] [--executor local|slurm] [--resume] [--wait] [--cancel]`
 *
 * Trains and evaluates every variant x seed (each in runs/<id>/<variant>/seed-<s>), skipping
 * finished runs and resuming interrupted ones, then writes experiments/results/<id>/
 * (results.jsonl, summary.csv, summary.md) and figures/<id>-*.{svg,png}.
 * --status prints each run's state; --report only aggregates; --run-index runs one run (what a
 * cluster task does).
 *
 * --executor slurm submits every run that is not done as one sbatch job array (options
 * --partition, --time, --cpus-per-task, --gpus-per-task, --sbatch-arg ARG (repeatable), over the
 * file's "slurm" key) and returns; --wait polls until the array ends and writes the report;
 * --resume submits only runs that are neither done nor queued; --cancel scancels the sweep's
 * arrays. --status asks the scheduler too once the sweep has been submitted.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { initBackend } from '../backend/backend-ladder';
import { expandRuns, readExperimentFile, type ExperimentFile, type RunSpec } from '../experiments/experiment-config';
import { writeReport } from '../experiments/aggregate';
import { runLocal, runStatuses } from '../experiments/runner';
import { cancelSweep, formatSlurmStatus, readSubmissions, runArrayTask, slurmDir, slurmStatuses, submitSweep, waitForSweep } from '../experiments/slurm-executor';
import { mergeSlurmOptions, parseSlurmOptions, type SlurmOptions } from '../experiments/slurm-options';
import { tableMarkdown } from '../viz/table';

export function resultsDir(specs: readonly RunSpec[], exp: ExperimentFile): string {
  return join('experiments', 'results', specs[0]?.experimentId ?? exp.id);
}

export async function experimentCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      smoke: { type: 'boolean', default: false },
      status: { type: 'boolean', default: false },
      report: { type: 'boolean', default: false },
      'runs-root': { type: 'string', default: 'runs' },
      'run-index': { type: 'string' },
      'results-dir': { type: 'string' },
      'figures-dir': { type: 'string', default: 'figures' },
      quiet: { type: 'boolean', default: false },
      executor: { type: 'string', default: 'local' },
      resume: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      cancel: { type: 'boolean', default: false },
      partition: { type: 'string' },
      time: { type: 'string' },
      'cpus-per-task': { type: 'string' },
      'gpus-per-task': { type: 'string' },
      'sbatch-arg': { type: 'string', multiple: true },
    },
  });
  const executor = values.executor!;
  if (executor !== 'local' && executor !== 'slurm') throw new Error(`--executor ${executor}: must be local or slurm`);
  const cliSlurm = slurmCliOptions(values);
  const slurmFlags = ['partition', 'time', 'cpus-per-task', 'gpus-per-task', 'sbatch-arg'].filter((f) => values[f as keyof typeof values] !== undefined);
  if (executor === 'local' && slurmFlags.length) throw new Error(`--${slurmFlags.join(', --')}: scheduler options need --executor slurm`);
  const file = positionals[0];
  if (!file) throw new Error('experiment needs a file: npm run pixnerd -- experiment experiments/<name>.json');
  const exp = readExperimentFile(file);
  const specs = expandRuns(exp, { smoke: values.smoke });
  const runsRoot = values['runs-root']!;
  const paths = { outDir: values['results-dir'] ?? resultsDir(specs, exp), figuresDir: values['figures-dir']! };

  const submitted = readSubmissions(slurmDir(specs, runsRoot)).length > 0;
  if (values.cancel) {
    const { cancelled, report } = await cancelSweep(specs, runsRoot);
    console.log(cancelled.length ? `scancel: job(s) ${cancelled.join(', ')} of ${specs[0]!.experimentId} cancelled` : `no job of ${specs[0]!.experimentId} is queued or running: nothing to cancel`);
    console.log(formatSlurmStatus(report, tableMarkdown));
    return;
  }
  if (values.status && (submitted || executor === 'slurm')) {
    console.log(formatSlurmStatus(slurmStatuses(specs, runsRoot, { persist: true }), tableMarkdown));
    return;
  }
  if (values.status) {
    const rows = runStatuses(specs, runsRoot);
    console.log(tableMarkdown(rows.map((r) => ({ ...r }))));
    const count = (s: string) => rows.filter((r) => r.state === s).length;
    console.log(`\n${count('done')} done, ${count('running')} running, ${count('interrupted')} interrupted, ${count('failed')} failed, ${count('pending')} pending`);
    return;
  }
  if (values['run-index'] !== undefined) {
    const i = Number(values['run-index']);
    const spec = specs[i];
    if (!spec) throw new Error(`--run-index ${values['run-index']}: the experiment has runs 0..${specs.length - 1}`);
    await initBackend({ quiet: values.quiet });
    await runArrayTask(spec, runsRoot, { quiet: values.quiet });
    return;
  }
  if (executor === 'slurm' && !values.report) {
    const slurm = mergeSlurmOptions(exp.slurm, cliSlurm);
    const sub = submitSweep(specs, { experimentFile: file, runsRoot, smoke: values.smoke === true, slurm, resume: values.resume === true });
    const dir = slurmDir(specs, runsRoot);
    if (sub) console.log(`submitted job ${sub.jobId}: ${sub.indices.length} of ${specs.length} runs of ${specs[0]!.experimentId} (array ${sub.indices.join(',')}); script ${sub.script}, logs ${dir}/${sub.jobId}_<index>.log`);
    else console.log(`nothing to submit: every run of ${specs[0]!.experimentId} is done, queued or running`);
    if (!values.wait) {
      console.log(`watch with --status, cancel with --cancel, report with --report (or submit with --wait)`);
      return;
    }
    const t0 = performance.now();
    const report = await waitForSweep(specs, runsRoot, { onChange: values.quiet ? undefined : (line) => console.log(`[slurm] ${line}`) });
    console.log(`job array finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const { table, results, figures } = await writeReport(exp, specs, runsRoot, paths);
    console.log(`\n${tableMarkdown(table)}\n\n${results.length}/${specs.length} runs in ${paths.outDir}; figures: ${figures.join(', ') || 'none'}`);
    const bad = report.rows.filter((r) => r.state !== 'done');
    if (bad.length) {
      console.log(`\n${formatSlurmStatus(report, tableMarkdown)}`);
      throw new Error(`${bad.length} of ${specs.length} runs did not finish (states above); --resume submits them again`);
    }
    return;
  }
  if (!values.report) {
    await initBackend({ quiet: values.quiet });
    const t0 = performance.now();
    console.log(`experiment ${specs[0]!.experimentId}: ${Object.keys(exp.variants).length} variants x ${exp.seeds.length} seeds = ${specs.length} runs${values.smoke ? ' (smoke)' : ''}`);
    await runLocal(specs, runsRoot, { quiet: values.quiet });
    console.log(`all runs finished in ${((performance.now() - t0) / 60000).toFixed(1)} min`);
  }
  const { table, results, figures } = await writeReport(exp, specs, runsRoot, paths);
  console.log(`\n${tableMarkdown(table)}\n\n${results.length}/${specs.length} runs in ${paths.outDir}; figures: ${figures.join(', ') || 'none'}`);
}

/** The scheduler options given on the command line (validated like the file's "slurm" key). */
function slurmCliOptions(v: { partition?: string; time?: string; 'cpus-per-task'?: string; 'gpus-per-task'?: string; 'sbatch-arg'?: string[] }): SlurmOptions {
  const int = (flag: string, s: string | undefined) => {
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s)) throw new Error(`--${flag} ${s}: must be a non-negative integer`);
    return Number(s);
  };
  const raw = { partition: v.partition, time: v.time, cpusPerTask: int('cpus-per-task', v['cpus-per-task']), gpusPerTask: int('gpus-per-task', v['gpus-per-task']), sbatchArgs: v['sbatch-arg'] };
  return parseSlurmOptions(Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined)), 'command line');
}
