/**
 * Aggregation of an experiment's runs: results.jsonl (one line per finished run, rebuilt from
 * the run directories so a run is never counted twice or lost), a summary table per variant
 * (mean and standard deviation over seeds, arquero) as CSV and Markdown, and Vega-Lite charts
 * (each metric by variant with error bars; loss curves by variant) as SVG and PNG.
 */
import type * as aq from 'arquero';
import { loadArquero } from '../util/heavy-modules';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readMetrics } from '../runs/run-dir';
import { writeFileAtomic } from '../util/atomic-write';
import { ablationChartSpec, ablationGridSpec, type AblationPanel } from '../viz/ablation-chart';
import { lossPlotSpec, type Curve } from '../viz/loss-plot';
import { tableCsv, tableMarkdown, type Table } from '../viz/table';
import { writeFigure, type VegaLiteSpec } from '../viz/vega';
import type { ExperimentFile, RunSpec } from './experiment-config';
import { readResult, type RunResult } from './run-one';

/** Metrics summarised per variant, with the direction that is better. */
export const SUMMARY_METRICS: ReadonlyArray<{ key: keyof RunResult; label: string; better: 'lower' | 'higher' }> = [
  { key: 'fid', label: 'FID', better: 'lower' },
  { key: 'kid', label: 'KID', better: 'lower' },
  { key: 'precision', label: 'precision', better: 'higher' },
  { key: 'recall', label: 'recall', better: 'higher' },
  { key: 'classAccuracy', label: 'class accuracy', better: 'higher' },
  { key: 'speckle', label: 'speckle (per 1,000 px)', better: 'lower' },
  { key: 'strayMarks', label: 'images with stray marks', better: 'lower' },
  { key: 'finalLoss', label: 'final loss', better: 'lower' },
  { key: 'finalFmLoss', label: 'final FM loss', better: 'lower' },
  { key: 'finalRepaLoss', label: 'final REPA loss', better: 'lower' },
  { key: 'stepMs', label: 'ms / step', better: 'lower' },
];

/** The finished runs' results, in spec order (each run at most once). */
export function collectResults(specs: readonly RunSpec[], runsRoot: string): RunResult[] {
  return specs.map((s) => readResult(join(runsRoot, s.dir), s.hash)).filter((r): r is RunResult => r !== null);
}

const numeric = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Mean and sample std over seeds per variant (variants in first-appearance order). */
export function summaryRows(results: readonly RunResult[]): Record<string, number | string>[] {
  const variants = [...new Set(results.map((r) => r.variant))];
  return variants.map((variant) => {
    const rs = results.filter((r) => r.variant === variant);
    const row: Record<string, number | string> = { variant, n: rs.length, parameters: rs[0]!.parameters };
    for (const { key } of SUMMARY_METRICS) {
      const vs = rs.map((r) => r[key]).filter(numeric);
      if (vs.length === 0) continue;
      const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
      const std = vs.length > 1 ? Math.sqrt(vs.reduce((a, v) => a + (v - mean) ** 2, 0) / (vs.length - 1)) : 0;
      row[`${String(key)}_mean`] = mean;
      row[`${String(key)}_std`] = std;
    }
    return row;
  });
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(4).replace(/\.?0+$/, '');
}

/**
 * "mean ± std" with the std to 2 significant digits and the mean to the same decimal place
 * (159.4 ± 0.77, 0.305 ± 0.0071); exponent form for tiny or huge values, fmt() when std is 0 or missing.
 */
export function fmtMeanStd(mean: number, std: number): string {
  if (!Number.isFinite(std) || std === 0) return `${fmt(mean)} ± 0`;
  const a = Math.max(Math.abs(mean), std);
  if (a < 1e-3 || a >= 1e5) return `${mean.toExponential(2)} ± ${std.toExponential(1)}`;
  const decimals = Math.min(8, Math.max(0, 1 - Math.floor(Math.log10(std))));
  return `${mean.toFixed(decimals)} ± ${std.toFixed(decimals)}`;
}

/** Human-readable table: one column per metric as "mean ± std". */
export function summaryTable(results: readonly RunResult[]): Table {
  const rows = summaryRows(results).map((r) => {
    const out: Record<string, string | number> = { variant: r.variant!, seeds: r.n!, params: r.parameters! };
    for (const { key, label } of SUMMARY_METRICS) {
      const m = r[`${String(key)}_mean`];
      if (typeof m === 'number') out[label] = fmtMeanStd(m, r[`${String(key)}_std`] as number);
    }
    return out;
  });
  return loadArquero().from(rows);
}

/** Mean loss curve (total) per variant over its seeds, on the steps all seeds logged. */
export function lossCurvesByVariant(specs: readonly RunSpec[], runsRoot: string): Curve[] {
  const variants = [...new Set(specs.map((s) => s.variant))];
  return variants.map((variant) => {
    // seeds without a loss log (a run restored from the report) are left out of the mean
    const perSeed = specs
      .filter((s) => s.variant === variant)
      .map((s) => new Map(readMetrics(join(runsRoot, s.dir)).map((m) => [m.step!, m.total!] as const)))
      .filter((m) => m.size > 0);
    const steps = [...(perSeed[0]?.keys() ?? [])].filter((st) => perSeed.every((m) => m.has(st))).sort((a, b) => a - b);
    return { name: variant, steps, values: steps.map((st) => perSeed.reduce((a, m) => a + m.get(st)!, 0) / perSeed.length) };
  });
}

