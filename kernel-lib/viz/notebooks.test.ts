import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Executes the notebooks headlessly through scripts/run-notebooks.mjs (tslab kernel, Debian's
// Jupyter) in smoke size, checks that rich outputs reached the executed copies and looks at
// them in headless Chromium (scripts/browser-check.mjs):
// 00-display-check (every output kind), then 01-quickstart, 02-ablations, 03-neural-field,
// 04-samplers and 05-pretrained (about 3 minutes together on 2 cores, most of it kernel starts;
// 03 and 04 reuse the checkpoint 01 writes to runs/, 05 the tiny.ckpt fixture).
const JUPYTER = process.env.JUPYTER ?? '/usr/bin/jupyter';
const NOTEBOOK = 'notebooks/00-display-check.ipynb';

interface Output {
  output_type: string;
  name?: string;
  text?: unknown;
  data?: Record<string, unknown>;
}
interface Notebook {
  cells: Array<{ cell_type: string; execution_count?: number | null; outputs?: Output[] }>;
}

/** nbformat stores text as one string or as a list of lines. */
const joined = (v: unknown): string => (Array.isArray(v) ? v.join('') : String(v));

const run = existsSync(JUPYTER) ? test : test.skip;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * scripts/browser-check.mjs on the executed copies in `dir` (nbconvert HTML in headless
 * Chromium at 1280 px: every chart and image drawn, no page errors, nothing wider than the
 * window). Skipped, with a line saying so, where Chromium is not installed.
 */
function browserCheck(dir: string, count: number): void {
  if (!existsSync(CHROMIUM)) {
    console.log(`SKIP browser check of ${dir}: ${CHROMIUM} not found (apt-get install -y --no-install-recommends chromium)`);
    return;
  }
  const r = spawnSync(process.execPath, ['scripts/browser-check.mjs', '--out', join(dir, 'browser-check'), dir], { encoding: 'utf8', timeout: 180_000 });
  assert.is(r.status, 0, `browser check failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^${count} passed, 0 failed$`, 'm'));
}

/** Every code cell of an executed notebook has its execution count (In [n]:, numbered in run order). */
function assertNumbered(name: string, nb: Notebook): void {
  const counts = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.execution_count);
  assert.equal(counts, counts.map((_, i) => i + 1), `${name}: execution counts`);
}
if (!existsSync(JUPYTER)) {
  console.log(`SKIP notebook execution: ${JUPYTER} not found (apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client python3-nbformat)`);
}

