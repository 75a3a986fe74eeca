/**
 * `experiment` (an ablation grid: train + evaluate every variant x seed, locally or as a SLURM
 * job array, then report) and `sampler-sweep` (samplers x steps and a CFG x interval grid on one
 * run). The logic lives in kernel-lib/experiments/; this file parses options and prints.
 */
import { basename, join } from 'node:path';
import { Command, Option } from 'commander';
import { initBackend } from '../backend/backend-ladder';
import { expandRuns, readExperimentFile, type ExperimentFile, type RunSpec } from '../experiments/experiment-config';
import { writeReport } from '../experiments/aggregate';
import { RUN_ORDERS, runLocal, runStatuses, type RunOrder } from '../experiments/runner';
import { cancelSweep, formatSlurmStatus, readSubmissions, runArrayTask, slurmDir, slurmStatuses, submitSweep, waitForSweep } from '../experiments/slurm-executor';
import { mergeSlurmOptions, parseSlurmOptions, type SlurmOptions } from '../experiments/slurm-options';
import { samplerSweep, SAMPLER_SWEEP_DEFAULTS } from '../experiments/sampler-sweep';
import { tableMarkdown } from '../viz/table';
import { collect, int, numList, positiveIntList } from './options';
import { reportUnlock } from './train-command';
import { restoreReportedResults } from '../experiments/restore-results';

export function resultsDir(specs: readonly RunSpec[], exp: ExperimentFile): string {
  return join('experiments', 'results', specs[0]?.experimentId ?? exp.id);
}

interface ExperimentOptions {
  smoke: boolean;
  status: boolean;
  report: boolean;
  runsRoot: string;
  runIndex?: number;
  resultsDir?: string;
  figuresDir: string;
  quiet: boolean;
  order: RunOrder;
  executor: 'local' | 'slurm';
  resume: boolean;
  wait: boolean;
  cancel: boolean;
  forceUnlock: boolean;
  lockWait: number;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  gpusPerTask?: number;
  sbatchArg?: string[];
}

export function registerExperimentCommands(program: Command): void {
  program
    .command('experiment')
    .description('train and evaluate every variant x seed of an experiment file, then write the report (skips finished runs, resumes interrupted ones)')
    .argument('<file>', 'experiments/<name>.json')
    .option('--smoke', 'shrink every budget (about a minute)', false)
    .option('--status', "print each run's state (and the scheduler's, once submitted)", false)
    .option('--report', 'only aggregate what has finished', false)
    .option('--runs-root <dir>', 'where run directories live', 'runs')
    .option('--run-index <i>', 'run only run i (what a cluster array task does)', int(0))
    .option('--results-dir <dir>', 'report folder (default: experiments/results/<id>)')
    .option('--figures-dir <dir>', 'figure folder', 'figures')
    .option('--quiet', 'no progress display', false)
    .addOption(new Option('--order <order>', "local executor: 'variants' (every seed of a variant, then the next) or 'seeds' (every variant of a seed, then the next seed)").choices(RUN_ORDERS).default('variants'))
    .addOption(new Option('--executor <kind>', 'where runs execute').choices(['local', 'slurm']).default('local'))
    .option('--resume', 'slurm: submit only runs neither done nor queued/running', false)
    .option('--wait', 'slurm: wait for the array to finish, then report', false)
    .option('--cancel', "slurm: scancel the sweep's job arrays", false)
    .option('--force-unlock', "with --run-index: remove that run's lock first", false)
    .option('--lock-wait <s>', 'seconds a run waits for a lock held by another process (a requeued task whose predecessor lingers)', int(0), 0)
    .option('--partition <name>', 'slurm partition')
    .option('--time <limit>', 'slurm time limit, e.g. 0-04:00:00')
    .option('--cpus-per-task <n>', 'slurm CPUs per task', int(0))
    .option('--gpus-per-task <n>', 'slurm GPUs per task', int(0))
    .option('--sbatch-arg <arg>', 'extra sbatch argument (repeatable; write --sbatch-arg=--mem=32G)', collect)
    .addHelpText('after', '\nExamples:\n  npm run pixnerd -- experiment experiments/ablation-head.json --smoke\n  npm run pixnerd -- experiment experiments/ablation-head.json --executor slurm --partition gpu --wait')
    .action(experimentAction);

  program
    .command('sampler-sweep')
    .description('Euler/Heun/Adams-2/3 by steps and a CFG x interval grid on one run, with FID (resumable)')
    .requiredOption('--run <dir>', 'run directory')
    .option('--out <dir>', 'results folder', 'experiments/results/sampler-sweep')
    .option('--samples <n>', 'samples per point', int(1), SAMPLER_SWEEP_DEFAULTS.samples)
    .option('--steps <list>', 'step counts', positiveIntList, SAMPLER_SWEEP_DEFAULTS.steps)
    .option('--seed <s>', 'noise seed', int(0), SAMPLER_SWEEP_DEFAULTS.seed)
    .option('--cfg-scales <list>', 'CFG scales of the grid', numList, SAMPLER_SWEEP_DEFAULTS.cfgScales)
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- sampler-sweep --run runs/ablation-head/nerf-p8/seed-0 --samples 500 --steps 5,10,20')
    .action(async (o: { run: string; out: string; samples: number; steps: number[]; seed: number; cfgScales: number[] }) => {
      await initBackend();
      const t0 = performance.now();
      const points = await samplerSweep({ ...SAMPLER_SWEEP_DEFAULTS, runDir: o.run, out: o.out, figures: `figures/${basename(o.out)}`, samples: o.samples, steps: o.steps, seed: o.seed, cfgScales: o.cfgScales });
      console.log(`${points.length} points in ${((performance.now() - t0) / 60000).toFixed(1)} min; ${o.out}/summary.md, figures/${basename(o.out)}-{steps,cfg}.{svg,png}`);
    });
}

