/**
 * Ablation chart: one metric by variant, a point at the mean and an error bar for the spread
 * over runs (seeds), as a Vega-Lite spec (render with vega.ts); several metrics as a grid; and
 * the same grid as an interactive plotly chart whose points say run, seed and value on hover.
 *
 *   const spec = ablationChartSpec(rows, { metric: 'FID-10k', spread: 'std' });
 *   await writeFigure(spec, 'figures/e3-coord-encoding');
 *   await showAblationCharts([{ metric: 'FID', better: 'lower', runs }], { title: 'e3' });
 */
import { compactChart, showChart } from './chart';
import { PLOTLY_BASE_LAYOUT, plotlyAxis, plotlyTitle, type PlotlyFigure } from './plotly';
import { formatAxisTick, SERIES_COLORS } from './svg-chart';
import { inTslab } from './display';
import { vegaLiteToSvg, type VegaLiteSpec } from './vega';

/** One run of one variant (run and seed, where given, show on hover in the interactive chart). */
export interface AblationRun {
  variant: string;
  value: number;
  /** The run's id (e.g. its directory or config hash). */
  run?: string;
  seed?: number;
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

export const SPREAD_LABEL: Record<Spread, string> = { std: '± 1 std', sem: '± 1 s.e.m.', minmax: 'min..max' };

/** Width per variant in the default chart width (px); the chart is at least 200 px wide. */
const BAND = 50;
/** Vega's axis labels: 10 px DejaVu Sans, about 6 px a character. */
const labelWidth = (s: string): number => 6 * s.length;

/**
 * Vega-Lite spec: variants on x (in input order), mean as a point, spread as an error bar; the
 * y scale fits the bars (no forced zero). Labels too long for their band are slanted.
 */
export function ablationChartSpec(runs: readonly AblationRun[], opts: AblationChartOptions): VegaLiteSpec {
  const spread = opts.spread ?? 'std';
  const rows = summariseAblation(runs, spread);
  const better = opts.better ? ` (${opts.better} is better)` : '';
  const width = opts.width ?? Math.max(200, BAND * rows.length);
  const slant = Math.max(0, ...rows.map((r) => labelWidth(r.variant))) > width / Math.max(1, rows.length) - 6;
  const x = { field: 'variant', type: 'nominal', sort: rows.map((r) => r.variant), title: null, axis: { labelAngle: slant ? -30 : 0 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title ?? `${opts.metric} by variant (mean, bar ${SPREAD_LABEL[spread]})`,
    width,
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
          y: { field: 'mean', type: 'quantitative', title: `${opts.metric}${better}`, scale: { zero: false } },
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

// ---------------------------------------------------------------------------------------------
// Several metrics: a grid (Vega-Lite for files and the static picture, plotly to explore)
// ---------------------------------------------------------------------------------------------

/** One metric's runs: one chart of the grid. */
export interface AblationPanel {
  /** The metric's name (axis title). */
  metric: string;
  better?: 'lower' | 'higher';
  runs: readonly AblationRun[];
}

export interface AblationGridOptions {
  /** The figure's title (default: "metrics by variant: mean, bar ± 1 std"). */
  title?: string;
  /** Charts a row (default 3). */
  columns?: number;
  spread?: Spread;
}

const gridTitle = (opts: AblationGridOptions): string => opts.title ?? `metrics by variant: mean, bar ${SPREAD_LABEL[opts.spread ?? 'std']}`;

/**
 * The panels as one Vega-Lite figure (a concat of ablationChartSpec, `columns` a row), or null
 * without panels. Each chart's y title names its metric.
 */
export function ablationGridSpec(panels: readonly AblationPanel[], opts: AblationGridOptions = {}): VegaLiteSpec | null {
  if (panels.length === 0) return null;
  const charts = panels.map((p) => {
    const { $schema: _s, title: _t, ...rest } = ablationChartSpec(p.runs, { metric: p.metric, better: p.better, spread: opts.spread });
    return rest;
  });
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: gridTitle(opts), columns: opts.columns ?? 3, concat: charts };
}

/** Plotly's axis names of subplot i: x, x2, ... and xaxis, xaxis2, ... */
const axisId = (i: number) => (i === 0 ? '' : String(i + 1));

/** Hover text can hold HTML: variant names and metrics are shown as text. */
const hoverSafe = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The panels as an interactive plotly grid: per variant the runs as small points (spread
 * sideways by seed) and the mean with its error bar. Hovering a run shows its variant, run id,
 * seed and value; hovering a mean shows mean, spread and the number of runs.
 */
export function ablationFigure(panels: readonly AblationPanel[], opts: AblationGridOptions = {}): PlotlyFigure {
  const spread = opts.spread ?? 'std';
  const cols = Math.max(1, Math.min(opts.columns ?? 3, panels.length));
  const rows = Math.max(1, Math.ceil(panels.length / cols));
  const rowH = 300;
  const top = 50;
  const height = top + rows * rowH;
  const gapX = 0.08;
  const data: object[] = [];
  const layout: Record<string, unknown> = {
    ...PLOTLY_BASE_LAYOUT,
    title: plotlyTitle(gridTitle(opts), { x: 0.01, xanchor: 'left' }),
    height,
    margin: { l: 70, r: 20, t: top, b: 20 },
    showlegend: false,
    hovermode: 'closest',
  };
  const annotations: object[] = [];
  panels.forEach((p, i) => {
    const col = i % cols;
    const row = Math.floor(i / cols);
    const id = axisId(i);
    const summary = summariseAblation(p.runs, spread);
    const variants = summary.map((r) => r.variant);
    const x0 = col / cols + (col > 0 ? gapX / 2 : 0);
    const x1 = (col + 1) / cols - (col < cols - 1 ? gapX / 2 : 0);
    // rows from the top, in paper units; 60 px of each row for the x labels and the next title
    const y1 = 1 - (row * rowH) / (rows * rowH);
    const y0 = 1 - ((row + 1) * rowH - 70) / (rows * rowH);
    const better = p.better ? ` (${p.better} is better)` : '';
    layout[`xaxis${id}`] = plotlyAxis({
      domain: [x0, x1],
      anchor: `y${id}`,
      range: [-0.5, variants.length - 0.5],
      tickmode: 'array',
      tickvals: variants.map((_, k) => k),
      ticktext: variants,
      showgrid: false,
      fixedrange: true,
    });
    layout[`yaxis${id}`] = plotlyAxis({ domain: [y0, y1], anchor: `x${id}`, title: { text: `${p.metric}${better}` }, exponentformat: 'none' });
    annotations.push({ text: `<b>${hoverSafe(p.metric)}</b>`, x: (x0 + x1) / 2, y: y1, xref: 'paper', yref: 'paper', xanchor: 'center', yanchor: 'bottom', showarrow: false, font: { size: 11 } });
    // the runs, spread sideways by their order within the variant
    const seen = new Map<string, number>();
    const counts = new Map(summary.map((r) => [r.variant, r.n]));
    const runX: number[] = [];
    const runY: number[] = [];
    const custom: Array<[string, string, string]> = [];
    for (const r of p.runs) {
      const j = seen.get(r.variant) ?? 0;
      seen.set(r.variant, j + 1);
      const n = counts.get(r.variant)!;
      runX.push(variants.indexOf(r.variant) + (n > 1 ? (j / (n - 1) - 0.5) * 0.3 : 0));
      runY.push(r.value);
      custom.push([hoverSafe(r.variant), hoverSafe(r.run ?? '-'), r.seed === undefined ? '-' : String(r.seed)]);
    }
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: 'runs',
      xaxis: `x${id}`,
      yaxis: `y${id}`,
      x: runX,
      y: runY,
      customdata: custom,
      marker: { size: 7, color: 'rgba(0,0,0,0)', line: { color: SERIES_COLORS[0], width: 1.5 } },
      hovertemplate: `<b>%{customdata[0]}</b><br>run: %{customdata[1]}<br>seed: %{customdata[2]}<br>${hoverSafe(p.metric)}: %{y:.4g}<extra></extra>`,
    });
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: 'mean',
      xaxis: `x${id}`,
      yaxis: `y${id}`,
      x: variants.map((_, k) => k),
      y: summary.map((r) => r.mean),
      customdata: summary.map((r) => [hoverSafe(r.variant), formatAxisTick(Number(r.lo.toPrecision(4))), formatAxisTick(Number(r.hi.toPrecision(4))), r.n]),
      error_y: { type: 'data', symmetric: false, array: summary.map((r) => r.hi - r.mean), arrayminus: summary.map((r) => r.mean - r.lo), color: '#000', thickness: 2, width: 0 },
      marker: { size: 9, color: SERIES_COLORS[0] },
      hovertemplate: `<b>%{customdata[0]}</b><br>mean ${hoverSafe(p.metric)}: %{y:.4g}<br>${SPREAD_LABEL[spread]}: %{customdata[1]} .. %{customdata[2]}<br>%{customdata[3]} runs<extra></extra>`,
    });
  });
  layout.annotations = annotations;
  return { data, layout };
}

/**
 * Shows the metrics by variant as one output: the interactive plotly grid (hover: run, seed,
 * value), and the Vega-Lite grid as SVG and PNG for viewers that run no scripts (at most
 * 1200 px wide). Returns the Vega-Lite spec (for writeFigure), or null without panels.
 * Does nothing but build the spec outside tslab.
 */
export async function showAblationCharts(panels: readonly AblationPanel[], opts: AblationGridOptions = {}): Promise<VegaLiteSpec | null> {
  const spec = ablationGridSpec(panels, opts);
  if (!spec || !inTslab()) return spec;
  showChart(await compactChart({ svg: await vegaLiteToSvg(spec), plotly: ablationFigure(panels, opts), title: gridTitle(opts) }));
  return spec;
}
