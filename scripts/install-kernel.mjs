#!/usr/bin/env node
// Writes a tslab (TypeScript) Jupyter kernelspec that runs this project's own tslab.
//
//   node scripts/install-kernel.mjs          -> <project>/.jupyter/kernels/tslab/kernel.json
//                                               (use it with JUPYTER_PATH=<project>/.jupyter)
//   node scripts/install-kernel.mjs --user   -> ~/.local/share/jupyter/kernels/tslab/kernel.json
//                                               (or $JUPYTER_DATA_DIR/kernels/tslab; found by every Jupyter of this user)
//
// We write kernel.json ourselves instead of `tslab install`, which needs IPython in the Python
// that runs Jupyter. Paths are absolute, and the kernel runs in the PROJECT ROOT, not in the
// notebook's directory where Jupyter starts it: tslab compiles notebook code with the kernel's
// working directory as TypeScript `rootDir`, so a notebook in notebooks/ could not import
// '../kernel-lib/...' ("is not under 'rootDir'"). Notebooks therefore import
// './kernel-lib/<file>' and read and write paths relative to the project root (figures/...).
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const LOCAL_JUPYTER_PATH = join(PROJECT_ROOT, '.jupyter');

/** The kernel.json object for this checkout's tslab binary. */
export function kernelSpec(root = PROJECT_ROOT) {
  // tslab through scripts/tslab-kernel.cjs: the same kernel, without a tslab bug that broke
  // every cell after a file under kernel-lib/ changed (see that file).
  const launcher = join(root, 'scripts', 'tslab-kernel.cjs');
  return {
    // sh -c SCRIPT $0 $1 $2: cd to the project root, then run tslab (node from PATH).
    argv: ['/bin/sh', '-c', 'cd "$1" && exec node "$2" kernel --config-path "$0"', '{connection_file}', root, launcher],
    display_name: 'TypeScript',
    language: 'typescript',
  };
}

/** Writes `<dir>/kernels/tslab/kernel.json` (atomically) and returns its path. */
export function writeKernelSpec(jupyterDataDir, root = PROJECT_ROOT) {
  const bin = join(root, 'node_modules', '.bin', 'tslab');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm install\` first`);
  const dir = join(jupyterDataDir, 'kernels', 'tslab');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'kernel.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(kernelSpec(root), null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

function userDataDir() {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Jupyter');
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'jupyter');
}

function main(argv) {
  const unknown = argv.filter((a) => a !== '--user');
  if (unknown.length) {
    console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: node scripts/install-kernel.mjs [--user]`);
    process.exit(2);
  }
  if (argv.includes('--user')) {
    const file = writeKernelSpec(userDataDir());
    console.log(`wrote ${file}`);
    console.log('every Jupyter of this user now lists the "TypeScript" (tslab) kernel: jupyter kernelspec list');
  } else {
    const file = writeKernelSpec(LOCAL_JUPYTER_PATH);
    console.log(`wrote ${file}`);
    console.log('use it with:');
    console.log(`  JUPYTER_PATH=${LOCAL_JUPYTER_PATH} jupyter notebook notebooks/`);
    console.log(`  JUPYTER_PATH=${LOCAL_JUPYTER_PATH} jupyter nbconvert --to notebook --execute notebooks/00-display-check.ipynb --output /tmp/out.ipynb`);
    console.log('or run every notebook headlessly: npm run notebooks');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
