import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Executes the notebooks headlessly through scripts/run-notebooks.mjs (tslab kernel, Debian's
// Jupyter) in smoke size and checks that rich outputs reached the executed copies:
// 00-display-check (every output kind), then 01-quickstart, 02-ablations, 03-neural-field and
// 04-samplers (about 2.5 minutes together on 2 cores, most of it each kernel's start and
// type-check of kernel-lib; 03 and 04 reuse the checkpoint 01 writes to runs/).
const JUPYTER = process.env.JUPYTER ?? '/usr/bin/jupyter';
const NOTEBOOK = 'notebooks/00-display-check.ipynb';

interface Output {
  output_type: string;
  name?: string;
  text?: unknown;
  data?: Record<string, unknown>;
}
interface Notebook {
  cells: Array<{ cell_type: string; outputs?: Output[] }>;
}

/** nbformat stores text as one string or as a list of lines. */
const joined = (v: unknown): string => (Array.isArray(v) ? v.join('') : String(v));

const run = existsSync(JUPYTER) ? test : test.skip;
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
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

const EXPERIMENT_NOTEBOOKS = ['01-quickstart', '02-ablations', '03-neural-field', '04-samplers'];

run('01-quickstart, 02-ablations, 03-neural-field and 04-samplers run headlessly in smoke size', () => {
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
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
