#!/usr/bin/env node
// Runs every *.test.ts with uvu (through tsx) and closes with the plain line
// `N passed, N failed, N skipped` that CI reads. Exit code 1 on any failure.
//
// Usage: node scripts/run-tests.mjs [--fallback] [pattern]
//   pattern     a regexp on test file paths
//   --fallback  then run the same files again with PIXNERD_NATIVE_BLAS=0: no nativeblas add-on,
//               so stock tfjs-wasm matMuls and the JS loops (what a machine without a compiler or
//               OpenBLAS gets). The closing line counts both passes.
import { spawn } from 'node:child_process';

const argv = process.argv.slice(2);
const fallback = argv.includes('--fallback');
const filter = argv.find((a) => a !== '--fallback');
const pattern = filter ? `(${filter}).*\\.test\\.ts$` : '\\.test\\.ts$';
const args = ['--import', 'tsx', 'node_modules/uvu/bin.js', '.', pattern, '-i', 'node_modules', '-i', '^\\.', '-i', '^(tmp|runs|bench)/'];

/** One uvu run with extra environment variables; its counts (a file that fails to load counts as a failure). */
function runPass(extraEnv) {
  const env = { ...process.env, ...extraEnv, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    process.stdout.write(d);
  });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const num = (label) => {
        const m = out.match(new RegExp(`${label}:\\s+(\\d+)`));
        return m ? Number(m[1]) : null;
      };
      const total = num('Total');
      const passed = num('Passed');
      if (total === null || passed === null) {
        console.log(`\ntest runner ended (exit ${code}) without a summary: a test file failed to load`);
        return resolve({ passed: 0, failed: 1, skipped: 0 });
      }
      const failed = total - passed; // uvu's Total excludes skipped tests
      resolve({ passed, failed: failed === 0 && code !== 0 ? 1 : failed, skipped: num('Skipped') ?? 0 });
    });
  });
}

const passes = [{ label: 'add-on as installed', env: {} }];
if (fallback) passes.push({ label: 'fallback, PIXNERD_NATIVE_BLAS=0', env: { PIXNERD_NATIVE_BLAS: '0' } });
const sum = { passed: 0, failed: 0, skipped: 0 };
for (const [i, p] of passes.entries()) {
  if (passes.length > 1) console.log(`\n==== test pass ${i + 1}/${passes.length}: ${p.label} ====\n`);
  const r = await runPass(p.env);
  if (passes.length > 1) console.log(`\npass ${i + 1} (${p.label}): passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped}`);
  for (const k of Object.keys(sum)) sum[k] += r[k];
}
console.log(`\n${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`);
process.exit(sum.failed > 0 ? 1 : 0);
