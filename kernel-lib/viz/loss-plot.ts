/**
 * Loss and metric curves: interactive plotly.js charts inline in tslab (zoomable; each output
 * also carries the chart as SVG and PNG for viewers without scripts, see chart.ts), a
 * live-updating chart for training loops, and the same chart as a Vega-Lite spec for files
 * (vega.ts `writeFigure`).
 *
 *   showLossPlot(curvesFromRecords(log), { logY: true });
 *   const live = livePlot({ title: 'train' });            // in the loop:
 *   live.update(step, { loss });  ...  live.flush();
 *   await writeFigure(lossPlotSpec(live.curves()), 'figures/e1-loss');
 *
 * Every version draws curves that coincide (loss = fm without REPA) as one line, spans a log
 * axis over the data rounded out to 1-2-5 ticks (svg-chart.ts `logAxis`), and writes step
 * ticks as integers. The plotly bundle goes out once per kernel session (plotly.ts).
 */
import { decimateCurve, mergeCoincidentCurves, type Curve, type LossPlotOptions } from './curves';
import { newChartHandle, showChart, type ChartHandle } from './chart';
import { PLOTLY_BASE_LAYOUT, plotlyAxis, plotlyTitle, type PlotlyBundle, type PlotlyFigure } from './plotly';
import { formatAxisTick, logAxis, lossChartSvg, SERIES_COLORS } from './svg-chart';
import type { VegaLiteSpec } from './vega';

export { decimateCurve, curvesFromRecords, mergeCoincidentCurves, type Curve, type LossPlotOptions } from './curves';
export { ensurePlotly, plotlyBundleHtml, plotlyChartHtml, resetPlotlyBundle, type PlotlyBundle, type PlotlyFigure } from './plotly';

// ---------------------------------------------------------------------------------------------
// plotly.js
// ---------------------------------------------------------------------------------------------

/** Every 1, 2 and 5 x 10^k from 1e-8 to 1e8: a log axis's tick values at any zoom. */
const LOG_TICK_VALUES = Array.from({ length: 17 }, (_, i) => i - 8).flatMap((k) => [1, 2, 5].map((m) => Number((m * 10 ** k).toPrecision(12))));

/** The log axis's range and ticks for positive values (plotly: range in log10 units). */
function plotlyLogAxis(values: number[]): object {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  const base = { type: 'log', tickmode: 'array', tickvals: LOG_TICK_VALUES, ticktext: LOG_TICK_VALUES.map(formatAxisTick) };
  if (pos.length === 0) return base;
  const { domain } = logAxis(Math.min(...pos), Math.max(...pos));
  const [a, b] = domain.map(Math.log10) as [number, number];
  const pad = (b - a) * 0.02;
  return { ...base, range: [a - pad, b + pad] };
}

/** The plotly figure for `curves`: one line trace per curve (coinciding curves as one), zoomable, hover per step. */
export function lossPlotFigure(curves: readonly Curve[], opts: LossPlotOptions = {}): PlotlyFigure {
  const maxPoints = opts.maxPoints ?? 4000;
  const shown = mergeCoincidentCurves(curves).map((c) => decimateCurve(c, maxPoints));
  const integerSteps = curves.every((c) => c.steps.every(Number.isInteger));
  const yTitle = { title: { text: opts.yLabel ?? 'loss' } };
  return {
    data: shown.map((c, k) => ({
      type: 'scatter',
      mode: 'lines',
      name: c.name,
      x: c.steps,
      y: c.values,
      line: { color: SERIES_COLORS[k % SERIES_COLORS.length], width: 1.5 },
      hovertemplate: `${c.name.replace(/</g, '&lt;')}: %{y:.4g}<extra></extra>`,
    })),
    layout: {
      ...PLOTLY_BASE_LAYOUT,
      title: opts.title ? plotlyTitle(opts.title) : undefined,
      height: opts.height ?? 360,
      margin: { l: 62, r: 20, t: opts.title ? 40 : 20, b: 45 },
      hovermode: 'x unified',
      xaxis: plotlyAxis({ title: { text: opts.xLabel ?? 'step' }, tickformat: integerSteps ? 'd' : '~g', exponentformat: 'none' }),
      yaxis: plotlyAxis(opts.logY ? { ...yTitle, ...plotlyLogAxis(shown.flatMap((c) => c.values)) } : { ...yTitle, exponentformat: 'none' }),
      showlegend: curves.length > 1,
      legend: { font: { size: 11 } },
    },
  };
}

/**
 * Shows the curves as one output: an interactive plotly chart (zoom, hover) and, in the same
 * bundle, the SVG chart and its PNG for viewers that run no scripts. Does nothing outside tslab.
 */
