import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { curvesFromRecords, decimateCurve, livePlot, lossPlotFigure, lossPlotSpec, plotlyBundleHtml, plotlyChartHtml, showLossPlot } from './loss-plot';
import { vegaLiteToSvg } from './vega';

const log = [
  { step: 1, loss: 1.0, lr: 0.1 },
  { step: 2, loss: 0.5 },
  { step: 3, loss: 0.25, lr: 0.05 },
];

test('curvesFromRecords: one curve per key, only the steps that logged it', () => {
  assert.equal(curvesFromRecords(log), [
    { name: 'loss', steps: [1, 2, 3], values: [1, 0.5, 0.25] },
    { name: 'lr', steps: [1, 3], values: [0.1, 0.05] },
  ]);
});

test('decimateCurve: bucket means, short curves unchanged', () => {
  const c = { name: 'x', steps: [0, 1, 2, 3, 4, 5], values: [0, 2, 4, 6, 8, 10] };
  assert.equal(decimateCurve(c, 3), { name: 'x', steps: [0.5, 2.5, 4.5], values: [1, 5, 9] });
  assert.is(decimateCurve(c, 6), c);
});

test('plotly figure and chart HTML: traces, log axis, script-safe JSON', () => {
  const fig = lossPlotFigure(curvesFromRecords(log), { logY: true, title: 'a</script>' });
  assert.is(fig.data.length, 2);
  assert.equal((fig.layout as { yaxis: { type: string } }).yaxis.type, 'log');
  const html = plotlyChartHtml(fig, 'plot-1');
  assert.ok(html.startsWith('<div id="plot-1"'));
  assert.is(html.split('</script>').length, 2, 'only the closing tag of our script');
  assert.ok(html.includes('Plotly.react'));
});

test('the plotly bundle comes from the installed package and defines window.Plotly', () => {
  const html = plotlyBundleHtml('basic');
  assert.ok(html.length > 500_000);
  assert.ok(html.includes('window.Plotly = Plotly'));
  assert.ok(html.endsWith('})(undefined, undefined, undefined);</script>'));
});

test('outside tslab: showLossPlot is a no-op; livePlot collects values and throttles renders', () => {
  showLossPlot(curvesFromRecords(log));
  let t = 0;
  const live = livePlot({ everyMs: 1000, now: () => t });
  assert.is(live.update(0, { loss: 1 }), false, 'would render (first), but nothing to show outside tslab');
  t = 10;
  live.update(1, { loss: 0.5, acc: 0.1 });
  assert.equal(live.curves(), [
    { name: 'loss', steps: [0, 1], values: [1, 0.5] },
    { name: 'acc', steps: [1], values: [0.1] },
  ]);
  live.flush();
});

test('lossPlotSpec: long-format data that vega renders', async () => {
  const spec = lossPlotSpec(curvesFromRecords(log), { logY: true });
  assert.equal((spec.data as { values: unknown[] }).values[3], { step: 1, value: 0.1, series: 'lr' });
  const svg = await vegaLiteToSvg(spec);
  assert.ok(svg.includes('loss'));
});

test.run();
