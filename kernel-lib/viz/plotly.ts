/**
 * plotly.js charts in a notebook page. plotly.js needs a browser, so it runs in the page: the
 * first chart of a kernel session emits the plotly bundle read from the installed npm package
 * (no CDN) as its own output, and every chart is a div plus a script that draws into it once
 * `window.Plotly` exists. Until then (and where scripts do not run at all: an untrusted
 * notebook, GitHub, a viewer without JavaScript) the div shows the chart's static PNG.
 *
 * The bundle goes out once per kernel session: 'basic' (scatter, bar; 1.1 MB) for curves and
 * ablation charts, 'cartesian' (adds heatmaps; 1.4 MB) for the field-weight view. A session that
 * has sent 'basic' and then needs heatmaps sends 'cartesian' once more (it replaces window.Plotly).
 */
import { readFileSync } from 'node:fs';
import { inTslab, showHtml } from './display';
import { projectRequire } from '../util/load-module';

/** Which plotly.js bundle to inline: 'basic' (scatter, bar, pie; 1.1 MB), 'cartesian' (+ heatmap, histogram, box; 1.4 MB), 'full' (4.8 MB). */
export type PlotlyBundle = 'basic' | 'cartesian' | 'full';
const BUNDLE_FILES: Record<PlotlyBundle, string> = {
  basic: 'plotly.js/dist/plotly-basic.min.js',
  cartesian: 'plotly.js/dist/plotly-cartesian.min.js',
  full: 'plotly.js/dist/plotly.min.js',
};
/** Each bundle's trace types include those of the bundles before it. */
const BUNDLE_ORDER: readonly PlotlyBundle[] = ['basic', 'cartesian', 'full'];

/** A plotly figure (data traces + layout), as JSON: also the application/vnd.plotly.v1+json output. */
export interface PlotlyFigure {
  data: object[];
  layout: object;
}

/** The MIME type of a plotly figure (rendered by JupyterLab's and VS Code's plotly renderers, where installed). */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** Layout defaults of every chart: the font and size of the SVG and Vega-Lite charts, white background. */
export const PLOTLY_BASE_LAYOUT = {
  font: { family: 'DejaVu Sans, Verdana, sans-serif', size: 11, color: '#000' },
  paper_bgcolor: 'white',
  plot_bgcolor: 'white',
  hoverlabel: { font: { family: 'DejaVu Sans, Verdana, sans-serif', size: 11 } },
} as const;

/** A chart title as plotly shows it: bold, 13 px (as the SVG and Vega-Lite charts), its text escaped. */
export const plotlyTitle = (text: string, extra: object = {}): object => ({
  text: `<b>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</b>`,
  font: { size: 13 },
  ...extra,
});

/** An axis styled as the SVG charts' (grey frame, light grid). */
export const plotlyAxis = (extra: object = {}): object => ({ showline: true, mirror: true, linecolor: '#888', gridcolor: '#e6e6e6', zeroline: false, ticks: 'outside', tickcolor: '#888', ...extra });

/** JSON safe inside a <script> element. */
export function scriptJson(x: unknown): string {
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

/** The static picture a plotly chart shows until (or instead of) plotly drawing it. */
export interface ChartFallback {
  /** PNG bytes, shown at width x height CSS px (a 2x PNG is shown at half its pixel size). */
  png: Uint8Array;
  width: number;
  height: number;
  alt?: string;
}

const escapeAttr = (s: string): string => s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[ch]!);

/** An <img> of PNG bytes at a CSS size, shrinking with a narrower column. */
export function pngImgHtml(png: Uint8Array, width: number, height: number, alt = 'chart', cls = 'pixnerd-chart-static'): string {
  const b64 = Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64');
  return `<img class="${cls}" src="data:image/png;base64,${b64}" width="${Math.round(width)}" height="${Math.round(height)}" alt="${escapeAttr(alt)}" style="max-width:100%;height:auto">`;
}

let divCounter = 0;

/**
 * HTML for one chart: a box with the static fallback (if given) and a div, and a script that
 * draws into the div when `window.Plotly` is there (polling for up to 10 s; then the static
 * picture stays) and then removes the static picture. The box is at most `boxWidth` px wide
 * (default: the layout's width, else the static picture's; plotly fills it). The box's `data-pixnerd-chart` attribute
 * says 'pending', 'drawn' or 'static' (what scripts/browser-check.mjs waits for).
 */
export function plotlyChartHtml(fig: PlotlyFigure, divId = `pixnerd-plot-${process.pid}-${++divCounter}`, fallback?: ChartFallback, boxWidth?: number): string {
  const layout = fig.layout as { height?: number; width?: number };
  const height = layout.height ?? fallback?.height ?? 360;
  const maxWidth = boxWidth ?? layout.width ?? fallback?.width;
  const boxId = `${divId}-box`;
  return (
    `<div id="${boxId}" class="pixnerd-chart" data-pixnerd-chart="pending" style="max-width:${maxWidth ? `${Math.round(maxWidth)}px` : '100%'}">` +
    (fallback ? pngImgHtml(fallback.png, fallback.width, fallback.height, fallback.alt) : '') +
    `<div id="${divId}" style="width:100%;height:${height}px;display:none"></div>` +
    `</div>` +
    `<script type="text/javascript">(function () {` +
    `var fig = ${scriptJson(fig)}, tries = 0;` +
    `function draw() {` +
    `var el = document.getElementById(${scriptJson(divId)}), box = document.getElementById(${scriptJson(boxId)}); if (!el || !box) return;` +
    `if (!window.Plotly) { if (++tries < 200) { setTimeout(draw, 50); } else { box.setAttribute('data-pixnerd-chart', 'static'); box.title = 'plotly.js is not loaded: re-run the notebook from the top (or trust it) for the interactive chart'; if (!box.querySelector('img')) { el.style.display = ''; el.textContent = box.title; } } return; }` +
    `el.style.display = '';` +
    `Promise.resolve(window.Plotly.react(el, fig.data, fig.layout, {responsive: true, displaylogo: false})).then(function () {` +
    `var img = box.querySelector('img.pixnerd-chart-static'); if (img) img.parentNode.removeChild(img); box.setAttribute('data-pixnerd-chart', 'drawn');` +
    `});` +
    `}` +
    `draw();` +
    `})();</script>`
  );
}

// The bundle goes out once per kernel session (module state; `resetPlotlyBundle` forgets it).
let bundleShown: PlotlyBundle | null = null;

/**
 * Emits the plotly bundle as its own output unless this session already sent one that covers
 * `bundle` (basic < cartesian < full); false outside tslab.
 */
export function ensurePlotly(bundle: PlotlyBundle = 'basic'): boolean {
  if (!inTslab()) return false;
  if (bundleShown !== null && BUNDLE_ORDER.indexOf(bundleShown) >= BUNDLE_ORDER.indexOf(bundle)) return true;
  showHtml(plotlyBundleHtml(bundle));
  bundleShown = bundle;
  return true;
}

/** Makes the next chart emit the bundle again (e.g. after clearing all outputs in the page). */
export function resetPlotlyBundle(): void {
  bundleShown = null;
}
