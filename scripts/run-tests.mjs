#!/usr/bin/env node
// Runs every *.test.ts with uvu (through tsx) and closes with the plain line
// `N passed, N failed, N skipped` that CI reads. Exit code 1 on any failure.
// Usage: node scripts/run-tests.mjs [pattern]   (pattern: a regexp on test file paths)
import { spawn } from 'node:child_process';

const filter = process.argv[2];
const pattern = filter ? `(${filter}).*\\.test\\.ts$` : '\\.test\\.ts$';
const args = ['--import', 'tsx', 'node_modules/uvu/bin.js', '.', pattern, '-i', 'node_modules', '-i', '^\\.', '-i', '^(tmp|runs|bench)/'];
const env = { ...process.env, NO_COLOR: '1' };
delete env.FORCE_COLOR;
const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.on('close', (code) => {
  const num = (label) => {
    const m = out.match(new RegExp(`${label}:\\s+(\\d+)`));
    return m ? Number(m[1]) : null;
  };
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped') ?? 0;
  if (total === null || passed === null) {
    console.log(`\ntest runner ended (exit ${code}) without a summary: a test file failed to load`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const failed = total - passed; // uvu's Total excludes skipped tests
  const bad = failed > 0 || code !== 0;
  console.log(`\n${passed} passed, ${bad && failed === 0 ? 1 : failed} failed, ${skipped} skipped`);
  process.exit(bad ? 1 : 0);
});
