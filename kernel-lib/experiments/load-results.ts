/**
 * An experiment's results for a notebook, from wherever they are:
 *
 * 1. the report the runner wrote, `experiments/results/<id>/results.jsonl` (committed with the
 *    repository once an experiment has run);
 * 2. else the finished runs under the runs root (`runs/<id>/<variant>/seed-<s>/result.json`:
 *    an experiment that ran here but was not reported, or is still running);
 * 3. else, with `runSmoke`, the file's smoke recipe run now (what `pixnerd experiment FILE
 *    --smoke` does, `runs/<id>-smoke/...`), so that the notebook always has a table and charts,
 *    marked as smoke results.
 *
 *   const loaded = await loadExperimentResults('experiments/ablation-head.json', { runSmoke: true });
 *   showTable(summaryTable(loaded.results));
 *   await showVegaLite(experimentChartSpec(loaded.results)!);
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectResults, commonMetrics, lossCurvesByVariant, summaryRows } from './aggregate';
import type { Curve } from '../viz/loss-plot';
import { expandRuns, readExperimentFile, type ExperimentFile, type RunSpec, type SmokeConfig } from './experiment-config';
import type { RunResult } from './run-one';
import { runLocal } from './runner';

/** Where the results came from (see the file comment); `none`: nothing found and no smoke run asked for; `failed`: loading or the smoke run threw. */
export type ResultsSource = 'report' | 'runs' | 'smoke' | 'none' | 'failed';

export interface LoadedExperiment {
  /** The experiment file. */
  file: string;
  experiment: ExperimentFile;
  /** The id the results carry: the experiment's id, or `<id>-smoke`. */
  id: string;
  source: ResultsSource;
  /** The run specs the results belong to (the smoke ones for source 'smoke'). */
  specs: RunSpec[];
  /** Finished runs, in spec order for runs and smoke, in file order for a report. */
  results: RunResult[];
  /** Runs root holding the run directories (loss curves), or null when only a report exists. */
  runsRoot: string | null;
  /** Results of a report whose config hash no longer matches the experiment file (it changed since). */
  stale: number;
  /** The error message when source is 'failed'. */
  error?: string;
  /** Time spent, smoke runs included (s). */
  seconds: number;
}

export interface LoadResultsOptions {
  /** Folder of the runner's reports (default experiments/results). */
  resultsRoot?: string;
  /** Runs root of full runs (default runs). */
  runsRoot?: string;
  /** With neither a report nor a finished run: run the smoke recipe (default false). */
  runSmoke?: boolean;
  /** Runs root for smoke runs (default runsRoot; a temp folder keeps runs/ untouched). */
  smokeRunsRoot?: string;
  /**
   * Overrides of the file's smoke recipe, e.g. `{samples: 0}` to skip sampling and metrics.
   * Smoke runs of another recipe already in smokeRunsRoot make it fail (their config hash
   * differs), so use a separate smokeRunsRoot with overrides.
   */
  smoke?: Partial<SmokeConfig>;
  /** No per-run progress lines. */
  quiet?: boolean;
}

/** The runs of a results.jsonl (one JSON object per line; empty lines skipped). */
export function readResultsJsonl(path: string): RunResult[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as RunResult;
      } catch (e) {
        throw new Error(`${path}:${i + 1}: ${(e as Error).message}`);
      }
    });
}

/** Whether any of the specs has a run directory under runsRoot. */
function hasRunDirs(specs: readonly RunSpec[], runsRoot: string): boolean {
  return specs.some((s) => existsSync(join(runsRoot, s.dir)));
}

