import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chartBundle, compactChart, fitSvg, MAX_CHART_WIDTH, newChartHandle, pngSize, showChart, svgSize, svgToPng } from './chart';
import { captureDisplays } from './display';
import { PLOTLY_MIME, resetPlotlyBundle } from './plotly';
import { lossChartSvg } from './svg-chart';

const rect = (w: number, h: number, extra = '') => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"${extra}><rect width="${w}" height="${h}" fill="#4c78a8"/></svg>`;

test('svgSize: width and height attributes, else the viewBox', () => {
  assert.equal(svgSize(rect(611, 317)), { width: 611, height: 317 });
  assert.equal(svgSize('<?xml version="1.0"?>\n<svg viewBox="0 0 300 200" xmlns="http://www.w3.org/2000/svg"/>'), { width: 300, height: 200 });
  assert.equal(svgSize('<svg width="40px" height="20px"/>'), { width: 40, height: 20 });
  assert.throws(() => svgSize('<div/>'), /not an SVG/);
});

test('fitSvg: wider than 1200 px is scaled down as a whole (viewBox keeps the drawing); narrower is unchanged', () => {
  const wide = rect(1321, 603);
  const fitted = fitSvg(wide);
  assert.equal(svgSize(fitted), { width: MAX_CHART_WIDTH, height: Math.round((603 * 1200) / 1321 * 100) / 100 });
  assert.match(fitted, /viewBox="0 0 1321 603"/);
  const png = svgToPng(fitted, 1);
  assert.is(pngSize(png).width, 1200);
  assert.is(fitSvg(rect(640, 300)), rect(640, 300));
  assert.match(fitSvg(rect(2000, 100, ' viewBox="0 0 2000 100"'), 1000), /^<svg width="1000" height="50" xmlns=/);
});

test('chartBundle: SVG + 2x PNG shown at the SVG size + an HTML <img> + text; a 1222 px PNG of a 611 px chart is shown 611 wide', () => {
  const b = chartBundle({ svg: rect(611, 317), title: 'a & b' });
  assert.equal(Object.keys(b.data).sort(), ['image/png', 'image/svg+xml', 'text/html', 'text/plain']);
  assert.equal(pngSize(b.data['image/png'] as Uint8Array), { width: 1222, height: 634 });
  assert.equal(b.metadata, { 'image/png': { width: 611, height: 317 } });
  const html = b.data['text/html'] as string;
  assert.match(html, /^<div class="pixnerd-chart" data-pixnerd-chart="static" style="max-width:611px"><img class="pixnerd-chart-static" src="data:image\/png;base64,[A-Za-z0-9+/=]+" width="611" height="317" alt="a &amp; b" style="max-width:100%;height:auto"><\/div>$/);
  assert.is(b.data['text/plain'], '<chart: a & b>');
  // too wide: everything at 1200
  const wide = chartBundle({ svg: rect(1321, 603) });
  assert.is((wide.metadata!['image/png'] as { width: number }).width, 1200);
  assert.is(svgSize(wide.data['image/svg+xml'] as string).width, 1200);
  assert.is(pngSize(wide.data['image/png'] as Uint8Array).width, 2400);
  assert.throws(() => chartBundle({}), /needs an svg or a png/);
});

test('chartBundle: a given PNG (heatmaps) with its pixel ratio; plotly adds the JSON and the interactive HTML', () => {
  const png = svgToPng(rect(100, 50), 1);
  const fig = { data: [{ type: 'scatter', x: [1], y: [2] }], layout: { height: 300 } };
  const b = chartBundle({ png, plotly: fig, title: 'field' });
  assert.equal(Object.keys(b.data).sort(), [PLOTLY_MIME, 'image/png', 'text/html', 'text/plain']);
  assert.equal(b.metadata, { 'image/png': { width: 100, height: 50 } });
  assert.is(b.data[PLOTLY_MIME], fig);
  const html = b.data['text/html'] as string;
  assert.ok(html.includes('data-pixnerd-chart="pending"') && html.includes('Plotly.react') && html.includes('<img class="pixnerd-chart-static"'));
  assert.is(b.data['text/plain'], '<interactive chart: field>');
  const half = chartBundle({ png: svgToPng(rect(100, 50), 2), pngScale: 2 });
  assert.equal(half.metadata, { 'image/png': { width: 100, height: 50 } });
});

test('compactChart: a palette PNG, smaller, same pixel size', async () => {
  const svg = lossChartSvg([{ name: 'loss', steps: [1, 2, 3, 4], values: [1, 0.5, 0.3, 0.25] }], { title: 'x', logY: true });
  const c = await compactChart({ svg });
  const plain = svgToPng(svg, 2);
  assert.ok(c.png!.length < plain.length, `${c.png!.length} < ${plain.length}`);
  assert.equal(pngSize(c.png!), pngSize(plain));
  assert.equal(chartBundle(c).metadata, { 'image/png': svgSize(svg) });
});

test('showChart / newChartHandle: nothing outside a kernel; in one, the plotly bundle goes out once before the first interactive chart', async () => {
  showChart({ svg: rect(10, 10) });
  assert.is(newChartHandle().live, false);
  resetPlotlyBundle();
  const fig = { data: [], layout: {} };
  const msgs = await captureDisplays(() => {
    showChart({ svg: rect(10, 10) });
    const h = newChartHandle();
    h.show({ svg: rect(10, 10), plotly: fig });
    h.show({ svg: rect(20, 10), plotly: fig });
    showChart({ svg: rect(10, 10), plotly: fig });
  });
  resetPlotlyBundle();
  assert.equal(
    msgs.map((m) => [m.update, String(m.data['text/html']).includes('window.Plotly = Plotly') ? 'bundle' : String(m.data['text/plain'])]),
    [[false, '<chart: chart>'], [false, 'bundle'], [false, '<interactive chart: chart>'], [true, '<interactive chart: chart>'], [false, '<interactive chart: chart>']],
  );
});

test.run();
