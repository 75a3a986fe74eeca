#!/usr/bin/env node
// Builds the nativeblas add-on (kernel-lib/native/build/Release/nativeblas.node) with npm's bundled
// node-gyp, offline (node headers from the local Node install). It never fails the install: on any
// problem it prints one line saying why and exits 0, and kernel-lib keeps the stock wasm matMul.
// Run by `npm install` (postinstall) and `npm run build:native`. PIXNERD_NATIVE_BLAS=0 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const addon = join(here, 'build', 'Release', 'nativeblas.node');
const rel = 'kernel-lib/native/build/Release/nativeblas.node';

function done(line) {
  console.log(`nativeblas: ${line}`);
  process.exit(0);
}

/** npm's bundled node-gyp (no download), or one installed in node_modules. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** A directory whose include/node holds node_api.h for this Node (so node-gyp downloads nothing). */
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..'), '/usr', '/usr/local'].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')) && existsSync(join(d, 'include', 'node', 'common.gypi'))) ?? null;
}

function main() {
  if (process.env.PIXNERD_NATIVE_BLAS === '0') done('skipped (PIXNERD_NATIVE_BLAS=0); the stock wasm matMul kernels will be used');
  const gyp = findNodeGyp();
  if (!gyp) done('not built (node-gyp not found next to npm); the stock wasm matMul kernels will be used');
  const nodedir = findNodeDir();
  if (!nodedir) done(`not built (no Node headers: include/node/node_api.h not found under ${resolve(dirname(process.execPath), '..')} or /usr); the stock wasm matMul kernels will be used`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], {
    cwd: here,
    encoding: 'utf8',
    timeout: 180_000,
    // No downloads: node-gyp uses nodedir; keep npm's user config out of its way.
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
  const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  try {
    mkdirSync(join(here, 'build'), { recursive: true });
    writeFileSync(join(here, 'build', 'build.log'), log);
  } catch {
    // the log is a convenience
  }
  if (r.error || r.status !== 0) {
    const why = r.error
      ? r.error.message
      : (log.split('\n').find((l) => /error:|not found|No such file|ERR! (?!stack|System|command|cwd|node -v|node-gyp -v|not ok|build error)/.test(l)) ?? `node-gyp exited ${r.status}`).trim();
    done(`not built (${why.slice(0, 200)}; full log kernel-lib/native/build/build.log); the stock wasm matMul kernels will be used`);
  }
  if (!existsSync(addon)) done(`not built (node-gyp succeeded but ${rel} is missing); the stock wasm matMul kernels will be used`);
  // Load it in a child so a crash cannot fail the install.
  const probe = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addon)}).info()))`], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status !== 0) {
    done(`built ${rel} but it does not load (${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]}); the stock wasm matMul kernels will be used`);
  }
  let info;
  try {
    info = JSON.parse(probe.stdout.trim().split('\n').pop());
  } catch {
    info = { lib: '?', threads: '?' };
  }
  const lib = info.builtin ? 'no BLAS found: built-in loop; install libopenblas0-pthread for speed' : `${info.lib}${info.coretype ? `, core ${info.coretype}` : ''}`;
  done(`built ${rel} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${lib})`);
}

try {
  main();
} catch (e) {
  done(`not built (${String(e?.message ?? e).split('\n')[0]}); the stock wasm matMul kernels will be used`);
}
