import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Resvg } from '@resvg/resvg-js';
import { formatAxisTick, linearTicks, logAxis, logTicks, lossChartSvg, SERIES_COLORS } from './svg-chart';
import { livePlot } from './loss-plot';

test('linearTicks: round steps of 1, 2 or 5 x 10^k inside the range; minStep 1 keeps step axes integer', () => {
  assert.equal(linearTicks(0, 400, 5), [0, 100, 200, 300, 400]);
  assert.equal(linearTicks(0.13, 0.52, 4), [0.2, 0.3, 0.4, 0.5]);
  assert.equal(linearTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
  assert.equal(linearTicks(3, 3), [3]);
  assert.equal(linearTicks(0, 2, 4), [0, 0.5, 1, 1.5, 2]);
  assert.equal(linearTicks(0, 2, 4, 1), [0, 1, 2]);
  assert.equal(linearTicks(1, 1200, 5, 1), [200, 400, 600, 800, 1000, 1200]);
});

test('logAxis: the data rounded out to 1-2-5 ticks, so that labels cover it', () => {
  // the 01 loss: from about 1.9 down to 0.15 -> labels 0.1 ... 2
  assert.equal(logAxis(0.15, 1.9), { domain: [0.1, 2], ticks: [0.1, 0.2, 0.5, 1, 2] });
  // the ablation loss charts: data in 0.2 ... 2, not vega's 0.1 ... 10
  assert.equal(logAxis(0.2, 2), { domain: [0.2, 2], ticks: [0.2, 0.5, 1, 2] });
  assert.equal(logAxis(0.21, 1.8).domain, [0.2, 2]);
  // more than 4 decades: powers of ten; less than a factor 2.2: every digit
  assert.equal(logAxis(0.003, 900).ticks, [0.001, 0.01, 0.1, 1, 10, 100, 1000]);
  assert.equal(logAxis(0.31, 0.39), { domain: [0.3, 0.4], ticks: [0.3, 0.4] });
  assert.equal(logAxis(0.5, 0.5), { domain: [0.4, 0.6], ticks: [0.4, 0.5, 0.6] }, 'one value gets a tick either side');
  assert.equal(logTicks(0.001, 10).slice(0, 4), [0.001, 0.002, 0.005, 0.01]);
  assert.throws(() => logAxis(0, 1), /0 < lo/);
});

test('formatAxisTick: plain numbers (1000, 1200, not 1e+3), exponents only when tiny or huge', () => {
  assert.equal([0, 1000, 1200, 12345, 0.05, 0.1, 2, 0.30000000000000004, 1e-5, 2.5e8, -0.5].map(formatAxisTick), ['0', '1000', '1200', '12345', '0.05', '0.1', '2', '0.3', '1e-5', '2.5e+8', '-0.5']);
});

const labels = (svg: string) => [...svg.matchAll(/text-anchor="(?:end|middle)">([^<]*)<\/text>/g)].map((m) => m[1]!);

test('lossChartSvg: loss and fm that coincide are one line named "loss = fm"; log labels cover the data; integer step labels', () => {
  const steps = Array.from({ length: 1200 }, (_, i) => i + 1);
  const fm = steps.map((s) => 0.15 + 1.75 * Math.exp(-s / 60));
  const svg = lossChartSvg([{ name: 'loss', steps, values: fm }, { name: 'fm', steps, values: [...fm] }], { logY: true, title: 't' });
  assert.is(svg.match(/<polyline /g)!.length, 1, 'one line');
  assert.ok(svg.includes('>loss = fm</text>'), 'the legend names both');
  const ls = labels(svg);
  for (const want of ['0.1', '0.2', '0.5', '1', '2', '1000', '1200']) assert.ok(ls.includes(want), `label ${want} in ${ls}`);
  assert.not.ok(ls.some((l) => l.includes('e+')), `no exponent labels: ${ls}`);
  // different curves stay apart
  const two = lossChartSvg([{ name: 'loss', steps, values: fm }, { name: 'fm', steps, values: fm.map((v) => v * 0.9) }], { logY: true });
  assert.is(two.match(/<polyline /g)!.length, 2);
});

test('lossChartSvg: one polyline per curve, title, axes, legend; valid SVG that rasterises', () => {
  const curves = [
    { name: 'loss', steps: [1, 2, 3, 4], values: [1, 0.5, 0.3, 0.25] },
    { name: 'fm <x>', steps: [1, 2, 3, 4], values: [0.9, 0.45, 0.28, 0.2] },
  ];
  const svg = lossChartSvg(curves, { title: 'training & loss', logY: true, width: 500, height: 260 });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="500" height="260"'));
  assert.is(svg.match(/<polyline /g)!.length, 2);
  assert.ok(svg.includes(`stroke="${SERIES_COLORS[1]}"`));
  assert.ok(svg.includes('training &amp; loss'), 'text is escaped');
  assert.ok(svg.includes('fm &lt;x&gt;'), 'legend names are escaped');
  assert.ok(svg.includes('>step</text>') && svg.includes('>loss</text>'));
  const png = new Resvg(svg).render();
  assert.is(png.width, 500);
  assert.is(png.height, 260);
});

test('lossChartSvg: a log axis skips values <= 0; one point, one curve (no legend) and no data still draw', () => {
  const svg = lossChartSvg([{ name: 'x', steps: [0, 1, 2], values: [0, 1, 2] }], { logY: true });
  const points = svg.match(/points="([^"]*)"/)![1]!.split(' ');
  assert.is(points.length, 2);
  assert.is(lossChartSvg([{ name: 'x', steps: [5], values: [0.5] }]).match(/<polyline /g)!.length, 1);
  assert.not.match(lossChartSvg([{ name: 'x', steps: [5], values: [0.5] }]), /stroke-width="2"/, 'no legend for one curve');
  const empty = lossChartSvg([]);
  assert.not.match(empty, /<polyline/);
  assert.match(empty, /<\/svg>$/);
});

test('livePlot with chart svg: collects outside tslab and renders nothing there', () => {
  const live = livePlot({ chart: 'svg', everyMs: 0 });
  assert.is(live.update(0, { loss: 1 }), false);
  live.flush();
  assert.equal(live.curves(), [{ name: 'loss', steps: [0], values: [1] }]);
});

test.run();
