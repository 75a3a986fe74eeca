import { backend, maxAbsDiff } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackend, initBackend, missingBinding } from './backend-ladder';

test('the info line names backend, threads, SIMD, tfjs version and matMul path', () => {
  const line = describeBackend(backend);
  assert.match(line, new RegExp(`^backend ${backend.backend} `));
  assert.match(line, /tfjs 4\.22\.0/);
  assert.match(line, /matMul: /);
  if (backend.backend === 'wasm') assert.match(line, /1 thread, SIMD on/);
});

test('a tfjs-node package without its native binding is skipped before it is loaded (it would register its kernels and fail)', () => {
  const root = mkdtempSync(join(tmpdir(), 'ladder-'));
  try {
    const pkg = join(root, 'node_modules', '@tensorflow', 'tfjs-node');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }));
    writeFileSync(join(root, 'package.json'), '{}');
    const req = createRequire(join(root, 'package.json'));
    assert.match(missingBinding('@tensorflow/tfjs-node', req) ?? '', /installed without its native binding/);
    assert.is(missingBinding('@tensorflow/tfjs-node-gpu', req), 'not installed');
    mkdirSync(join(pkg, 'lib', 'napi-v8'), { recursive: true });
    writeFileSync(join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
    assert.is(missingBinding('@tensorflow/tfjs-node', req), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an unknown or unloadable forced backend is an error, not a fallback', async () => {
  try {
    await initBackend({ backend: 'webgpu' as never, quiet: true });
    assert.unreachable('webgpu accepted');
  } catch (e) {
    assert.match((e as Error).message, /unknown backend "webgpu"/);
  }
  let tensorflowLoads = true;
  try {
    await initBackend({ backend: 'tensorflow', quiet: true });
  } catch (e) {
    tensorflowLoads = false;
    assert.match((e as Error).message, /backend "tensorflow" was asked for but cannot load: @tensorflow\/tfjs-node-gpu/);
  }
  await initBackend({ backend: backend.backend, quiet: true });
  assert.is(tf.getBackend(), backend.backend);
  if (tensorflowLoads) console.log('(tfjs-node is installed here: the tensorflow backend loaded)');
});

test('gather gradient (embedding lookup) works on wasm and matches cpu', async () => {
  const table = [[1, 2], [3, 4], [5, 6], [7, 8]];
  const grad = async (b: string) => {
    await tf.setBackend(b);
    const w = tf.tensor2d(table);
    const up = tf.tensor2d([[1, 10], [100, 1000], [2, 3]]);
    const g = tf.grad((m: tf.Tensor) => tf.sum(tf.mul(tf.gather(m, tf.tensor1d([2, 0, 2], 'int32')), up)))(w);
    return g.dataSync().slice();
  };
  const wasm = await grad('wasm');
  const cpu = await grad('cpu');
  await tf.setBackend(backend.backend);
  assert.equal(Array.from(wasm), [100, 1000, 0, 0, 3, 13, 0, 0]);
  assert.is(maxAbsDiff(wasm, cpu), 0);
});

test.run();