async function experimentAction(file: string, o: ExperimentOptions): Promise<void> {
  const cliSlurm = slurmCliOptions(o);
  const slurmFlags = (['partition', 'time', 'cpus-per-task', 'gpus-per-task', 'sbatch-arg'] as const).filter((f) => cliSlurm[SLURM_FLAG_KEYS[f]] !== undefined);
  if (o.executor === 'local' && slurmFlags.length) throw new Error(`--${slurmFlags.join(', --')}: scheduler options need --executor slurm`);
  const exp = readExperimentFile(file);
  const specs = expandRuns(exp, { smoke: o.smoke });
  const runsRoot = o.runsRoot;
  const paths = { outDir: o.resultsDir ?? resultsDir(specs, exp), figuresDir: o.figuresDir };

  const submitted = readSubmissions(slurmDir(specs, runsRoot)).length > 0;
  if (o.cancel) {
    const { cancelled, report } = await cancelSweep(specs, runsRoot);
    console.log(cancelled.length ? `scancel: job(s) ${cancelled.join(', ')} of ${specs[0]!.experimentId} cancelled` : `no job of ${specs[0]!.experimentId} is queued or running: nothing to cancel`);
    console.log(formatSlurmStatus(report, tableMarkdown));
    return;
  }
  if (o.status && (submitted || o.executor === 'slurm')) {
    console.log(formatSlurmStatus(slurmStatuses(specs, runsRoot, { persist: true }), tableMarkdown));
    return;
  }
  const restored = o.smoke ? [] : restoreReportedResults(specs, runsRoot, paths.outDir);
  if (restored.length && !o.quiet) console.log(`${restored.length} finished run(s) restored from ${join(paths.outDir, 'results.jsonl')} (their run directories were not here)`);
  if (o.status) {
    const rows = runStatuses(specs, runsRoot);
    console.log(tableMarkdown(rows.map((r) => ({ ...r }))));
    const count = (s: string) => rows.filter((r) => r.state === s).length;
    console.log(`\n${count('done')} done, ${count('running')} running, ${count('interrupted')} interrupted, ${count('failed')} failed, ${count('pending')} pending`);
    return;
  }
  if (o.runIndex !== undefined) {
    const spec = specs[o.runIndex];
    if (!spec) throw new Error(`--run-index ${o.runIndex}: the experiment has runs 0..${specs.length - 1}`);
    if (o.forceUnlock) reportUnlock(join(runsRoot, spec.dir));
    await initBackend({ quiet: o.quiet });
    await runArrayTask(spec, runsRoot, { quiet: o.quiet, lockWaitMs: o.lockWait * 1000 });
    return;
  }
  if (o.executor === 'slurm' && !o.report) {
    const slurm = mergeSlurmOptions(exp.slurm, cliSlurm);
    const sub = submitSweep(specs, { experimentFile: file, runsRoot, smoke: o.smoke, slurm, resume: o.resume });
    const dir = slurmDir(specs, runsRoot);
    if (sub) console.log(`submitted job ${sub.jobId}: ${sub.indices.length} of ${specs.length} runs of ${specs[0]!.experimentId} (array ${sub.indices.join(',')}); script ${sub.script}, logs ${dir}/${sub.jobId}_<index>.log`);
    else console.log(`nothing to submit: every run of ${specs[0]!.experimentId} is done, queued or running`);
    if (!o.wait) {
      console.log(`watch with --status, cancel with --cancel, report with --report (or submit with --wait)`);
      return;
    }
    const t0 = performance.now();
    const report = await waitForSweep(specs, runsRoot, { onChange: o.quiet ? undefined : (line) => console.log(`[slurm] ${line}`) });
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
  if (!o.report) {
    await initBackend({ quiet: o.quiet });
    const t0 = performance.now();
    console.log(`experiment ${specs[0]!.experimentId}: ${Object.keys(exp.variants).length} variants x ${exp.seeds.length} seeds = ${specs.length} runs${o.smoke ? ' (smoke)' : ''}`);
    await runLocal(specs, runsRoot, { quiet: o.quiet, order: o.order });
    console.log(`all runs finished in ${((performance.now() - t0) / 60000).toFixed(1)} min`);
  }
  const { table, results, figures } = await writeReport(exp, specs, runsRoot, paths);
  console.log(`\n${tableMarkdown(table)}\n\n${results.length}/${specs.length} runs in ${paths.outDir}; figures: ${figures.join(', ') || 'none'}`);
}

const SLURM_FLAG_KEYS = { partition: 'partition', time: 'time', 'cpus-per-task': 'cpusPerTask', 'gpus-per-task': 'gpusPerTask', 'sbatch-arg': 'sbatchArgs' } as const;

/** The scheduler options given on the command line (validated like the file's "slurm" key), keyed by flag. */
function slurmCliOptions(o: ExperimentOptions): SlurmOptions {
  const raw = { partition: o.partition, time: o.time, cpusPerTask: o.cpusPerTask, gpusPerTask: o.gpusPerTask, sbatchArgs: o.sbatchArg };
  return parseSlurmOptions(Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined)), 'command line');
}

