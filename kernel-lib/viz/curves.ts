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
