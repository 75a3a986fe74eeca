/**
 * `pixnerd experiment experiments/<name>.json [--smoke] [--status] [--report] [--runs-root runs]
 *  [--run-index i]`
 *
 * Trains and evaluates every variant x seed (each in runs/<id>/<variant>/seed-<s>), skipping
 * finished runs and resuming interrupted ones, then writes experiments/results/<id>/
 * (results.jsonl, summary.csv, summary.md) and figures/<id>-*.{svg,png}.
 * --status prints each run's state; --report only aggregates; --run-index runs one run (what a
 * cluster task does).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { initBackend } from '../backend/backend-ladder';
import { expandRuns, readExperimentFile, type ExperimentFile, type RunSpec } from '../experiments/experiment-config';
import { writeReport } from '../experiments/aggregate';
import { runLocal, runStatuses } from '../experiments/runner';
import { runOne } from '../experiments/run-one';
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
    },
  });
  const file = positionals[0];
  if (!file) throw new Error('experiment needs a file: npm run pixnerd -- experiment experiments/<name>.json');
  const exp = readExperimentFile(file);
  const specs = expandRuns(exp, { smoke: values.smoke });
  const runsRoot = values['runs-root']!;
  const paths = { outDir: values['results-dir'] ?? resultsDir(specs, exp), figuresDir: values['figures-dir']! };

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
    await runOne(spec, runsRoot, { quiet: values.quiet });
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
