/**
 * Vega-Lite charts without a browser: spec -> SVG (vega View, renderer 'none', `toSVG`) ->
 * PNG (@resvg/resvg-js with the system fonts), shown inline in tslab or written to files.
 *
 *   await writeFigure(spec, 'figures/e1-loss');   // figures/e1-loss.svg + figures/e1-loss.png
 *   await showVegaLite(spec);                     // inline SVG in a notebook
 *
 * vega and vega-lite are loaded with `importEsm` (see load-module.ts): their module graph has
 * top-level await, which tslab's CommonJS `require` cannot load.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { writeFileAtomic } from '../util/atomic-write';
import { inTslab, showPng, showSvg } from './display';
import { importEsm } from '../util/load-module';

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

/** The font every chart uses (installed with Debian's fonts-dejavu-core). */
export const CHART_FONT = 'DejaVu Sans';

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

/** Rasterises SVG to PNG bytes at `scale` x its size (default 2, sharp on high-dpi screens). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: CHART_FONT, sansSerifFamily: CHART_FONT },
  });
  return resvg.render().asPng();
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

/** Shows a Vega-Lite chart inline (SVG, or PNG with `as: 'png'`); does nothing outside tslab. */
export async function showVegaLite(spec: VegaLiteSpec, opts: { as?: 'svg' | 'png' } = {}): Promise<void> {
  if (!inTslab()) return;
  const svg = await vegaLiteToSvg(spec);
  if (opts.as === 'png') showPng(svgToPng(svg));
  else showSvg(svg);
}
