/**
 * Loss curves from a run's metrics.jsonl as a Vega-Lite spec (for files: writeFigure), one line
 * per loss part (total, fm, repa).
 */
import type { VegaLiteSpec } from './vega';

/** metrics records ({step, total, fm, repa?}) -> a Vega-Lite line chart, log-scaled loss. */
export function lossCurveSpec(metrics: readonly Record<string, number>[], title: string): VegaLiteSpec {
  const values = metrics.flatMap((r) => (['total', 'fm', 'repa'] as const).filter((k) => typeof r[k] === 'number').map((k) => ({ step: r.step, part: k, loss: r[k] })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 480,
    height: 260,
    data: { values },
    mark: { type: 'line', interpolate: 'monotone' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { type: 'log' } },
      color: { field: 'part', type: 'nominal', title: null },
    },
  };
}