/** An experiment's results: the report, else finished runs, else (runSmoke) its smoke recipe run now. Never throws for a readable experiment file: errors give source 'failed'. */
export async function loadExperimentResults(file: string, opts: LoadResultsOptions = {}): Promise<LoadedExperiment> {
  const t0 = performance.now();
  const resultsRoot = opts.resultsRoot ?? join('experiments', 'results');
  const runsRoot = opts.runsRoot ?? 'runs';
  const experiment = readExperimentFile(file);
  const specs = expandRuns(experiment);
  const base = { file, experiment, id: experiment.id, specs, stale: 0 };
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  try {
    const report = join(resultsRoot, experiment.id, 'results.jsonl');
    const reported = existsSync(report) ? readResultsJsonl(report) : [];
    if (reported.length > 0) {
      const hashes = new Set(specs.map((s) => s.hash));
      return {
        ...base,
        source: 'report',
        results: reported,
        runsRoot: hasRunDirs(specs, runsRoot) ? runsRoot : null,
        stale: reported.filter((r) => !hashes.has(r.hash)).length,
        seconds: seconds(),
      };
    }
    const finished = collectResults(specs, runsRoot);
    if (finished.length > 0) return { ...base, source: 'runs', results: finished, runsRoot, seconds: seconds() };
    if (!opts.runSmoke) return { ...base, source: 'none', results: [], runsRoot: null, seconds: seconds() };
    const smokeExperiment: ExperimentFile = { ...experiment, smoke: { ...(experiment.smoke ?? { steps: 3, batchSize: 8, samples: 16, sampleSteps: 3 }), ...opts.smoke } };
    const smokeSpecs = expandRuns(smokeExperiment, { smoke: true });
    const smokeRoot = opts.smokeRunsRoot ?? runsRoot;
    const results = await runLocal(smokeSpecs, smokeRoot, { quiet: opts.quiet, label: smokeSpecs[0]!.experimentId });
    return { ...base, id: smokeSpecs[0]!.experimentId, source: 'smoke', specs: smokeSpecs, results, runsRoot: smokeRoot, seconds: seconds() };
  } catch (e) {
    return { ...base, source: 'failed', results: [], runsRoot: null, error: (e as Error).message, seconds: seconds() };
  }
}

/** Loads several experiment files one after the other (see loadExperimentResults). */
export async function loadExperiments(files: readonly string[], opts: LoadResultsOptions & { onLoaded?: (e: LoadedExperiment) => void } = {}): Promise<LoadedExperiment[]> {
  const out: LoadedExperiment[] = [];
  for (const file of files) {
    const loaded = await loadExperimentResults(file, opts);
    opts.onLoaded?.(loaded);
    out.push(loaded);
  }
  return out;
}

/** Mean training-loss curve per variant over the finished runs' seeds, or null when the run directories are not here (a report only). */
export function experimentLossCurves(l: LoadedExperiment): Curve[] | null {
  const root = l.runsRoot;
  if (!root) return null;
  const done = l.specs.filter((s) => l.results.some((r) => r.variant === s.variant && r.seed === s.seed) && existsSync(join(root, s.dir)));
  return done.length > 0 ? lossCurvesByVariant(done, root) : null;
}

/**
 * One row per experiment: where its results come from, how many runs finished, and the best
 * variant by FID when every run has it, else by final loss (both lower is better).
 */
export function experimentOverview(loaded: readonly LoadedExperiment[]): Array<Record<string, string | number>> {
  return loaded.map((l) => {
    const rows = summaryRows(l.results);
    const metric = commonMetrics(l.results).find((m) => m.key === 'fid') ?? commonMetrics(l.results).find((m) => m.key === 'finalLoss');
    let best = '';
    if (metric && rows.length > 0) {
      const key = `${String(metric.key)}_mean`;
      const top = rows.reduce((a, b) => ((b[key] as number) < (a[key] as number) ? b : a));
      best = `${top.variant} (${metric.label} ${(top[key] as number).toPrecision(4)})`;
    }
    return {
      experiment: l.experiment.id,
      results: l.source === 'failed' ? `failed: ${l.error}` : l.source,
      runs: `${l.results.length} / ${l.specs.length}`,
      variants: Object.keys(l.experiment.variants).join(', '),
      seeds: l.experiment.seeds.length,
      'steps per run': l.specs[0]?.train.steps ?? 0,
      best,
    };
  });
}
