import './setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// scripts/tslab-fast-library.cjs patches tslab's converter text: this fails when the installed
// tslab no longer has the text it replaces (the kernel would then silently be slow again).
const require = createRequire(join(process.cwd(), 'package.json'));
const fast = require('./scripts/tslab-fast-library.cjs') as {
  install(parent?: unknown): boolean;
  isLibrary(fileName: string): boolean;
  libraryDigest(): string;
};

test('tslab-fast-library: every patch applies to the installed tslab, and the patched converter loads', () => {
  const before = process.env.PIXNERD_TSLAB_CHECK_LIBRARY;
  delete process.env.PIXNERD_TSLAB_CHECK_LIBRARY;
  try {
    assert.is(fast.install(), true);
    const conv = require('tslab/dist/converter.js') as { createConverter?: unknown };
    assert.type(conv.createConverter, 'function');
  } finally {
    if (before !== undefined) process.env.PIXNERD_TSLAB_CHECK_LIBRARY = before;
  }
});

test('tslab-fast-library: library sources are kernel-lib/ and data-loaders/ (not tests, not notebooks)', () => {
  const root = process.cwd().split('\\').join('/');
  assert.ok(fast.isLibrary(`${root}/kernel-lib/index.ts`));
  assert.ok(fast.isLibrary(`${root}/data-loaders/mnist.ts`));
  assert.not.ok(fast.isLibrary(`${root}/kernel-lib/viz/chart.test.ts`));
  assert.not.ok(fast.isLibrary(`${root}/notebooks/cell.ts`));
  assert.not.ok(fast.isLibrary(`${root}/kernel-lib-other/x.ts`));
  assert.match(fast.libraryDigest(), /^[0-9a-f]{32}$/);
});

test.run();