run('00-display-check runs headlessly and shows PNG, HTML and SVG outputs', () => {
  const out = mkdtempSync(join(tmpdir(), 'nb-test-'));
  try {
    const r = spawnSync(process.execPath, ['scripts/run-notebooks.mjs', '--out', out, NOTEBOOK], { encoding: 'utf8' });
    assert.is(r.status, 0, `run-notebooks failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^PASS 00-display-check\.ipynb +\d+\.\d s$/m);
    assert.match(r.stdout, /^1 passed, 0 failed$/m);
    const nb = JSON.parse(readFileSync(join(out, '00-display-check.ipynb'), 'utf8')) as Notebook;
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    const mimes = new Set(outputs.flatMap((o) => Object.keys(o.data ?? {})));
    for (const mime of ['image/png', 'text/html', 'image/svg+xml']) assert.ok(mimes.has(mime), `no ${mime} output; got ${[...mimes]}`);
    const html = outputs.flatMap((o) => (o.data?.['text/html'] ? [joined(o.data['text/html'])] : []));
    assert.ok(html.some((h) => h.includes('window.Plotly = Plotly')), 'the plotly bundle is inlined');
    assert.ok(html.some((h) => h.includes('Plotly.react')), 'a plotly chart');
    assert.ok(html.some((h) => h.includes('<progress')), 'the progress bar');
    const stderr = outputs.filter((o) => o.name === 'stderr').map((o) => joined(o.text));
    assert.equal(stderr, [], 'nothing on stderr');
    const stdout = outputs.filter((o) => o.name === 'stdout').map((o) => joined(o.text)).join('');
    assert.match(stdout, /in tslab: true, backend: wasm, size: smoke/);
    // 1500 updates from a synchronous loop reach the notebook and leave the kernel alive (scripts/tslab-kernel.cjs)
    assert.match(stdout, /1500 updates sent/);
    assert.ok(outputs.some((o) => joined(o.data?.['text/plain'] ?? '') === 'update 1500 of 1500'), 'the last update is the saved output');
    assertNumbered('00', nb);
    browserCheck(out, 1);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

const EXPERIMENT_NOTEBOOKS = ['01-quickstart', '02-ablations', '03-neural-field', '04-samplers', '05-pretrained'];

run('01-quickstart, 02-ablations, 03-neural-field, 04-samplers and 05-pretrained run headlessly in smoke size', () => {
  const out = mkdtempSync(join(tmpdir(), 'nb-test-'));
  try {
    const paths = EXPERIMENT_NOTEBOOKS.map((n) => `notebooks/${n}.ipynb`);
    const r = spawnSync(process.execPath, ['scripts/run-notebooks.mjs', '--out', out, ...paths], { encoding: 'utf8' });
    assert.is(r.status, 0, `run-notebooks failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^${EXPERIMENT_NOTEBOOKS.length} passed, 0 failed$`, 'm'));
    for (const name of EXPERIMENT_NOTEBOOKS) {
      assert.match(r.stdout, new RegExp(`^PASS ${name}\\.ipynb +\\d+\\.\\d s$`, 'm'));
      const nb = JSON.parse(readFileSync(join(out, `${name}.ipynb`), 'utf8')) as Notebook;
      const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
      const mime = name === '02-ablations' ? 'image/svg+xml' : 'image/png'; // 02 has charts, no images
      assert.ok(outputs.some((o) => o.data?.[mime]), `${name}: no ${mime} output`);
      assert.equal(outputs.filter((o) => o.output_type === 'error' || o.name === 'stderr').map((o) => joined(o.text)), [], `${name}: nothing on stderr`);
      const stdout = outputs.filter((o) => o.name === 'stdout').map((o) => joined(o.text)).join('');
      assert.match(stdout, /^backend \w+ \(/m, `${name}: prints the backend line`);
    }
    const nf = JSON.parse(readFileSync(join(out, '03-neural-field.ipynb'), 'utf8')) as Notebook;
    assert.ok(nf.cells.flatMap((c) => c.outputs ?? []).some((o) => o.data?.['image/svg+xml']), '03: vega-lite charts');
    const ab = JSON.parse(readFileSync(join(out, '02-ablations.ipynb'), 'utf8')) as Notebook;
    const abOut = ab.cells.flatMap((c) => c.outputs ?? []);
    const markdown = abOut.flatMap((o) => (o.data?.['text/markdown'] ? [joined(o.data['text/markdown'])] : []));
    assert.ok(markdown.some((m) => m.startsWith('### smoke-head') && m.includes('**Smoke results**')), '02: the experiment heading says smoke results');
    const tables = abOut.flatMap((o) => (o.data?.['text/html'] ? [joined(o.data['text/html'])] : []));
    assert.ok(tables.some((h) => h.includes('<table') && h.includes('4 / 4')), '02: the overview table, 4 of 4 runs');
    assert.ok(tables.some((h) => h.includes('<table') && h.includes('final loss')), '02: the summary table');
    // interactive where it helps: ablation points (hover: run, seed, value) and field weights (hover: value)
    const plotly = (o: Output) => (o.data?.['text/html'] ? joined(o.data['text/html']) : '');
    assert.ok(abOut.some((o) => plotly(o).includes('Plotly.react') && plotly(o).includes('seed: %{customdata[2]}')), '02: the interactive metric grid');
    assert.ok(nf.cells.flatMap((c) => c.outputs ?? []).some((o) => plotly(o).includes('Plotly.react') && plotly(o).includes('heatmap')), '03: the interactive field weights');
    for (const name of EXPERIMENT_NOTEBOOKS) assertNumbered(name, JSON.parse(readFileSync(join(out, `${name}.ipynb`), 'utf8')) as Notebook);
    const pre = JSON.parse(readFileSync(join(out, '05-pretrained.ipynb'), 'utf8')) as Notebook;
    assert.match(joined(pre.cells.find((c) => c.cell_type === 'code')!.outputs![0]!.text), /^PIXNERD_CHECKPOINT is not set: using the test fixture \.\.\/shared\/fixtures\/checkpoints\/tiny\.ckpt/);
    browserCheck(out, EXPERIMENT_NOTEBOOKS.length);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
