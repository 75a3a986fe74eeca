import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ablationChartSpec, ablationFigure, ablationGridSpec, showAblationCharts, summariseAblation, type AblationPanel } from './ablation-chart';
import { captureDisplays } from './display';
import { PLOTLY_MIME, resetPlotlyBundle } from './plotly';
import { svgSize } from './chart';
import { vegaLiteToSvg } from './vega';

const runs = [
  { variant: 'dct', value: 10 },
  { variant: 'dct', value: 12 },
  { variant: 'sincos', value: 15 },
  { variant: 'dct', value: 14 },
  { variant: 'none', value: 20 },
];

test('summariseAblation: mean and spread per variant, in first-appearance order', () => {
  const std = summariseAblation(runs, 'std');
  assert.equal(std.map((r) => r.variant), ['dct', 'sincos', 'none']);
  // dct: mean 12, sample std sqrt(((-2)^2 + 0 + 2^2) / 2) = 2
  assert.equal(std[0], { variant: 'dct', n: 3, mean: 12, lo: 10, hi: 14 });
  assert.equal(std[1], { variant: 'sincos', n: 1, mean: 15, lo: 15, hi: 15 });
  const sem = summariseAblation(runs, 'sem')[0]!;
  assert.ok(Math.abs(sem.hi - (12 + 2 / Math.sqrt(3))) < 1e-12);
  assert.equal(summariseAblation(runs, 'minmax')[0], { variant: 'dct', n: 3, mean: 12, lo: 10, hi: 14 });
  assert.throws(() => summariseAblation([{ variant: 'x', value: Number.NaN }]), /variant 'x'/);
});

test('ablationChartSpec: variant order, error bar layer, renders to SVG', async () => {
  const spec = ablationChartSpec(runs, { metric: 'FID', better: 'lower' });
  const layer = spec.layer as Array<{ mark: { type: string }; encoding: Record<string, { field?: string; title?: string; sort?: string[] }> }>;
  assert.equal(layer.map((l) => l.mark.type), ['rule', 'point']);
  assert.equal(layer[0]!.encoding.x!.sort, ['dct', 'sincos', 'none']);
  assert.equal([layer[0]!.encoding.y!.field, layer[0]!.encoding.y2!.field], ['lo', 'hi']);
  assert.is(layer[1]!.encoding.y!.title, 'FID (lower is better)');
  const svg = await vegaLiteToSvg(spec);
  assert.ok(svg.includes('sincos'));
});

test('ablationChartSpec: y fits the data (no forced zero) on both layers; long labels are slanted, short ones not', () => {
  const six = ['linear-p16', 'linear-p4', 'linear-p8', 'nerf-p16', 'nerf-p4', 'nerf-p8'].map((variant, k) => ({ variant, value: 0.2 + k / 10 }));
  const spec = ablationChartSpec(six, { metric: 'final loss' });
  const layer = spec.layer as Array<{ encoding: { x: { axis: { labelAngle: number } }; y: { scale: { zero: boolean } } } }>;
  assert.equal(layer.map((l) => l.encoding.y.scale.zero), [false, false]);
  assert.is(spec.width, 300);
  assert.is(layer[0]!.encoding.x.axis.labelAngle, -30);
  const short = ablationChartSpec(runs, { metric: 'FID' }).layer as typeof layer;
  assert.is(short[0]!.encoding.x.axis.labelAngle, 0);
});

const variants = ['linear-p16', 'linear-p4', 'linear-p8', 'nerf-p16', 'nerf-p4', 'nerf-p8'];
const panels: AblationPanel[] = ['FID', 'class accuracy', 'precision', 'recall', 'final loss', 'ms / step'].map((metric, m) => ({
  metric,
  better: m % 2 ? 'higher' : 'lower',
  runs: variants.flatMap((variant, k) => [0, 1, 2].map((seed) => ({ variant, seed, run: `${variant}/seed-${seed}`, value: (m + 1) * (1 + 0.3 * k + 0.01 * seed) }))),
}));

test('ablationGridSpec: six metrics of six variants render at most 1200 px wide (02 was 1321)', async () => {
  assert.is(ablationGridSpec([]), null);
  const spec = ablationGridSpec(panels, { title: 'ablation-head' })!;
  assert.is(spec.columns, 3);
  assert.is((spec.concat as unknown[]).length, 6);
  const { width } = svgSize(await vegaLiteToSvg(spec));
  assert.ok(width <= 1200, `${width} px`);
});

test('ablationFigure: a subplot per metric; runs hover with variant, run, seed and value; means with error bars', () => {
  const fig = ablationFigure(panels, { title: 'ablation-head' });
  const layout = fig.layout as Record<string, { domain?: number[]; ticktext?: string[] }>;
  assert.is(fig.data.length, 12, 'runs and means per metric');
  assert.equal(layout.xaxis6!.ticktext, variants);
  assert.ok(layout.xaxis!.domain![1]! <= layout.xaxis2!.domain![0]!, 'side by side');
  const runsTrace = fig.data[0] as { customdata: string[][]; hovertemplate: string; y: number[]; x: number[] };
  assert.equal(runsTrace.customdata[1], ['linear-p16', 'linear-p16/seed-1', '1']);
  assert.match(runsTrace.hovertemplate, /run: %\{customdata\[1\]\}<br>seed: %\{customdata\[2\]\}<br>FID: %\{y:.4g\}/);
  assert.equal(runsTrace.x.slice(0, 3), [-0.15, 0, 0.15], 'seeds side by side around their variant');
  const means = fig.data[1] as { y: number[]; error_y: { array: number[]; arrayminus: number[] } };
  assert.ok(Math.abs(means.y[0]! - 1.01) < 1e-12);
  assert.ok(means.error_y.array[0]! > 0 && means.error_y.arrayminus[0]! > 0);
});

test('showAblationCharts: the spec outside tslab; in a kernel one bundle with plotly, SVG and PNG', async () => {
  assert.ok(await showAblationCharts(panels.slice(0, 2)));
  resetPlotlyBundle();
  const msgs = await captureDisplays(() => showAblationCharts(panels, { title: 'ablation-head' }));
  resetPlotlyBundle();
  assert.is(msgs.length, 2, 'the plotly bundle, then the chart');
  assert.equal(Object.keys(msgs[1]!.data).sort(), [PLOTLY_MIME, 'image/png', 'image/svg+xml', 'text/html', 'text/plain']);
  assert.ok(((msgs[1]!.metadata['image/png'] as { width: number }).width) <= 1200);
});

test.run();
