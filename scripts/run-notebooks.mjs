#!/usr/bin/env node
// Executes notebooks headlessly with the project's tslab kernel (Debian's Jupyter nbconvert)
// and closes with the line `N passed, N failed`. Exit code 1 if any notebook fails.
//
// Usage: node scripts/run-notebooks.mjs [--full] [--inplace] [--out DIR] [--timeout S] [notebook.ipynb ...]
//   default notebooks: notebooks/*.ipynb, in name order
//   PIXNERD_NOTEBOOK_SIZE=smoke in the kernel's environment (--full: full)
//   executed copies go to --out (default a fresh temp folder); --inplace rewrites the notebooks
//   --timeout: seconds per cell (default 600)
//   JUPYTER=/path/to/jupyter overrides /usr/bin/jupyter
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { LOCAL_JUPYTER_PATH, PROJECT_ROOT, writeKernelSpec } from './install-kernel.mjs';

function parseArgs(argv) {
  const opts = { full: false, inplace: false, out: null, timeout: 600, notebooks: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--full') opts.full = true;
    else if (a === '--inplace') opts.inplace = true;
    else if (a === '--out') opts.out = argv[++i];
    else if (a === '--timeout') opts.timeout = Number(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.notebooks.push(resolve(a));
  }
  if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) throw new Error('--timeout needs a number of seconds > 0');
  if (opts.inplace && opts.out) throw new Error('--inplace and --out exclude each other');
  return opts;
}

/** Runs one notebook; resolves to {ok, seconds, tail}. */
function runNotebook(jupyter, nb, opts, outDir, env) {
  const args = [
    'nbconvert',
    '--config', join(PROJECT_ROOT, 'scripts', 'nbconvert_config.py'), // a failing cell's stderr in the error
    '--to', 'notebook',
    '--execute', nb,
    `--ExecutePreprocessor.timeout=${opts.timeout}`,
    '--ExecutePreprocessor.kernel_name=tslab',
  ];
  if (opts.inplace) args.push('--inplace');
  else args.push('--output-dir', outDir, '--output', basename(nb));
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(jupyter, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', (e) => done({ ok: false, seconds: (performance.now() - t0) / 1000, tail: String(e) }));
    child.on('close', (code) => {
      // On a cell error keep nbclient's message (the cell and its stderr), not the Python traceback.
      const at = log.indexOf('CellExecutionError:');
      const tail = (at >= 0 ? log.slice(at) : log).trim().split('\n').slice(-60).join('\n');
      done({ ok: code === 0, seconds: (performance.now() - t0) / 1000, tail });
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const jupyter = process.env.JUPYTER ?? '/usr/bin/jupyter';
  if (!existsSync(jupyter)) {
    console.error(`${jupyter} not found: apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client python3-nbformat`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const notebooks = opts.notebooks.length
    ? opts.notebooks
    : readdirSync(join(PROJECT_ROOT, 'notebooks'))
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
        .map((f) => join(PROJECT_ROOT, 'notebooks', f));
  writeKernelSpec(LOCAL_JUPYTER_PATH);
  const outDir = opts.inplace ? null : (opts.out ? resolve(opts.out) : mkdtempSync(join(tmpdir(), 'pixnerd-notebooks-')));
  if (outDir) mkdirSync(outDir, { recursive: true });
  const env = {
    ...process.env,
    JUPYTER_PATH: [LOCAL_JUPYTER_PATH, process.env.JUPYTER_PATH].filter(Boolean).join(':'),
    PIXNERD_NOTEBOOK_SIZE: opts.full ? 'full' : 'smoke',
    // connection files; a temp folder works where HOME is read-only
    JUPYTER_RUNTIME_DIR: process.env.JUPYTER_RUNTIME_DIR ?? join(tmpdir(), 'pixnerd-jupyter-runtime'),
  };
  // Debian's Jupyter runs on /usr/bin/python3; another Python's settings must not leak in.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  // A kernel has no terminal. uvu (the test runner) sets FORCE_COLOR, scripts/run-tests.mjs sets
  // NO_COLOR, and with both Node writes a warning to the notebook's stderr.
  delete env.FORCE_COLOR;
  console.log(`running ${notebooks.length} notebook(s), PIXNERD_NOTEBOOK_SIZE=${env.PIXNERD_NOTEBOOK_SIZE}, output: ${outDir ?? 'in place'}`);
  let passed = 0;
  let failed = 0;
  for (const nb of notebooks) {
    const r = await runNotebook(jupyter, nb, opts, outDir, env);
    const name = basename(nb);
    if (r.ok) {
      passed++;
      console.log(`PASS ${name}  ${r.seconds.toFixed(1)} s`);
    } else {
      failed++;
      console.log(`FAIL ${name}  ${r.seconds.toFixed(1)} s\n${r.tail.replace(/^/gm, '  | ')}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e.message);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