export function showLossPlot(curves: readonly Curve[], opts: LossPlotOptions & { bundle?: PlotlyBundle; width?: number } = {}): void {
  showChart(
    { svg: lossChartSvg(curves, { height: 300, ...opts }), plotly: lossPlotFigure(curves, { ...opts, height: opts.height ?? 360 }), title: opts.title ?? 'loss' },
    { bundle: opts.bundle },
  );
}

// ---------------------------------------------------------------------------------------------
// Live chart for training loops
// ---------------------------------------------------------------------------------------------

export interface LivePlotOptions extends LossPlotOptions {
  /** Re-render at most this often (ms, default 1000); `flush()` always renders. */
  everyMs?: number;
  /**
   * 'plotly' (default): an interactive chart (zoom, hover); the notebook carries the plotly
   * bundle once, and each output also holds the SVG chart and its PNG for viewers that run no
   * scripts. 'svg': only the static chart (SVG, PNG and an HTML <img>), no plotly bundle.
   */
  chart?: 'plotly' | 'svg';
  /** SVG chart width in px (default 640). */
  width?: number;
  bundle?: PlotlyBundle;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface LivePlot {
  /** Appends one value per named series at `step`; re-renders if `everyMs` has passed. Returns whether it rendered. */
  update(step: number, values: Record<string, number>): boolean;
  /** Renders now (call after the loop); does nothing outside tslab. */
  flush(): void;
  /** The collected curves (also outside tslab), e.g. for `lossPlotSpec`. */
  curves(): Curve[];
}

/**
 * A chart that one output area keeps redrawing as values arrive (a Jupyter display id; each
 * render replaces the whole chart, so a saved notebook holds the final one). Outside tslab it
 * only collects the values.
 */
export function livePlot(opts: LivePlotOptions = {}): LivePlot {
  const everyMs = opts.everyMs ?? 1000;
  const now = opts.now ?? (() => performance.now());
  const byName = new Map<string, Curve>();
  let handle: ChartHandle | null = null;
  let lastRender = -Infinity;
  const curves = (): Curve[] => [...byName.values()];
  const render = (): boolean => {
    lastRender = now();
    handle ??= newChartHandle({ bundle: opts.bundle });
    if (!handle.live) return false;
    const cs = curves();
    handle.show({
      svg: lossChartSvg(cs, { height: 300, ...opts }),
      plotly: opts.chart === 'svg' ? undefined : lossPlotFigure(cs, { ...opts, height: opts.height ?? 360 }),
      title: opts.title ?? 'loss',
    });
    return true;
  };
  return {
    update(step, values) {
      for (const [name, value] of Object.entries(values)) {
        let c = byName.get(name);
        if (!c) byName.set(name, (c = { name, steps: [], values: [] }));
        c.steps.push(step);
        c.values.push(value);
      }
      return now() - lastRender >= everyMs ? render() : false;
    },
    flush() {
      render();
    },
    curves,
  };
}

// ---------------------------------------------------------------------------------------------
// Vega-Lite (files)
// ---------------------------------------------------------------------------------------------

/**
 * The same chart as a Vega-Lite spec (long format: one row per step, value, series). A log y
 * axis spans the data rounded out to 1-2-5 ticks (not vega's whole decades), step ticks are integers.
 */
export function lossPlotSpec(curves: readonly Curve[], opts: LossPlotOptions = {}): VegaLiteSpec {
  const maxPoints = opts.maxPoints ?? 4000;
  const values = mergeCoincidentCurves(curves).flatMap((c0) => {
    const c = decimateCurve(c0, maxPoints);
    return c.steps.map((step, i) => ({ step, value: c.values[i]!, series: c.name }));
  });
  const integerSteps = curves.every((c) => c.steps.every(Number.isInteger));
  const positive = values.map((v) => v.value).filter((v) => Number.isFinite(v) && v > 0);
  let yScale: object = { zero: false };
  let yAxis: object = {};
  if (opts.logY) {
    yScale = { type: 'log' };
    if (positive.length > 0) {
      const { domain, ticks } = logAxis(Math.min(...positive), Math.max(...positive));
      yScale = { type: 'log', domain, nice: false };
      yAxis = { values: ticks, format: '~g' };
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: 480,
    height: Math.round((opts.height ?? 360) * 0.75),
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: opts.xLabel ?? 'step', axis: integerSteps ? { format: 'd', tickMinStep: 1 } : {} },
      y: {
        field: 'value',
        type: 'quantitative',
        title: opts.yLabel ?? 'loss',
        scale: yScale,
        axis: yAxis,
      },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
