/**
 * Ablation chart: one metric by variant, a point at the mean and an error bar for the spread
 * over runs (seeds), as a Vega-Lite spec (render with vega.ts).
 *
 *   const spec = ablationChartSpec(rows, { metric: 'FID-10k', spread: 'std' });
 *   await writeFigure(spec, 'figures/e3-coord-encoding');
 */
import type { VegaLiteSpec } from './vega';

/** One run of one variant. */
export interface AblationRun {
  variant: string;
  value: number;
}

/** How far the error bar reaches: standard deviation, standard error of the mean, or min..max. */
export type Spread = 'std' | 'sem' | 'minmax';

export interface AblationSummary {
  variant: string;
  n: number;
  mean: number;
  /** Error-bar ends. */
  lo: number;
  hi: number;
}

/**
 * Mean and spread per variant, in order of first appearance. The standard deviation is the
 * sample one (n - 1); a variant with one run has a zero-width bar.
 */
export function summariseAblation(runs: readonly AblationRun[], spread: Spread = 'std'): AblationSummary[] {
  const byVariant = new Map<string, number[]>();
  for (const { variant, value } of runs) {
    if (!Number.isFinite(value)) throw new Error(`ablation: variant '${variant}' has a non-finite value ${value}`);
    const list = byVariant.get(variant) ?? [];
    list.push(value);
    byVariant.set(variant, list);
  }
  return [...byVariant].map(([variant, vs]) => {
    const n = vs.length;
    const mean = vs.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(vs.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
    switch (spread) {
      case 'std':
        return { variant, n, mean, lo: mean - std, hi: mean + std };
      case 'sem':
        return { variant, n, mean, lo: mean - std / Math.sqrt(n), hi: mean + std / Math.sqrt(n) };
      case 'minmax':
        return { variant, n, mean, lo: Math.min(...vs), hi: Math.max(...vs) };
      default: {
        const never: never = spread;
        throw new Error(`unknown spread ${String(never)}`);
      }
    }
  });
}

export interface AblationChartOptions {
  /** The metric's name, used as the axis title. */
  metric: string;
  title?: string;
  spread?: Spread;
  /** Adds "(lower is better)" or "(higher is better)" to the axis title. */
  better?: 'lower' | 'higher';
  width?: number;
  height?: number;
}

const SPREAD_LABEL: Record<Spread, string> = { std: '± 1 std', sem: '± 1 s.e.m.', minmax: 'min..max' };

/** Vega-Lite spec: variants on x (in input order), mean as a point, spread as an error bar. */
export function ablationChartSpec(runs: readonly AblationRun[], opts: AblationChartOptions): VegaLiteSpec {
  const spread = opts.spread ?? 'std';
  const rows = summariseAblation(runs, spread);
  const better = opts.better ? ` (${opts.better} is better)` : '';
  const x = { field: 'variant', type: 'nominal', sort: rows.map((r) => r.variant), title: null, axis: { labelAngle: 0 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title ?? `${opts.metric} by variant (mean, bar ${SPREAD_LABEL[spread]})`,
    width: opts.width ?? Math.max(200, 60 * rows.length),
    height: opts.height ?? 240,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { zero: false } }, y2: { field: 'hi' } },
      },
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', title: `${opts.metric}${better}` },
          tooltip: [
            { field: 'variant' },
            { field: 'mean', format: '.4g' },
            { field: 'lo', format: '.4g' },
            { field: 'hi', format: '.4g' },
            { field: 'n' },
          ],
        },
      },
    ],
  };
}
