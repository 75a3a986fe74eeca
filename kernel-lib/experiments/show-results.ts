/**
 * An experiment's results under a notebook cell: a heading that says where the numbers come
 * from, the summary table (mean ± std over seeds, arquero), the metrics by variant with error
 * bars and the mean loss curves (Vega-Lite), optionally written to figures/.
 *
 *   for (const l of await loadExperiments(files, { runSmoke: true })) await showExperimentResults(l, { figuresDir: 'figures', prefix: '02-ablations-' });
 */
import { join } from 'node:path';
import { experimentChartSpec, experimentChartTitle, experimentPanels, summaryTable } from './aggregate';
import { experimentLossCurves, type LoadedExperiment } from './load-results';
import type { RunResult } from './run-one';
import { showMarkdown } from '../viz/display';
import { showAblationCharts } from '../viz/ablation-chart';
import { lossPlotSpec, showLossPlot, type Curve } from '../viz/loss-plot';
import { showTable } from '../viz/table';
import { writeFigure, type VegaLiteSpec } from '../viz/vega';

/** The metrics charted by default, in this order: whichever of them every run has. */
export const DEFAULT_CHART_METRICS: ReadonlyArray<keyof RunResult> = ['fid', 'classAccuracy', 'precision', 'recall', 'finalLoss', 'stepMs'];

/** Markdown: the experiment, its question, and where its results come from. */
export function experimentHeading(l: LoadedExperiment): string {
  const e = l.experiment;
  const lines = [`### ${e.id}`, '', e.description ?? '', ''];
  const n = `${l.results.length} of ${l.specs.length} runs`;
  switch (l.source) {
    case 'report':
      lines.push(`Results: the runner's report \`experiments/results/${e.id}/results.jsonl\`, ${n}${l.stale ? ` (${l.stale} from an older version of \`${l.file}\`)` : ''}.`);
      break;
    case 'runs':
      lines.push(`Results: finished runs under \`${l.runsRoot}/${e.id}/\` (not reported yet), ${n}.`);
      break;
    case 'smoke': {
      const s = l.specs[0];
      const recipe = s ? `${s.train.steps} steps of ${s.train.batchSize} images per run, ${s.eval.samples} samples for the metrics` : '';
      lines.push(`**Smoke results** (${recipe}): neither a report nor a finished run of \`${l.file}\` exists, so its smoke recipe ran here (\`${l.runsRoot}/${l.id}/\`), ${n}. They show that the pipeline works, not what the ablation finds: run \`npm run pixnerd -- experiment ${l.file}\` for that.`);
      break;
    }
    case 'none':
      lines.push(`No results yet: \`npm run pixnerd -- experiment ${l.file}\`.`);
      break;
    case 'failed':
      lines.push(`Loading the results failed: ${l.error}`);
      break;
  }
  return lines.join('\n');
}

/** Real results of every run: a report or the runs root, as many results as runs (smoke results never count). */
export function isComplete(l: LoadedExperiment): boolean {
  return (l.source === 'report' || l.source === 'runs') && l.results.length === l.specs.length;
}

export interface ShowExperimentOptions {
  /**
   * Also write `<figuresDir>/<prefix><id>-metrics.{svg,png}` and `...-loss.{svg,png}`: by
   * default only for finished experiments (every run of a report or of the runs root; never for
   * smoke results), so that figures/ holds no numbers that change when the rest finishes.
   */
  figuresDir?: string;
  /** Write the figures of smoke and partial results too (default false). */
  writeIncomplete?: boolean;
  prefix?: string;
  /** Metric keys to chart (default DEFAULT_CHART_METRICS). */
  metrics?: ReadonlyArray<keyof RunResult>;
}

/** The loss chart of curves that have points, else null. */
function lossSpecOf(l: LoadedExperiment, curves: Curve[] | null): VegaLiteSpec | null {
  return curves && curves.some((c) => c.steps.length > 0) ? lossPlotSpec(curves, { title: lossTitle(l), logY: true }) : null;
}

const lossTitle = (l: LoadedExperiment) => `${l.id}: training loss (mean over seeds)`;

/** The two charts of a loaded experiment (null where there is nothing to draw). */
export function experimentFigures(l: LoadedExperiment, opts: Pick<ShowExperimentOptions, 'metrics'> = {}): { metrics: VegaLiteSpec | null; loss: VegaLiteSpec | null } {
  const metrics = experimentChartSpec(l.results, { id: l.id, metrics: opts.metrics ?? DEFAULT_CHART_METRICS });
  return { metrics, loss: lossSpecOf(l, experimentLossCurves(l)) };
}

/**
 * Shows the heading, the summary table and the charts (nothing outside tslab) and writes the
 * charts when `figuresDir` is given; returns the PNG paths written.
 */
export async function showExperimentResults(l: LoadedExperiment, opts: ShowExperimentOptions = {}): Promise<string[]> {
  showMarkdown(experimentHeading(l));
  if (l.results.length === 0) return [];
  showTable(summaryTable(l.results));
  const written: string[] = [];
  // interactive where it helps: hover a run for its variant, seed and value; zoom the loss.
  // The metric grid's spec is experimentChartSpec's; the run directories are read once.
  const panels = experimentPanels(l.results, { metrics: opts.metrics ?? DEFAULT_CHART_METRICS });
  const metrics = await showAblationCharts(panels, { title: experimentChartTitle(l.results, l.id), columns: 3 });
  const curves = experimentLossCurves(l);
  const loss = lossSpecOf(l, curves);
  if (loss && curves) showLossPlot(curves, { title: lossTitle(l), logY: true });
  for (const [name, spec] of [['metrics', metrics], ['loss', loss]] as const) {
    if (spec && opts.figuresDir && (opts.writeIncomplete || isComplete(l))) written.push((await writeFigure(spec, join(opts.figuresDir, `${opts.prefix ?? ''}${l.id}-${name}`))).pngPath);
  }
  return written;
}
