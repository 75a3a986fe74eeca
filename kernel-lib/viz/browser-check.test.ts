import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureDisplays, type DisplayMessage } from './display';
import { showChart } from './chart';
import { showLossPlot } from './loss-plot';
import { resetPlotlyBundle } from './plotly';
import { lossChartSvg } from './svg-chart';

// scripts/browser-check.mjs on small synthetic notebooks (Debian nbconvert + headless Chromium,
// about 15 s): the chart bundles this library sends pass; an SVG-only chart (what nbconvert 6.5
// shows as an empty box), an output 1400 px wide and a chart declared 1400 px wide fail.
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const NBCONVERT = process.env.JUPYTER_NBCONVERT ?? '/usr/bin/jupyter-nbconvert';
const missing = [CHROMIUM, NBCONVERT].filter((p) => !existsSync(p));
const run = missing.length === 0 ? test : test.skip;
if (missing.length) console.log(`SKIP browser check: ${missing.join(' and ')} not found (apt-get install -y --no-install-recommends chromium jupyter-nbconvert)`);

type Output = { output_type: 'display_data'; data: Record<string, unknown>; metadata: Record<string, unknown> };
const asOutput = (m: DisplayMessage): Output => ({ output_type: 'display_data', data: m.data, metadata: m.metadata });

function writeNotebook(path: string, outputs: Output[]): void {
  const nb = {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' }, language_info: { name: 'typescript' } },
    cells: [
      { cell_type: 'markdown', metadata: {}, source: '# synthetic notebook for scripts/browser-check.mjs' },
      { cell_type: 'code', execution_count: 1, metadata: {}, source: '// charts', outputs },
    ],
  };
  writeFileSync(path, JSON.stringify(nb, null, 1));
}

const steps = Array.from({ length: 300 }, (_, i) => i + 1);
const fm = steps.map((s) => 0.15 + 1.8 * Math.exp(-s / 40));
const curves = [
  { name: 'loss', steps, values: fm },
  { name: 'fm', steps, values: fm },
];

function checkRun(dir: string, notebooks: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['scripts/browser-check.mjs', '--out', join(dir, 'out'), ...notebooks], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

run('browser-check: library chart bundles pass; SVG-only, too wide and declared-too-wide outputs fail', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'browser-check-test-'));
  try {
    // what a kernel would receive from the library: a static chart, then an interactive one (plotly bundle + chart)
    resetPlotlyBundle();
    const good = await captureDisplays(() => {
      showChart({ svg: lossChartSvg(curves, { title: 'static', logY: true }), title: 'static' });
      showLossPlot(curves, { title: 'interactive', logY: true });
    });
    resetPlotlyBundle();
    assert.is(good.length, 3, 'static chart, plotly bundle, interactive chart');
    writeNotebook(join(dir, 'good.ipynb'), good.map(asOutput));
    // the static chart without its PNG (image/png and the HTML <img>): SVG only
    const svgOnly = asOutput(good[0]!);
    svgOnly.data = { 'image/svg+xml': svgOnly.data['image/svg+xml'], 'text/plain': 'chart' };
    svgOnly.metadata = {};
    writeNotebook(join(dir, 'bad-svg-only.ipynb'), [svgOnly]);
    writeNotebook(join(dir, 'bad-wide.ipynb'), [{ output_type: 'display_data', data: { 'text/html': '<div style="width:1400px;height:60px;background:#4c78a8"></div>' }, metadata: {} }]);
    const wide = await captureDisplays(() => showChart({ svg: lossChartSvg(curves, { width: 1400 }) }, { maxWidth: 2000 }));
    writeNotebook(join(dir, 'bad-wide-chart.ipynb'), wide.map(asOutput));

    const all = checkRun(dir, ['good', 'bad-svg-only', 'bad-wide', 'bad-wide-chart'].map((n) => join(dir, `${n}.ipynb`)));
    assert.is(all.status, 1, all.out);
    assert.match(all.out, /^PASS good +3 outputs, 2 images\/charts/m);
    assert.match(all.out, /^FAIL bad-svg-only/m);
    assert.match(all.out, /output 0 \(cell 1 .*image\/svg\+xml\): an SVG without content/);
    assert.match(all.out, /output 0 \(cell 1 .*image\/svg\+xml\): shows one flat colour/);
    assert.match(all.out, /^FAIL bad-wide /m);
    assert.match(all.out, /a <div> is 1400 px wide \(more than 1280\)/);
    assert.match(all.out, /^FAIL bad-wide-chart/m);
    assert.match(all.out, /a <img> declares width=1400/);
    assert.match(all.out, /^1 passed, 3 failed$/m);
    const shots = all.out.match(/^screenshots: (.+)$/m)?.[1];
    assert.ok(shots && existsSync(join(shots, 'good.png')) && existsSync(join(shots, 'bad-wide.png')), 'full-page screenshots');

    const ok = checkRun(dir, [join(dir, 'good.ipynb')]);
    assert.is(ok.status, 0, ok.out);
    assert.match(ok.out, /^1 passed, 0 failed$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
