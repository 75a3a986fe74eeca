/**
 * A line chart of curves as a self-contained SVG string, made synchronously and without a
 * browser or vega: the static picture of the loss charts (the live training chart redraws it).
 * chart.ts turns it into one display bundle (SVG, 2x PNG, HTML), so that every notebook viewer
 * shows it.
 *
 *   showChart({ svg: lossChartSvg(curves, { title: 'training loss', logY: true }) });
 *
 * Axes: a log axis spans the data rounded out to 1-2-5 x 10^k and is labelled there (so the
 * labels cover the data: 0.1 ... 2 for data in 0.15 ... 1.9); step axes have integer ticks
 * written out (1000, 1200). Curves that coincide (loss and fm without REPA) are drawn once,
 * named "loss = fm".
 */
import { decimateCurve, mergeCoincidentCurves, type Curve, type LossPlotOptions } from './curves';
import { CHART_FONT } from './chart';

export interface SvgChartOptions extends LossPlotOptions {
  /** Width in px (default 640); height is `height` (default 300). */
  width?: number;
}

/** Vega's default categorical colours (tableau10), so that these charts match the vega-lite ones. */
export const SERIES_COLORS = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);

/**
 * About `count` round ticks (multiples of 1, 2 or 5 x 10^k) covering [lo, hi], at least
 * `minStep` apart (1 for step axes: no ticks at 0.5).
 */
export function linearTicks(lo: number, hi: number, count = 5, minStep = 0): number[] {
  if (!(hi > lo)) return [lo];
  const raw = Math.max((hi - lo) / count, minStep);
  let step = 10 ** Math.floor(Math.log10(raw));
  const err = raw / step;
  step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
  step = Math.max(step, minStep);
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

const LOG_MANTISSAS = {
  decades: [1],
  oneTwoFive: [1, 2, 5],
  digits: [1, 2, 3, 4, 5, 6, 7, 8, 9],
} as const;

/**
 * A log axis for data in [lo, hi] (> 0): the range rounded out to the nearest ticks, and the
 * ticks. Ticks are 1, 2 and 5 x 10^k; powers of ten only over more than 4 decades, every digit
 * over less than a factor of 2.2. So the first and last labels lie at or beyond the data.
 */
export function logAxis(lo: number, hi: number): { domain: [number, number]; ticks: number[] } {
  if (!(lo > 0 && hi >= lo)) throw new Error(`log axis needs 0 < lo <= hi, got [${lo}, ${hi}]`);
  const d = Math.log10(hi / lo);
  const ms: readonly number[] = d > 4 ? LOG_MANTISSAS.decades : d >= 0.35 ? LOG_MANTISSAS.oneTwoFive : LOG_MANTISSAS.digits;
  const round = (v: number) => Number(v.toPrecision(12));
  const candidates: number[] = [];
  for (let k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)) + 1; k++) for (const m of ms) candidates.push(round(m * 10 ** k));
  const eps = 1e-9;
  let a = Math.max(...candidates.filter((v) => v <= lo * (1 + eps)));
  let b = Math.min(...candidates.filter((v) => v >= hi * (1 - eps)));
  if (a === b) {
    // one value on a tick: one tick either side
    a = Math.max(...candidates.filter((v) => v < a));
    b = Math.min(...candidates.filter((v) => v > b));
  }
  return { domain: [a, b], ticks: candidates.filter((v) => v >= a && v <= b) };
}

/** The ticks of logAxis(lo, hi): 1-2-5 x 10^k (see there), from at or below lo to at or above hi. */
export function logTicks(lo: number, hi: number): number[] {
  return logAxis(lo, hi).ticks;
}

/** A tick label: plain decimals from 1e-4 to 1e7 (1000, 1200, 0.05), exponent form beyond. */
export function formatAxisTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e7) return String(Number(v.toPrecision(10)));
  return v.toExponential(2).replace(/\.?0+e/, 'e');
}

/** The curves as an SVG line chart: axes with round ticks, a light grid, a legend for several curves. */
export function lossChartSvg(curves: readonly Curve[], opts: SvgChartOptions = {}): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 300;
  const logY = opts.logY === true;
  const ok = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const merged = mergeCoincidentCurves(curves);
  const shown = merged.map((c) => decimateCurve(c, Math.min(opts.maxPoints ?? 4000, 2 * width)));
  const pts = shown.flatMap((c) => c.steps.map((s, i) => [s, c.values[i]!] as const)).filter(([s, v]) => Number.isFinite(s) && ok(v));
  const legend = curves.length > 1; // also when they merged into one line: its name says so
  const legendWidth = legend ? Math.max(...merged.map((c) => c.name.length)) * 7 + 34 : 0;
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
    const integerSteps = curves.every((c) => c.steps.every(Number.isInteger));
    let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
    let yTicks: number[];
    if (logY) {
      const axis = logAxis(y0, y1);
      [y0, y1] = axis.domain;
      yTicks = axis.ticks;
    } else {
      if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
      const pad = (y1 - y0) * 0.04;
      [y0, y1] = [y0 - pad, y1 + pad];
      yTicks = linearTicks(y0, y1);
    }
    const fy = logY ? Math.log10 : (v: number) => v;
    const [fy0, fy1] = [fy(y0), fy(y1)];
    const pad = logY ? (fy1 - fy0) * 0.02 : 0; // log: a little room beyond the end ticks
    const X = (s: number) => m.left + ((s - x0) / (x1 - x0)) * pw;
    const Y = (v: number) => m.top + ph - ((fy(v) - (fy0 - pad)) / (fy1 - fy0 + 2 * pad)) * ph;
    const r = (v: number) => Math.round(v * 10) / 10;
    for (const t of yTicks) out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${r(Y(t))}" y2="${r(Y(t))}" stroke="#e6e6e6"/>`);
    // labels: the ends and powers of ten first, then 2 and 5 x 10^k, then the rest, each only where it keeps 14 px from the others
    const rank = (t: number, i: number) => (i === 0 || i === yTicks.length - 1 ? -1 : logY ? ([0, 0, 1, 2, 2, 1, 2, 2, 2, 2][Math.round(t / 10 ** Math.floor(Math.log10(t) + 1e-9))] ?? 2) : 0);
    const labelled: number[] = [];
    for (const [t] of yTicks.map((t, i) => [t, rank(t, i)] as const).sort((p, q) => p[1] - q[1])) {
      if (labelled.some((u) => Math.abs(Y(u) - Y(t)) < 14)) continue;
      labelled.push(t);
      out.push(`<line x1="${m.left - 4}" x2="${m.left}" y1="${r(Y(t))}" y2="${r(Y(t))}" stroke="#888"/>`);
      out.push(`<text x="${m.left - 6}" y="${r(Y(t)) + 4}" text-anchor="end">${formatAxisTick(t)}</text>`);
    }
    for (const t of linearTicks(x0, x1, Math.max(2, Math.round(pw / 90)), integerSteps ? 1 : 0)) {
      out.push(`<line x1="${r(X(t))}" x2="${r(X(t))}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#888"/>`);
      out.push(`<text x="${r(X(t))}" y="${m.top + ph + 16}" text-anchor="middle">${formatAxisTick(t)}</text>`);
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
    merged.forEach((c, k) => {
      const y = m.top + 8 + 16 * k;
      const x = m.left + pw + 12;
      out.push(`<line x1="${x}" x2="${x + 16}" y1="${y}" y2="${y}" stroke="${SERIES_COLORS[k % SERIES_COLORS.length]}" stroke-width="2"/>`);
      out.push(`<text x="${x + 21}" y="${y + 4}">${escapeXml(c.name)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n');
}
