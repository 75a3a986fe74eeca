/**
 * Curves (one value per logged step) and the options every loss chart takes: shared by the
 * plotly and Vega-Lite charts (loss-plot.ts) and the plain SVG chart (svg-chart.ts).
 */
/** One curve: values[i] was logged at steps[i]. */
export interface Curve {
  name: string;
  steps: number[];
  values: number[];
}

export interface LossPlotOptions {
  title?: string;
  /** Default 'step'. */
  xLabel?: string;
  /** Default 'loss'. */
  yLabel?: string;
  /** Logarithmic y axis. */
  logY?: boolean;
  /** Chart height in px (default 360). */
  height?: number;
  /** Curves longer than this are drawn as this many bucket means (default 4000). */
  maxPoints?: number;
}

/** The curves in a list of log records `{step, loss, lr, ...}`: one curve per other numeric key. */
export function curvesFromRecords(records: ReadonlyArray<{ step: number } & Record<string, number | undefined>>): Curve[] {
  const byName = new Map<string, Curve>();
  for (const rec of records) {
    for (const [name, value] of Object.entries(rec)) {
      if (name === 'step' || typeof value !== 'number') continue;
      let c = byName.get(name);
      if (!c) byName.set(name, (c = { name, steps: [], values: [] }));
      c.steps.push(rec.step);
      c.values.push(value);
    }
  }
  return [...byName.values()];
}

/** Whether two curves have the same steps and (to 1e-9 relative) the same values. */
export function curvesCoincide(a: Curve, b: Curve): boolean {
  if (a.steps.length !== b.steps.length) return false;
  for (let i = 0; i < a.steps.length; i++) {
    if (a.steps[i] !== b.steps[i]) return false;
    const [u, v] = [a.values[i]!, b.values[i]!];
    if (!(u === v || Math.abs(u - v) <= 1e-9 * Math.max(Math.abs(u), Math.abs(v)))) return false;
  }
  return true;
}

/**
 * The curves with every curve that coincides with an earlier one folded into it, named
 * `loss = fm` (e.g. without REPA the total loss is the flow-matching loss): a chart then draws
 * one line instead of one hidden under the other, and its legend says that both are there.
 */
export function mergeCoincidentCurves(curves: readonly Curve[]): Curve[] {
  const out: Curve[] = [];
  for (const c of curves) {
    const k = out.findIndex((o) => o.steps.length > 0 && curvesCoincide(o, c));
    if (k >= 0) out[k] = { ...out[k]!, name: `${out[k]!.name} = ${c.name}` };
    else out.push(c);
  }
  return out;
}

/**
 * At most `maxPoints` points: consecutive buckets of equal size replaced by their mean step and
 * mean value (this also smooths noisy losses). Shorter curves are returned as they are.
 */
export function decimateCurve(c: Curve, maxPoints: number): Curve {
  const n = c.steps.length;
  if (n <= maxPoints) return c;
  const steps: number[] = [];
  const values: number[] = [];
  for (let b = 0; b < maxPoints; b++) {
    const lo = Math.floor((b * n) / maxPoints);
    const hi = Math.floor(((b + 1) * n) / maxPoints);
    let s = 0;
    let v = 0;
    for (let i = lo; i < hi; i++) {
      s += c.steps[i]!;
      v += c.values[i]!;
    }
    steps.push(s / (hi - lo));
    values.push(v / (hi - lo));
  }
  return { name: c.name, steps, values };
}
