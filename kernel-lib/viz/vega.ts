/**
 * Vega-Lite charts without a browser: spec -> SVG (vega View, renderer 'none', `toSVG`) ->
 * PNG (@resvg/resvg-js with the system fonts), shown inline in tslab or written to files.
 *
 *   await writeFigure(spec, 'figures/e1-loss');   // figures/e1-loss.svg + figures/e1-loss.png
 *   await showVegaLite(spec);                     // inline: one bundle of SVG, 2x PNG and HTML (chart.ts)
 *
 * vega and vega-lite are loaded with `importEsm` (see load-module.ts): their module graph has
 * top-level await, which tslab's CommonJS `require` cannot load.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { inTslab } from './display';
import { CHART_FONT, compactChart, showChart, svgToPng, type ChartDisplayOptions } from './chart';
import { importEsm } from '../util/load-module';

export { CHART_FONT, svgToPng } from './chart';

/**
 * A Vega-Lite specification (https://vega.github.io/vega-lite/docs/spec.html). Typed loosely on
 * purpose: tslab resolves modules the Node 10 way, which cannot see vega-lite's typings.
 */
export type VegaLiteSpec = { [key: string]: unknown };

/** The parts of vega and vega-lite used here. */
interface VegaLiteApi {
  compile(spec: VegaLiteSpec): { spec: object };
}
interface VegaView {
  toSVG(scaleFactor?: number): Promise<string>;
  finalize(): void;
}
interface VegaApi {
  parse(spec: object): object;
  View: new (runtime: object, opts: { renderer: 'none' }) => VegaView;
}

/** Defaults merged under each spec's own `config`: our font, white background. */
const BASE_CONFIG = { font: CHART_FONT, background: 'white' };

/** Renders a Vega-Lite spec to an SVG string. */
export async function vegaLiteToSvg(spec: VegaLiteSpec): Promise<string> {
  const [vl, vega] = await Promise.all([importEsm<VegaLiteApi>('vega-lite'), importEsm<VegaApi>('vega')]);
  const config = { ...BASE_CONFIG, ...((spec.config as object | undefined) ?? {}) };
  const compiled = vl.compile({ ...spec, config }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Writes `<pathBase>.svg` and `<pathBase>.png` (each atomically: temp file, then rename),
 * creating the directory. Convention: `figures/<experiment-id>-<name>`.
 */
export async function writeFigure(
  spec: VegaLiteSpec,
  pathBase: string,
  opts: { scale?: number } = {},
): Promise<{ svgPath: string; pngPath: string }> {
  const svg = await vegaLiteToSvg(spec);
  const png = svgToPng(svg, opts.scale);
  mkdirSync(dirname(pathBase), { recursive: true });
  const svgPath = `${pathBase}.svg`;
  const pngPath = `${pathBase}.png`;
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, png);
  return { svgPath, pngPath };
}

/**
 * Shows a Vega-Lite chart inline as one output: SVG, a 2x PNG shown at the SVG's size, and an
 * HTML <img> of it (chart.ts), at most 1200 px wide. Does nothing outside tslab. `as` is
 * accepted for older notebooks and changes nothing: every viewer now picks what it shows.
 */
export async function showVegaLite(spec: VegaLiteSpec, opts: { as?: 'svg' | 'png'; title?: string } & ChartDisplayOptions = {}): Promise<void> {
  if (!inTslab()) return;
  const svg = await vegaLiteToSvg(spec);
  showChart(await compactChart({ svg, title: opts.title ?? specTitle(spec) }, opts.maxWidth), opts);
}

/** A spec's title as text (for alt text), or undefined. */
export function specTitle(spec: VegaLiteSpec): string | undefined {
  // (written for tslab's non-strict compiler too, whose narrowing differs)
  const t: unknown = spec.title;
  const text: unknown = t !== null && typeof t === 'object' && !Array.isArray(t) ? (t as { text?: unknown }).text : t;
  if (typeof text === 'string') return text;
  return Array.isArray(text) ? text.map(String).join(' ') : undefined;
}