/** Metrics every one of the results has (a metric missing in one run is left out), in SUMMARY_METRICS order. */
export function commonMetrics(results: readonly RunResult[]): typeof SUMMARY_METRICS[number][] {
  if (results.length === 0) return [];
  return SUMMARY_METRICS.filter(({ key }) => results.every((r) => numeric(r[key])));
}

/** File-name part of a metric key: classAccuracy -> class-accuracy. */
export const metricSlug = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * One chart per metric that every result has: the metric by variant, mean over seeds with a
 * ± 1 std error bar (ablationChartSpec). `metrics` picks and orders metric keys (default all).
 */
export function metricChartSpecs(
  results: readonly RunResult[],
  opts: { id?: string; metrics?: ReadonlyArray<keyof RunResult> } = {},
): Array<{ key: keyof RunResult; label: string; spec: VegaLiteSpec }> {
  const id = opts.id ?? results[0]?.experimentId ?? 'experiment';
  const have = commonMetrics(results);
  const chosen = opts.metrics ? opts.metrics.flatMap((k) => have.filter((m) => m.key === k)) : have;
  return chosen.map(({ key, label, better }) => ({
    key,
    label,
    spec: ablationChartSpec(
      results.map((r) => ({ variant: r.variant, value: r[key] as number })),
      { metric: label, better, title: `${id}: ${label}` },
    ),
  }));
}

/**
 * One panel per metric that every result has (`metrics` picks and orders keys, default all):
 * each run's value with its variant, run (variant/seed-s) and seed, for the ablation charts.
 */
export function experimentPanels(results: readonly RunResult[], opts: { metrics?: ReadonlyArray<keyof RunResult> } = {}): AblationPanel[] {
  const have = commonMetrics(results);
  const chosen = opts.metrics ? opts.metrics.flatMap((k) => have.filter((m) => m.key === k)) : have;
  return chosen.map(({ key, label, better }) => ({
    metric: label,
    better,
    runs: results.map((r) => ({ variant: r.variant, value: r[key] as number, run: `${r.variant}/seed-${r.seed}`, seed: r.seed })),
  }));
}

/** The default title of an experiment's metric grid. */
export const experimentChartTitle = (results: readonly RunResult[], id?: string): string =>
  `${id ?? results[0]?.experimentId ?? 'experiment'}: mean over seeds, bar ± 1 std`;

/**
 * Several metric charts of one experiment in one figure (ablationGridSpec, `columns` charts a
 * row, default 3), or null when there is nothing to draw.
 */
export function experimentChartSpec(
  results: readonly RunResult[],
  opts: { id?: string; title?: string; metrics?: ReadonlyArray<keyof RunResult>; columns?: number } = {},
): VegaLiteSpec | null {
  return ablationGridSpec(experimentPanels(results, opts), { title: opts.title ?? experimentChartTitle(results, opts.id), columns: opts.columns ?? 3 });
}

export interface ReportPaths {
  /** Where results.jsonl, summary.csv and summary.md go (e.g. experiments/results/<id>). */
  outDir: string;
  /** Where charts go (figures/). */
  figuresDir: string;
}

/** Writes results.jsonl, summary.csv, summary.md and the charts; returns the summary table. */
export async function writeReport(exp: ExperimentFile, specs: readonly RunSpec[], runsRoot: string, paths: ReportPaths): Promise<{ table: Table; results: RunResult[]; figures: string[] }> {
  const results = collectResults(specs, runsRoot);
  mkdirSync(paths.outDir, { recursive: true });
  writeFileAtomic(join(paths.outDir, 'results.jsonl'), results.map((r) => JSON.stringify(r)).join('\n') + (results.length ? '\n' : ''));
  const table = summaryTable(results);
  writeFileAtomic(join(paths.outDir, 'summary.csv'), tableCsv(loadArquero().from(summaryRows(results))));
  const id = specs[0]?.experimentId ?? exp.id;
  const header = `# ${id}\n\n${exp.description ?? ''}\n\n${results.length} of ${specs.length} runs finished; mean ± sample std over seeds ${exp.seeds.join(', ')}.\n\n`;
  writeFileAtomic(join(paths.outDir, 'summary.md'), header + tableMarkdown(table) + '\n');
  const figures: string[] = [];
  if (results.length > 0) {
    for (const { key, spec } of metricChartSpecs(results, { id })) {
      const { pngPath } = await writeFigure(spec, join(paths.figuresDir, `${id}-${metricSlug(String(key))}`));
      figures.push(pngPath);
    }
    const curves = lossCurvesByVariant(specs.filter((s) => results.some((r) => r.variant === s.variant && r.seed === s.seed)), runsRoot);
    const { pngPath } = await writeFigure(lossPlotSpec(curves, { title: `${id}: training loss (mean over seeds)`, logY: true }), join(paths.figuresDir, `${id}-loss`));
    figures.push(pngPath);
  }
  return { table, results, figures };
}
