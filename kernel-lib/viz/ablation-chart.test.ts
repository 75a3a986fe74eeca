import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ablationChartSpec, summariseAblation } from './ablation-chart';
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

test.run();
