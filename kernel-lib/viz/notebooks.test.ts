import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Executes notebooks/00-display-check.ipynb headlessly through scripts/run-notebooks.mjs (tslab
// kernel, Debian's Jupyter) and checks that rich outputs reached the executed copy.
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
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
