/**
 * One display bundle per chart, so that every notebook viewer shows it:
 *
 *   - image/svg+xml: the chart as drawn (vector);
 *   - image/png: the same at 2x pixels, with metadata width/height = the CSS size (so that it is
 *     shown at the size of the SVG, not twice as large);
 *   - text/html: an <img> of that PNG at its CSS size, or, for an interactive chart, the plotly
 *     div and script with the PNG inside it until plotly has drawn;
 *   - application/vnd.plotly.v1+json (interactive charts): the plotly figure, for front ends
 *     with a plotly renderer;
 *   - text/plain: the chart's title.
 *
 * Why the HTML: each front end picks one representation by its own order. nbconvert's HTML
 * export (and JupyterLab) prefer text/html to SVG to PNG, and nbconvert 6.5 empties every SVG
 * output (its sanitizer drops the SVG's children), so an SVG + PNG bundle without HTML shows an
 * empty box there. An <img> with a data: PNG survives JupyterLab's sanitizer too (untrusted
 * notebooks), where the plotly script does not run.
 *
 * Charts are at most MAX_CHART_WIDTH (1200) CSS px wide: a wider SVG is scaled down as a whole
 * (fonts with it), so it fits a 1280 px window next to the prompt column.
 *
 *   showChart({ svg: lossChartSvg(curves), title: 'loss' });
 *   showChart({ svg, plotly: figure, title });           // interactive, with the static PNG
 *   const h = newChartHandle(); h.show({ svg }); ...     // one output, redrawn
 */
import { Resvg } from '@resvg/resvg-js';
import { loadSharp } from '../util/heavy-modules';
import { displayBundle, inTslab, newDisplayHandle, type DisplayBundle, type DisplayHandle } from './display';
import { ensurePlotly, plotlyChartHtml, pngImgHtml, PLOTLY_MIME, type PlotlyBundle, type PlotlyFigure } from './plotly';

/** The font every chart uses (installed with Debian's fonts-dejavu-core). */
export const CHART_FONT = 'DejaVu Sans';

/** The widest a chart is shown (CSS px): fits a 1280 px window beside the notebook's prompt column. */
export const MAX_CHART_WIDTH = 1200;

/** Pixels per CSS px of the PNGs in chart bundles (sharp on high-dpi screens). */
export const CHART_PNG_SCALE = 2;

const num = (s: string | undefined): number | null => {
  const m = s?.match(/^\s*([0-9.]+)\s*(px)?\s*$/);
  return m ? Number(m[1]) : null;
};

/** The root <svg> element's opening tag. */
function rootTag(svg: string): { tag: string; start: number } {
  const start = svg.search(/<svg[\s>]/);
  if (start < 0) throw new Error('not an SVG document: no <svg> element');
  const end = svg.indexOf('>', start);
  return { tag: svg.slice(start, end + 1), start };
}

const attr = (tag: string, name: string): string | undefined => tag.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1];

/** An SVG's size in CSS px: its width and height attributes, else its viewBox. */
export function svgSize(svg: string): { width: number; height: number } {
  const { tag } = rootTag(svg);
  let width = num(attr(tag, 'width'));
  let height = num(attr(tag, 'height'));
  const vb = attr(tag, 'viewBox')?.trim().split(/[\s,]+/).map(Number);
  if (vb && vb.length === 4) {
    width ??= vb[2]!;
    height ??= vb[3]!;
  }
  if (!(width! > 0 && height! > 0)) throw new Error(`SVG without a usable size (width ${width}, height ${height})`);
  return { width: width!, height: height! };
}

/**
 * The SVG at most `maxWidth` CSS px wide: a wider one gets smaller width and height attributes
 * (and a viewBox of its old size, so that everything in it scales). Narrower SVGs are returned as they are.
 */
export function fitSvg(svg: string, maxWidth = MAX_CHART_WIDTH): string {
  const { width, height } = svgSize(svg);
  if (width <= maxWidth) return svg;
  const { tag, start } = rootTag(svg);
  const k = maxWidth / width;
  const fmt = (v: number) => String(Math.round(v * 100) / 100);
  let t = tag.replace(/\swidth="[^"]*"/, '').replace(/\sheight="[^"]*"/, '');
  if (!attr(t, 'viewBox')) t = t.replace(/^<svg/, `<svg viewBox="0 0 ${fmt(width)} ${fmt(height)}"`);
  t = t.replace(/^<svg/, `<svg width="${fmt(width * k)}" height="${fmt(height * k)}"`);
  return svg.slice(0, start) + t + svg.slice(start + tag.length);
}

/** Rasterises SVG to PNG bytes at `scale` x its size (default 2), with the chart font. */
export function svgToPng(svg: string, scale = CHART_PNG_SCALE): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: CHART_FONT, sansSerifFamily: CHART_FONT },
  });
  return resvg.render().asPng();
}

