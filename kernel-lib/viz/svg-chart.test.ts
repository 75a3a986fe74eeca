import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Resvg } from '@resvg/resvg-js';
import { linearTicks, logTicks, lossChartSvg, SERIES_COLORS } from './svg-chart';
import { livePlot } from './loss-plot';

test('linearTicks: round steps of 1, 2 or 5 x 10^k inside the range', () => {
  assert.equal(linearTicks(0, 400, 5), [0, 100, 200, 300, 400]);
  assert.equal(linearTicks(0.13, 0.52, 4), [0.2, 0.3, 0.4, 0.5]);
  assert.equal(linearTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
  assert.equal(linearTicks(3, 3), [3]);
});

test('logTicks: decades over long ranges, 1-2-5 or every digit over short ones', () => {
  assert.equal(logTicks(0.001, 10), [0.001, 0.01, 0.1, 1, 10]);
  assert.equal(logTicks(0.15, 2), [0.2, 0.5, 1, 2]);
  assert.equal(logTicks(0.21, 1.8), [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  assert.equal(logTicks(0.25, 0.9), [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.ok(logTicks(0.31, 0.39).length >= 2, 'a range without a round tick still gets two');
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
