import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { curvesFromRecords, decimateCurve, livePlot, lossPlotFigure, lossPlotSpec, mergeCoincidentCurves, plotlyBundleHtml, plotlyChartHtml, resetPlotlyBundle, showLossPlot } from './loss-plot';
import { captureDisplays } from './display';
import { PLOTLY_MIME } from './plotly';
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
  assert.ok(html.startsWith('<div id="plot-1-box" class="pixnerd-chart" data-pixnerd-chart="pending"'));
  assert.ok(html.includes('<div id="plot-1" '));
  assert.is(html.split('</script>').length, 2, 'only the closing tag of our script');
  assert.ok(html.includes('Plotly.react'));
  assert.not.ok(html.includes('<img'), 'no static picture unless given');
  const withPng = plotlyChartHtml(fig, 'plot-2', { png: new Uint8Array([137, 80, 78, 71]), width: 640, height: 300, alt: 'a "b"' });
  assert.ok(withPng.includes('<img class="pixnerd-chart-static" src="data:image/png;base64,iVBORw==" width="640" height="300" alt="a &quot;b&quot;"'));
  assert.ok(withPng.includes('max-width:640px'), 'the box is as wide as the static picture');
});

test('mergeCoincidentCurves: equal curves become one named "a = b"; others stay', () => {
  const a = { name: 'loss', steps: [1, 2], values: [1, 0.5] };
  assert.equal(mergeCoincidentCurves([a, { ...a, name: 'fm' }, { name: 'repa', steps: [1, 2], values: [1, 0.4] }]).map((c) => c.name), ['loss = fm', 'repa']);
  assert.equal(mergeCoincidentCurves([a, { name: 'fm', steps: [1, 2], values: [1, 0.5 * (1 + 1e-12)] }]).length, 1, 'to 1e-9 relative');
  assert.equal(mergeCoincidentCurves([a, { name: 'fm', steps: [1, 3], values: [1, 0.5] }]).length, 2, 'other steps');
});

test('lossPlotFigure: one trace for coinciding curves, a log axis over the data at 1-2-5 ticks, integer steps', () => {
  const steps = [1, 500, 1200];
  const fig = lossPlotFigure([{ name: 'loss', steps, values: [1.9, 0.3, 0.15] }, { name: 'fm', steps, values: [1.9, 0.3, 0.15] }], { logY: true, title: 'a <b>' });
  assert.equal(fig.data.map((t) => (t as { name: string }).name), ['loss = fm']);
  const layout = fig.layout as { yaxis: { type: string; range: number[]; tickvals: number[]; ticktext: string[] }; xaxis: { tickformat: string }; title: { text: string } };
  assert.is(layout.yaxis.type, 'log');
  assert.ok(Math.abs(layout.yaxis.range[0]! - -1) < 0.05 && Math.abs(layout.yaxis.range[1]! - Math.log10(2)) < 0.05, `range ${layout.yaxis.range} ~ [log 0.1, log 2]`);
  assert.ok(layout.yaxis.tickvals.includes(0.2) && layout.yaxis.ticktext.includes('0.2') && layout.yaxis.ticktext.includes('1000'));
  assert.is(layout.xaxis.tickformat, 'd');
  assert.is(layout.title.text, '<b>a &lt;b&gt;</b>');
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

test('lossPlotSpec: the log axis fits data in 0.2 ... 2 (not 0.1 ... 10), step labels are integers', async () => {
  const steps = Array.from({ length: 60 }, (_, i) => 20 * (i + 1));
  const curves = [0, 1].map((k) => ({ name: `v${k}`, steps, values: steps.map((s) => 0.2 + 0.05 * k + 1.75 * Math.exp(-s / 100)) }));
  const spec = lossPlotSpec(curves, { logY: true });
  const y = (spec.encoding as { y: { scale: { domain: number[]; nice: boolean }; axis: { values: number[] } } }).y;
  assert.equal(y.scale.domain, [0.2, 2]);
  assert.is(y.scale.nice, false);
  assert.equal(y.axis.values, [0.2, 0.5, 1, 2]);
  const svg = await vegaLiteToSvg(spec);
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  for (const want of ['0.2', '0.5', '1', '2', '1000', '1200']) assert.ok(texts.includes(want), `label ${want} in ${texts}`);
  assert.not.ok(texts.includes('10') || texts.includes('0.1') || texts.includes('1,000'), `${texts}`);
});

test('showLossPlot in a kernel: the plotly bundle once, then one bundle per chart (plotly JSON + HTML, SVG, PNG)', async () => {
  resetPlotlyBundle();
  const msgs = await captureDisplays(() => {
    showLossPlot(curvesFromRecords(log), { logY: true, title: 'one' });
    showLossPlot(curvesFromRecords(log), { title: 'two' });
  });
  resetPlotlyBundle();
  assert.is(msgs.length, 3);
  assert.equal(Object.keys(msgs[0]!.data), ['text/html']);
  assert.ok(String(msgs[0]!.data['text/html']).includes('window.Plotly = Plotly'));
  for (const m of msgs.slice(1)) {
    assert.equal(Object.keys(m.data).sort(), [PLOTLY_MIME, 'image/png', 'image/svg+xml', 'text/html', 'text/plain']);
    assert.equal(m.metadata, { 'image/png': { width: 640, height: 300 } });
    assert.ok(String(m.data['text/html']).includes('Plotly.react') && String(m.data['text/html']).includes('<img class="pixnerd-chart-static"'));
  }
});

test('livePlot in a kernel: one output (display id) updated in place, static SVG chart with chart svg', async () => {
  let t = 0;
  const msgs = await captureDisplays(() => {
    const live = livePlot({ chart: 'svg', everyMs: 1000, now: () => t });
    live.update(0, { loss: 1 });
    t = 10;
    live.update(1, { loss: 0.5 }); // throttled
    live.flush();
  });
  assert.is(msgs.length, 2);
  assert.equal(msgs.map((m) => m.update), [false, true]);
  assert.is(msgs[0]!.transient!.display_id, msgs[1]!.transient!.display_id);
  assert.not.ok(PLOTLY_MIME in msgs[1]!.data, 'svg mode: no plotly');
  assert.ok('image/png' in msgs[1]!.data && 'image/svg+xml' in msgs[1]!.data);
});

test.run();