/** A PNG's pixel size (from its IHDR chunk). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.length < 24 || b.readUInt32BE(12) !== 0x49484452) throw new Error('not a PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/**
 * The PNG with at most 256 colours (libimagequant through sharp): a chart's 2x PNG gets about
 * 3 times smaller, which matters because a chart bundle holds it twice (image/png and the HTML).
 */
export async function compactPng(png: Uint8Array): Promise<Buffer> {
  const out = await loadSharp()(png).png({ palette: true, compressionLevel: 9 }).toBuffer();
  return out.length < png.length ? out : Buffer.from(png);
}

/**
 * `c` with its SVG fitted to `maxWidth` and rasterised at 2x into a compact PNG (compactPng),
 * for chartBundle / showChart; contents that already have a PNG are returned as they are.
 */
export async function compactChart(c: ChartContent, maxWidth = MAX_CHART_WIDTH): Promise<ChartContent> {
  if (c.png || !c.svg) return c;
  const svg = fitSvg(c.svg, maxWidth);
  return { ...c, svg, png: await compactPng(svgToPng(svg, CHART_PNG_SCALE)), pngScale: CHART_PNG_SCALE };
}

/** What a chart is made of: an SVG, and/or a PNG, and optionally a plotly figure. */
export interface ChartContent {
  /** The chart as SVG; rasterised for the PNG unless `png` is given. */
  svg?: string;
  /** A PNG (e.g. a heatmap drawn by sharp); shown at its pixel size / `pngScale`. */
  png?: Uint8Array;
  /** Pixels per CSS px of `png` (default 1). */
  pngScale?: number;
  /** The interactive version: the bundle gets plotly's JSON and an HTML chart (static PNG inside). */
  plotly?: PlotlyFigure;
  /** The widest the interactive chart grows, CSS px (default: the static picture's width). */
  plotlyWidth?: number;
  /** Title, for text/plain and the image's alt text. */
  title?: string;
}

export interface ChartDisplayOptions {
  /** The widest the chart is shown, CSS px (default MAX_CHART_WIDTH). */
  maxWidth?: number;
  /** The plotly bundle the interactive chart needs (default 'basic'). */
  bundle?: PlotlyBundle;
}

/**
 * The display bundle of one chart (see the top of this file). Needs an SVG or a PNG. Pure: it
 * sends nothing (the plotly bundle is the caller's: showChart and newChartHandle send it).
 */
export function chartBundle(c: ChartContent, opts: ChartDisplayOptions = {}): DisplayBundle {
  const maxWidth = opts.maxWidth ?? MAX_CHART_WIDTH;
  let svg: string | undefined;
  let png: Uint8Array;
  let width: number;
  let height: number;
  if (c.png) {
    const px = pngSize(c.png);
    const s = c.pngScale ?? 1;
    [width, height] = [px.width / s, px.height / s];
    png = c.png;
    if (c.svg) svg = fitSvg(c.svg, maxWidth);
  } else if (c.svg) {
    svg = fitSvg(c.svg, maxWidth);
    ({ width, height } = svgSize(svg));
    png = svgToPng(svg, CHART_PNG_SCALE);
  } else {
    throw new Error('chartBundle: a chart needs an svg or a png');
  }
  if (width > maxWidth) [width, height] = [maxWidth, (height * maxWidth) / width];
  width = Math.round(width);
  height = Math.round(height);
  const title = c.title ?? 'chart';
  const html = c.plotly
    ? plotlyChartHtml(c.plotly, undefined, { png, width, height, alt: title }, c.plotlyWidth === undefined ? undefined : Math.min(c.plotlyWidth, maxWidth))
    : `<div class="pixnerd-chart" data-pixnerd-chart="static" style="max-width:${width}px">${pngImgHtml(png, width, height, title)}</div>`;
  const data: DisplayBundle['data'] = { 'text/html': html, 'image/png': png };
  if (svg) data['image/svg+xml'] = svg;
  if (c.plotly) data[PLOTLY_MIME] = c.plotly;
  data['text/plain'] = `<${c.plotly ? 'interactive chart' : 'chart'}: ${title}>`;
  return { data, metadata: { 'image/png': { width, height } } };
}

/** Shows one chart as one output (a bundle, see chartBundle); does nothing outside tslab. */
export function showChart(c: ChartContent, opts: ChartDisplayOptions = {}): void {
  if (!inTslab()) return;
  if (c.plotly) ensurePlotly(opts.bundle);
  displayBundle(chartBundle(c, opts));
}

/** One chart output that each `show` redraws (live training charts). */
export interface ChartHandle {
  show(c: ChartContent): void;
  readonly live: boolean;
}

/** A new redrawable chart output; does nothing outside tslab. */
export function newChartHandle(opts: ChartDisplayOptions = {}): ChartHandle {
  let handle: DisplayHandle | null = null;
  return {
    get live() {
      return inTslab();
    },
    show(c) {
      if (!inTslab()) return;
      if (c.plotly) ensurePlotly(opts.bundle); // before the chart's output is created
      handle ??= newDisplayHandle();
      handle.showBundle(chartBundle(c, opts));
    },
  };
}
