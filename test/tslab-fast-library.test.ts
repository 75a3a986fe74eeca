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
  libraryOutputs(ts: unknown, fileName: string, sent: Set<string>, target: number): { path: string; data: string }[];
  declarationView(fileName: string): string | undefined;
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

test('tslab-fast-library: the front door\'s run-time closure is complete CommonJS, each file once', () => {
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [require.resolve('tslab/package.json').replace(/package\.json$/, '')] })) as { ScriptTarget: { ES2019: number } };
  const root = process.cwd().split('\\').join('/');
  const sent = new Set<string>();
  const outs = fast.libraryOutputs(ts, `${root}/kernel-lib/index.ts`, sent, ts.ScriptTarget.ES2019);
  const paths = new Set(outs.map((o) => o.path));
  assert.is(paths.size, outs.length, 'no file twice');
  assert.ok(paths.has(`${root}/kernel-lib/index.js`) && paths.has(`${root}/kernel-lib/model/pixnerd.js`) && paths.has(`${root}/data-loaders/from-config.js`), 'index, the model and the data loaders');
  assert.ok(outs.length > 60, `${outs.length} files`);
  for (const o of outs) {
    assert.not.match(o.data, /^\s*(import|export) /m, `${o.path} is CommonJS`);
    for (const m of o.data.matchAll(/\brequire\("(\.{1,2}\/[^"]+)"\)/g)) {
      const dep = join(o.path, '..', m[1]!).split('\\').join('/');
      assert.ok(/\.(json|js|cjs|node)$/.test(m[1]!) || paths.has(`${dep}.js`), `${o.path} requires ${m[1]}, which is not sent`);
    }
  }
  // a second cell sends nothing it sent before
  assert.equal(fast.libraryOutputs(ts, `${root}/kernel-lib/index.ts`, sent, ts.ScriptTarget.ES2019), []);
  assert.is(fast.declarationView(`${root}/notebooks/cell.ts`), undefined, 'only library files get declaration views');
});

test.run();
