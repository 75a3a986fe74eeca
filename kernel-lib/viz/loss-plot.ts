/**
 * Loss and metric curves: interactive plotly.js charts inline in tslab, a live-updating chart for
 * training loops (plotly, or a plain SVG that saved notebooks show everywhere), and the same
 * chart as a Vega-Lite spec for files (vega.ts `writeFigure`).
 *
 *   showLossPlot(curvesFromRecords(log), { logY: true });
 *   const live = livePlot({ title: 'train' });            // in the loop:
 *   live.update(step, { loss });  ...  live.flush();
 *   await writeFigure(lossPlotSpec(live.curves()), 'figures/e1-loss');
 *
 * plotly.js needs a browser, so it runs in the notebook page: the first chart of a kernel
 * session emits the plotly bundle read from the installed npm package (no CDN) as its own
 * output, and every chart is a div plus a script that draws into it once `window.Plotly` exists.
 */
import { readFileSync } from 'node:fs';
import { decimateCurve, type Curve, type LossPlotOptions } from './curves';
import { inTslab, newDisplayHandle, showHtml, type DisplayHandle } from './display';
import { lossChartSvg } from './svg-chart';
import { projectRequire } from '../util/load-module';
import type { VegaLiteSpec } from './vega';

export { decimateCurve, curvesFromRecords, type Curve, type LossPlotOptions } from './curves';

// ---------------------------------------------------------------------------------------------
// plotly.js
// ---------------------------------------------------------------------------------------------

/** Which plotly.js bundle to inline: 'basic' (scatter, bar, pie; 1.2 MB) covers curves; 'full' is 4.8 MB. */
export type PlotlyBundle = 'basic' | 'full';
const BUNDLE_FILES: Record<PlotlyBundle, string> = {
  basic: 'plotly.js/dist/plotly-basic.min.js',
  full: 'plotly.js/dist/plotly.min.js',
};

/** A plotly figure (data traces + layout), as JSON. */
export interface PlotlyFigure {
  data: object[];
  layout: object;
}

/** The plotly figure for `curves`: one line trace per curve. */
export function lossPlotFigure(curves: readonly Curve[], opts: LossPlotOptions = {}): PlotlyFigure {
  const maxPoints = opts.maxPoints ?? 4000;
  return {
    data: curves.map((c0) => {
      const c = decimateCurve(c0, maxPoints);
      return { type: 'scatter', mode: 'lines', name: c.name, x: c.steps, y: c.values };
    }),
    layout: {
      title: opts.title ? { text: opts.title } : undefined,
      height: opts.height ?? 360,
      margin: { l: 60, r: 20, t: opts.title ? 40 : 20, b: 45 },
      xaxis: { title: { text: opts.xLabel ?? 'step' } },
      yaxis: { title: { text: opts.yLabel ?? 'loss' }, type: opts.logY ? 'log' : 'linear' },
      showlegend: curves.length > 1,
    },
  };
}

/** JSON safe inside a <script> element. */
function scriptJson(x: unknown): string {
  return JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * A <script> that defines `window.Plotly` from the installed plotly.js package. The bundle is
 * UMD: hiding `module` makes it take its browser branch even where a page defines one.
 */
export function plotlyBundleHtml(bundle: PlotlyBundle = 'basic'): string {
  const js = readFileSync(projectRequire().resolve(BUNDLE_FILES[bundle]), 'utf8');
  if (js.includes('</script')) throw new Error(`${BUNDLE_FILES[bundle]} contains '</script': cannot inline it`);
  return `<script type="text/javascript">(function (module, exports, define) {\n${js}\n})(undefined, undefined, undefined);</script>`;
}

let divCounter = 0;

/**
 * HTML for one chart: a div and a script that draws into it when `window.Plotly` is there
 * (polling for up to 10 s, then saying that plotly.js is missing).
 */
export function plotlyChartHtml(fig: PlotlyFigure, divId = `pixnerd-plot-${process.pid}-${++divCounter}`): string {
  const height = (fig.layout as { height?: number }).height ?? 360;
  return (
    `<div id="${divId}" style="width:100%;height:${height}px"></div>` +
    `<script type="text/javascript">(function () {` +
    `var fig = ${scriptJson(fig)}, tries = 0;` +
    `function draw() {` +
    `var el = document.getElementById(${scriptJson(divId)}); if (!el) return;` +
    `if (!window.Plotly) { if (++tries < 200) { setTimeout(draw, 50); } else { el.textContent = 'plotly.js is not loaded: re-run the notebook from the top (or trust it).'; } return; }` +
    `window.Plotly.react(el, fig.data, fig.layout, {responsive: true, displaylogo: false});` +
    `}` +
    `draw();` +
    `})();</script>`
  );
}

// The bundle goes out once per kernel session (module state; `resetPlotlyBundle` forgets it).
let bundleShown: PlotlyBundle | null = null;

/** Emits the plotly bundle as its own output unless this session already did; false outside tslab. */
export function ensurePlotly(bundle: PlotlyBundle = 'basic'): boolean {
  if (!inTslab()) return false;
  if (bundleShown === bundle || bundleShown === 'full') return true;
  showHtml(plotlyBundleHtml(bundle));
  bundleShown = bundle;
  return true;
}

/** Makes the next chart emit the bundle again (e.g. after clearing all outputs in the page). */
export function resetPlotlyBundle(): void {
  bundleShown = null;
}

/** Shows the curves as an interactive plotly chart under the cell; does nothing outside tslab. */
export function showLossPlot(curves: readonly Curve[], opts: LossPlotOptions & { bundle?: PlotlyBundle } = {}): void {
  if (ensurePlotly(opts.bundle)) showHtml(plotlyChartHtml(lossPlotFigure(curves, opts)));
}

// ---------------------------------------------------------------------------------------------
// Live chart for training loops
// ---------------------------------------------------------------------------------------------

export interface LivePlotOptions extends LossPlotOptions {
  /** Re-render at most this often (ms, default 1000); `flush()` always renders. */
  everyMs?: number;
  /**
   * 'plotly' (default): an interactive chart; the notebook carries the plotly bundle and shows
   * the chart only where its scripts run. 'svg': a plain SVG line chart (svg-chart.ts) that
   * every viewer of the saved notebook shows, GitHub included.
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
  let handle: DisplayHandle | null = null;
  let lastRender = -Infinity;
  const curves = (): Curve[] => [...byName.values()];
  const render = (): boolean => {
    lastRender = now();
    if (opts.chart === 'svg') {
      if (!inTslab()) return false;
      handle ??= newDisplayHandle();
      handle.show({ mime: 'image/svg+xml', data: lossChartSvg(curves(), { height: 300, ...opts }) });
      return true;
    }
    if (!ensurePlotly(opts.bundle)) return false;
    handle ??= newDisplayHandle();
    handle.show({ mime: 'text/html', data: plotlyChartHtml(lossPlotFigure(curves(), opts)) });
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

/** The same chart as a Vega-Lite spec (long format: one row per step, value, series). */
export function lossPlotSpec(curves: readonly Curve[], opts: LossPlotOptions = {}): VegaLiteSpec {
  const maxPoints = opts.maxPoints ?? 4000;
  const values = curves.flatMap((c0) => {
    const c = decimateCurve(c0, maxPoints);
    return c.steps.map((step, i) => ({ step, value: c.values[i]!, series: c.name }));
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: 480,
    height: Math.round((opts.height ?? 360) * 0.75),
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: opts.xLabel ?? 'step' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: opts.yLabel ?? 'loss',
        scale: opts.logY ? { type: 'log' } : { zero: false },
      },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
