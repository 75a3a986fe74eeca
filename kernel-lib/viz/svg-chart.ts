/**
 * A line chart of curves as a self-contained SVG string, made synchronously and without a
 * browser or vega: what the live training chart redraws in a notebook. Unlike the plotly
 * chart it needs no script, so a saved notebook (and GitHub's notebook view) shows it, and the
 * notebook does not carry the 1.2 MB plotly bundle.
 *
 *   showSvg(lossChartSvg(curves, { title: 'training loss', logY: true }));
 */
import { formatTick } from './heatmap';
import { decimateCurve, type Curve, type LossPlotOptions } from './curves';
import { CHART_FONT } from './vega';

export interface SvgChartOptions extends LossPlotOptions {
  /** Width in px (default 640); height is `height` (default 300). */
  width?: number;
}

/** Vega's default categorical colours (tableau10), so that these charts match the vega-lite ones. */
export const SERIES_COLORS = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);

/** About `count` round ticks (multiples of 1, 2 or 5 x 10^k) covering [lo, hi]. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  let step = 10 ** Math.floor(Math.log10(raw));
  const err = raw / step;
  step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

/**
 * Ticks for a log axis over [lo, hi] (> 0): powers of ten; over shorter ranges also 2 and 5
 * x 10^k, then every digit, until there are at least 4 (the chart skips labels that would collide).
 */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  let ticks: number[] = [];
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    if (mantissas.length === 1 && b - a < 2.5) continue;
    ticks = [];
    for (let k = Math.floor(a); k <= Math.ceil(b); k++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
      }
    }
    if (ticks.length >= 4) return ticks;
  }
  return ticks.length >= 2 ? ticks : linearTicks(lo, hi, 3).filter((v) => v > 0);
}

/** The curves as an SVG line chart: axes with round ticks, a light grid, a legend for several curves. */
export function lossChartSvg(curves: readonly Curve[], opts: SvgChartOptions = {}): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 300;
  const logY = opts.logY === true;
  const ok = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const shown = curves.map((c) => decimateCurve(c, Math.min(opts.maxPoints ?? 4000, 2 * width)));
  const pts = shown.flatMap((c) => c.steps.map((s, i) => [s, c.values[i]!] as const)).filter(([s, v]) => Number.isFinite(s) && ok(v));
  const legend = curves.length > 1;
  const legendWidth = legend ? Math.max(...curves.map((c) => c.name.length)) * 7 + 34 : 0;
  const m = { left: 62, right: 14 + legendWidth, top: opts.title ? 30 : 12, bottom: 40 };
  const pw = Math.max(10, width - m.left - m.right);
  const ph = Math.max(10, height - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${CHART_FONT}, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (opts.title) out.push(`<text x="${width / 2}" y="19" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(opts.title)}</text>`);
  const xLabel = opts.xLabel ?? 'step';
  const yLabel = opts.yLabel ?? 'loss';
  out.push(`<text x="${m.left + pw / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  if (pts.length > 0) {
    let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
    if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
    let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
    if (y1 === y0) [y0, y1] = logY ? [y0 / 1.5, y1 * 1.5] : [y0 - 1, y1 + 1];
    const fy = logY ? Math.log10 : (v: number) => v;
    const [fy0, fy1] = [fy(y0), fy(y1)];
    const pad = (fy1 - fy0) * 0.04;
    const X = (s: number) => m.left + ((s - x0) / (x1 - x0)) * pw;
    const Y = (v: number) => m.top + ph - ((fy(v) - (fy0 - pad)) / (fy1 - fy0 + 2 * pad)) * ph;
    const r = (v: number) => Math.round(v * 10) / 10;
    const yTicks = logY ? logTicks(y0, y1) : linearTicks(y0, y1);
    for (const t of yTicks) out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${r(Y(t))}" y2="${r(Y(t))}" stroke="#e6e6e6"/>`);
    // labels: powers of ten first, then 2 and 5 x 10^k, then the rest, each only where it keeps 14 px from the others
    const rank = (t: number) => (logY ? [0, 0, 1, 2, 2, 1, 2, 2, 2, 2][Math.round(t / 10 ** Math.floor(Math.log10(t) + 1e-9))] ?? 2 : 0);
    const labelled: number[] = [];
    for (const t of [...yTicks].sort((p, q) => rank(p) - rank(q))) {
      if (labelled.some((u) => Math.abs(Y(u) - Y(t)) < 14)) continue;
      labelled.push(t);
      out.push(`<text x="${m.left - 5}" y="${r(Y(t)) + 4}" text-anchor="end">${formatTick(t)}</text>`);
    }
    for (const t of linearTicks(x0, x1, Math.max(2, Math.round(pw / 90)))) {
      out.push(`<line x1="${r(X(t))}" x2="${r(X(t))}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#888"/>`);
      out.push(`<text x="${r(X(t))}" y="${m.top + ph + 16}" text-anchor="middle">${formatTick(t)}</text>`);
    }
    shown.forEach((c, k) => {
      const xy = c.steps.map((s, i) => [s, c.values[i]!] as const).filter(([s, v]) => Number.isFinite(s) && ok(v));
      if (xy.length === 0) return;
      const color = SERIES_COLORS[k % SERIES_COLORS.length]!;
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round" points="${xy.map(([s, v]) => `${r(X(s))},${r(Y(v))}`).join(' ')}"/>`);
    });
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  if (legend) {
    curves.forEach((c, k) => {
      const y = m.top + 8 + 16 * k;
      const x = m.left + pw + 12;
      out.push(`<line x1="${x}" x2="${x + 16}" y1="${y}" y2="${y}" stroke="${SERIES_COLORS[k % SERIES_COLORS.length]}" stroke-width="2"/>`);
      out.push(`<text x="${x + 21}" y="${y + 4}">${escapeXml(c.name)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n');
}
