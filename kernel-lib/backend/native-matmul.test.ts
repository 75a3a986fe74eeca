import { backend, maxAbs, maxAbsDiff } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS } from '../config/presets';
import { disposeParams, initParams } from '../model/params';
import { pixnerdForward } from '../model/pixnerd';
import { ADDON_PATH, disableNativeMatmul, enableNativeMatmul, loadNativeBlas, nativeMatmulActive, type NativeMatmulOptions } from './native-matmul';

// Native comparisons need the add-on and the wasm backend; without them they are skipped (with the
// reason printed) and only the fallback is checked.
const addon = loadNativeBlas();
const SKIP =
  process.env.PIXNERD_NATIVE_BLAS === '0'
    ? 'PIXNERD_NATIVE_BLAS=0'
    : typeof addon === 'string'
      ? addon
      : backend.backend !== 'wasm'
        ? `tests run on ${backend.backend}; the native kernels override wasm only`
        : null;
if (SKIP) console.log(`(native matMul comparisons skipped: ${SKIP})`);
else console.log(`(native matMul: ${enableNativeMatmul().reason})`);
// Not test.skip: the runner's summary counts skipped tests wrongly. Skipped tests are simply not registered.
const ntest = (name: string, fn: () => void | Promise<void>) => {
  if (!SKIP) test(name, fn);
};
// Where the add-on found no BLAS library only BatchMatMul is overridden (_FusedMatMul stays stock).
const FUSED_OVERRIDDEN = !SKIP && typeof addon !== 'string' && !addon.info().builtin;
const ftest = (name: string, fn: () => void | Promise<void>) => {
  if (FUSED_OVERRIDDEN) test(name, fn);
};
if (!SKIP && !FUSED_OVERRIDDEN) console.log('(no BLAS library: the _FusedMatMul override tests are skipped)');

let seed = 100;
const rnd = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);

type Outs = { shape: number[]; values: Float32Array }[];

/** Runs f, reads its outputs, disposes everything it made; checks no tensor or heap buffer leaked. */
function run(f: () => tf.Tensor | tf.Tensor[]): Outs {
  const wasm = tf.engine().backend as unknown as { numDataIds(): number };
  const before = tf.memory().numTensors;
  const ids = wasm.numDataIds();
  const outs = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const vals = outs.map((t) => ({ shape: t.shape, values: (t.dataSync() as Float32Array).slice() }));
  tf.dispose(outs);
  assert.is(tf.memory().numTensors, before, 'tensors leaked');
  assert.is(wasm.numDataIds(), ids, 'heap buffers leaked');
  return vals;
}

/** f with the native kernels, then with the stock ones; relative max error of every output < tol. */
function compare(label: string, f: () => tf.Tensor | tf.Tensor[], tol = 1e-5, opts: NativeMatmulOptions = {}): number {
  assert.ok(enableNativeMatmul(opts).active);
  const seed0 = seed; // both runs draw the same random inputs
  const native = run(f);
  seed = seed0;
  disableNativeMatmul();
  assert.not.ok(nativeMatmulActive());
  let stock: Outs;
  try {
    stock = run(f);
  } finally {
    enableNativeMatmul(opts);
  }
  let worst = 0;
  native.forEach((n, i) => {
    const s = stock[i]!;
    assert.equal(n.shape, s.shape, `${label}: output ${i} shape`);
    const rel = maxAbsDiff(n.values, s.values) / Math.max(maxAbs(s.values), 1e-30);
    assert.ok(rel < tol, `${label}: output ${i} relative error ${rel} >= ${tol}`);
    worst = Math.max(worst, rel);
  });
  return worst;
}

/** sum(m * sin(m)) with m = op(a) @ op(b): its gradients run BatchMatMul with every transpose combination. */
function gradsOf(aShape: number[], bShape: number[], tA: boolean, tB: boolean) {
  return () => {
    const a = rnd(aShape);
    const b = rnd(bShape);
    return tf.grads((x: tf.Tensor, y: tf.Tensor) => {
      const m = tf.matMul(x, y, tA, tB);
      return tf.sum(tf.mul(m, tf.sin(m)));
    })([a, b]);
  };
}

test('the fallback says why the native kernels are off', () => {
  const missing = loadNativeBlas('/nonexistent/nativeblas.node');
  assert.type(missing, 'string');
  assert.match(missing as string, /add-on not built \(\/nonexistent\/nativeblas\.node missing; run npm run build:native\)/);
  const saved = process.env.PIXNERD_NATIVE_BLAS;
  process.env.PIXNERD_NATIVE_BLAS = '0';
  try {
    const r = enableNativeMatmul();
    assert.equal(r, { active: false, reason: 'PIXNERD_NATIVE_BLAS=0' });
    assert.not.ok(nativeMatmulActive());
  } finally {
    if (saved === undefined) delete process.env.PIXNERD_NATIVE_BLAS;
    else process.env.PIXNERD_NATIVE_BLAS = saved;
  }
  const r = enableNativeMatmul();
  if (typeof addon === 'string') {
    assert.not.ok(r.active);
    assert.is(r.reason, addon);
    assert.match(r.reason, /add-on (not built|failed to load)/);
  } else if (!SKIP) {
    assert.ok(r.active, r.reason);
    assert.match(r.reason, /^native (BLAS \(|add-on, built-in loop)/);
    assert.ok((r.threads ?? 0) >= 1);
  }
});

test('bad thread counts are clear errors', () => {
  assert.throws(() => enableNativeMatmul({ threads: 0 }), /threads must be an integer in \[1, 1024\], got 0/);
  const saved = process.env.PIXNERD_BLAS_THREADS;
  process.env.PIXNERD_BLAS_THREADS = 'two';
  try {
    assert.throws(() => enableNativeMatmul(), /PIXNERD_BLAS_THREADS must be an integer in \[1, 1024\], got "two"/);
  } finally {
    if (saved === undefined) delete process.env.PIXNERD_BLAS_THREADS;
    else process.env.PIXNERD_BLAS_THREADS = saved;
  }
});

ntest('the backend line names the native path', async () => {
  const { describeBackend, backendInfo } = await import('./backend-ladder');
  assert.match(describeBackend(backendInfo()!), /matMul: native (BLAS \(.+, \d+ threads?\)|add-on)/);
});

ntest('forward: 2-D, batched, attention, transposes, broadcasting (the model shapes)', () => {
  compare('2-D [256,384]x[384,1152] (bench-S qkv)', () => tf.matMul(rnd([256, 384]), rnd([384, 1152])));
  compare('2-D transposeB', () => tf.matMul(rnd([100, 48]), rnd([72, 48]), false, true));
  compare('2-D transposeA (dW = x^T dy)', () => tf.matMul(rnd([256, 384]), rnd([256, 128]), true, false));
  compare('2-D transposeA+transposeB', () => tf.matMul(rnd([40, 30]), rnd([20, 40]), true, true));
  compare('batched field [32,256,64]x[32,64,128]', () => tf.matMul(rnd([32, 256, 64]), rnd([32, 64, 128])));
  compare('attention q k^T [4,6,16,64]', () => tf.matMul(rnd([4, 6, 16, 64]), rnd([4, 6, 16, 64]), false, true));
  compare('attention p v [4,6,16,16]x[4,6,16,64]', () => tf.matMul(rnd([4, 6, 16, 16]), rnd([4, 6, 16, 64])));
  compare('batched transposeA', () => tf.matMul(rnd([16, 64, 48]), rnd([16, 64, 32]), true, false));
  compare('batched transposeA+transposeB', () => tf.matMul(rnd([16, 64, 48]), rnd([16, 32, 64]), true, true));
  compare('batch-1 A broadcast [1,64,128]x[8,128,32]', () => tf.matMul(rnd([1, 64, 128]), rnd([8, 128, 32])));
  compare('batch-1 B broadcast [8,64,128]x[1,128,32]', () => tf.matMul(rnd([8, 64, 128]), rnd([1, 128, 32])));
  compare('rank-4 x rank-2 [6,5,64,128]x[128,32]', () => tf.matMul(rnd([6, 5, 64, 128]), rnd([128, 32])));
  compare('tiny matrices (dispatch path)', () => tf.matMul(rnd([3, 1, 5]), rnd([3, 5, 1])));
});

ntest('forward: two-sided outer broadcasting matches an explicitly tiled product', () => {
  // The stock wasm kernel gets this case wrong (it collapses the outer dims), so the reference
  // is the same product on explicitly tiled operands.
  const [n, ref] = run(() => {
    const a = rnd([2, 1, 16, 24]);
    const b = rnd([1, 3, 24, 8]);
    return [tf.matMul(a, b), tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1]))];
  });
  assert.equal(n!.shape, [2, 3, 16, 8]);
  assert.ok(maxAbsDiff(n!.values, ref!.values) < 1e-5 * maxAbs(ref!.values));
});

ntest('forward: K = 0, empty outputs, a large output (heap growth) and int32 delegation', () => {
  const [z] = run(() => tf.matMul(tf.zeros([4, 3, 0]), tf.zeros([4, 0, 5])));
  assert.equal(z!.shape, [4, 3, 5]);
  assert.ok(z!.values.every((v) => v === 0));
  const [e] = run(() => tf.matMul(tf.zeros([0, 3, 4]), tf.zeros([0, 4, 5])));
  assert.equal(e!.shape, [0, 3, 5]);
  compare('large output [16,512,512] (48 MB of heap)', () => tf.matMul(rnd([16, 512, 8]), rnd([16, 8, 512])));
  // Non-float32 goes to the stock kernel: the same result (or the same error) both ways.
  const int = () => {
    try {
      return String(tf.matMul(tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[3], [4]], [2, 1], 'int32')).dataSync());
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  };
  const nativeInt = tf.tidy(int);
  disableNativeMatmul();
  const stockInt = tf.tidy(int);
  enableNativeMatmul();
  assert.is(nativeInt, stockInt);
});

ntest('gradients (tf.grads) through every transpose combination', () => {
  compare('grads 2-D', gradsOf([64, 96], [96, 80], false, false));
  compare('grads batched', gradsOf([8, 64, 32], [8, 32, 48], false, false));
  compare('grads attention transposeB', gradsOf([24, 16, 64], [24, 16, 64], false, true));
  compare('grads transposeA', gradsOf([8, 32, 64], [8, 32, 48], true, false));
  compare('grads transposeA+transposeB', gradsOf([8, 32, 64], [8, 48, 32], true, true));
});

ntest('tf.fused.matMul: bias and activations (tfjs-layers Dense path), forward and gradient', () => {
  const fused = (activation: tf.fused.Activation, aShape: number[], bShape: number[], biasShape: number[] | null) => () =>
    tf.fused.matMul({
      a: rnd(aShape),
      b: rnd(bShape),
      bias: biasShape ? rnd(biasShape) : undefined,
      activation,
      leakyreluAlpha: 0.1,
      preluActivationWeights: activation === 'prelu' ? tf.mul(rnd([bShape[bShape.length - 1]!]), 0.2) : undefined,
    });
  compare('fused bias+relu [256,384]x[384,128]', fused('relu', [256, 384], [384, 128], [128]));
  for (const act of ['linear', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as tf.fused.Activation[]) {
    compare(`fused bias+${act}`, fused(act, [64, 48], [48, 40], [40]));
  }
  compare('fused no bias, relu', fused('relu', [64, 48], [48, 40], null));
  compare('fused batched, no bias, relu', fused('relu', [4, 32, 48], [4, 48, 40], null));
  // the bias goes into the GEMM (beta 1)
  // (batched with a bias: the stock wasm _FusedMatMul is off by ~1.9 here, so the reference is matMul + add)
  tf.tidy(() => {
    const a = rnd([4, 32, 48]) as tf.Tensor3D, b = rnd([4, 48, 40]) as tf.Tensor3D, c = rnd([40]);
    const ours = tf.fused.matMul({ a, b, bias: c }).dataSync(), ref = tf.add(tf.matMul(a, b), c).dataSync();
    assert.ok(maxAbsDiff(ours, ref) <= 1e-5 * maxAbs(ref), `fused batched, row bias: ${maxAbsDiff(ours, ref)}`);
  });
  tf.tidy(() => {
    const c = rnd([40]);
    const out = tf.fused.matMul({ a: tf.zeros([8, 0]) as tf.Tensor2D, b: tf.zeros([0, 40]) as tf.Tensor2D, bias: c });
    assert.equal(Array.from(out.dataSync()), Array.from(tf.tile(c.reshape([1, 40]), [8, 1]).dataSync()), 'K = 0: every row is the bias');
  });
  // Where tfjs fuses (no gradient depth) vs where it falls back: gradients through fused relu.
  compare('fused grads bias+relu', () => {
    const a = rnd([64, 96]);
    const b = rnd([96, 80]);
    const bias = rnd([80]);
    return tf.grads((x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: c, activation: 'relu' }))))([a, b, bias]);
  });
});

ftest('batched fused bias+relu matches the unfused ops (the stock wasm fused kernel gets it wrong)', () => {
  // Stock wasm _FusedMatMul adds the bias wrongly when batch > 1 (max error ~2 on this case), so
  // the reference is relu(matMul + bias) on the stock kernels.
  const f = () => {
    const a = rnd([4, 32, 48]);
    const b = rnd([4, 48, 40]);
    const bias = rnd([40]);
    return [tf.fused.matMul({ a, b, bias, activation: 'relu' }), tf.relu(tf.add(tf.matMul(a, b), bias))];
  };
  const seed0 = seed;
  const [nFused] = run(f);
  seed = seed0;
  disableNativeMatmul();
  let stock: Outs;
  try {
    stock = run(f);
  } finally {
    enableNativeMatmul();
  }
  const ref = stock[1]!.values;
  assert.ok(maxAbsDiff(nFused!.values, ref) < 1e-5 * maxAbs(ref));
});

ftest('a rank-2 fused bias (stock wasm: rank 1 only) matches the unfused product', () => {
  const [f, u] = run(() => {
    const a = rnd([32, 16]);
    const b = rnd([16, 24]);
    const bias = rnd([1, 24]);
    return [tf.fused.matMul({ a, b, bias, activation: 'relu' }), tf.relu(tf.add(tf.matMul(a, b), bias))];
  });
  assert.ok(maxAbsDiff(f!.values, u!.values) < 1e-5 * maxAbs(u!.values));
});

ntest('threads: 1 thread and the built-in loop give the same results', () => {
  const cases = (): tf.Tensor[] => [
    tf.matMul(rnd([16, 64, 128]), rnd([16, 128, 64])),
    tf.matMul(rnd([16, 64, 48]), rnd([16, 32, 64]), true, true),
    tf.matMul(rnd([256, 384]), rnd([256, 128]), true, false),
    tf.matMul(rnd([200, 64]), rnd([96, 64]), false, true),
    tf.matMul(rnd([2, 1, 16, 24]), rnd([1, 3, 24, 8])),
  ];
  try {
    assert.is(enableNativeMatmul({ threads: 1 }).threads, 1);
    seed = 500;
    const one = run(cases);
    const builtinOpts = { builtin: true, threads: 2 };
    const r = enableNativeMatmul(builtinOpts);
    assert.ok(r.active);
    assert.is(r.lib, 'builtin');
    assert.match(r.reason, /built-in loop/);
    seed = 500;
    const builtin = run(cases);
    one.forEach((o, i) => assert.ok(maxAbsDiff(o.values, builtin[i]!.values) < 1e-5 * maxAbs(o.values), `case ${i}`));
    // Against stock too (the built-in mode leaves _FusedMatMul and 2-D non-transposeA to stock).
    compare('built-in loop: batched', () => tf.matMul(rnd([16, 64, 128]), rnd([16, 128, 64])), 1e-5, builtinOpts);
    compare('built-in loop: transposeA', () => tf.matMul(rnd([128, 96]), rnd([128, 64]), true, false), 1e-5, builtinOpts);
    compare('built-in loop: fused', () => tf.fused.matMul({ a: rnd([64, 48]), b: rnd([48, 40]), bias: rnd([40]), activation: 'relu' }), 1e-5, builtinOpts);
  } finally {
    disableNativeMatmul();
    enableNativeMatmul();
  }
  assert.not.match(enableNativeMatmul().reason, /built-in loop forced/);
});

/**
 * The add-on in a child process with `env`: its info() and C = A B (and A^T B^T) on fixed inputs
 * through sgemm and through the built-in loop.
 */
function childGemm(env: Record<string, string>): { info: { fp32?: string; fp32Note?: string }; err: number[] } {
  const code = `
    const a = require(${JSON.stringify(ADDON_PATH)});
    const fill = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
    const err = [];
    for (const [M, N, K, tA, tB, batch] of [[96, 200, 64, false, false, 1], [33, 17, 300, true, true, 3], [512, 640, 128, false, true, 1]]) {
      const A = fill(M * K * batch, 1), B = fill(K * N * batch, 2), C = new Float32Array(M * N * batch), D = new Float32Array(M * N * batch);
      a.sgemm(A, B, C, M, N, K, tA, tB, batch, M * K, K * N, false);
      a.sgemmBuiltin(A, B, D, M, N, K, tA, tB, batch, M * K, K * N, false);
      let e = 0, m = 0;
      for (let i = 0; i < C.length; i++) { e = Math.max(e, Math.abs(C[i] - D[i])); m = Math.max(m, Math.abs(D[i])); }
      err.push(e / m);
    }
    console.log(JSON.stringify({ info: a.info(), err }));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/**
 * The add-on in a child process with `env`: long-K products (split along K where oneDNN runs, see
 * dnnl-gemm.cc split_k) in every transpose combination, with and without accumulate, against the
 * built-in loop; each product twice, to check that the split's sum order is fixed.
 */
function childLongK(env: Record<string, string>): { fp32?: string; err: number[]; repeatable: boolean; sums: number[]; mass: number[] } {
  const code = `
    const a = require(${JSON.stringify(ADDON_PATH)});
    a.setThreads(2);
    const fill = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
    const err = [], sums = [], mass = [];
    let repeatable = true;
    for (const [M, N, K] of [[64, 96, 4096], [56, 80, 4100]]) for (const tA of [false, true]) for (const tB of [false, true]) for (const acc of [false, true]) {
      const A = fill(M * K, 1), B = fill(K * N, 2), C = fill(M * N, 3), C2 = fill(M * N, 3), D = fill(M * N, 3);
      a.sgemm(A, B, C, M, N, K, tA, tB, 1, M * K, K * N, acc);
      a.sgemm(A, B, C2, M, N, K, tA, tB, 1, M * K, K * N, acc);
      a.sgemmBuiltin(A, B, D, M, N, K, tA, tB, 1, M * K, K * N, acc);
      let e = 0, m = 0, sum = 0, abs = 0;
      for (let i = 0; i < C.length; i++) { e = Math.max(e, Math.abs(C[i] - D[i])); m = Math.max(m, Math.abs(D[i])); if (C[i] !== C2[i]) repeatable = false; sum += C[i]; abs += Math.abs(C[i]); }
      err.push(e / m); sums.push(sum); mass.push(abs);
    }
    console.log(JSON.stringify({ fp32: a.info().fp32, err, repeatable, sums, mass }));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

ntest('fp32 GEMM: long-K products (split along K) match the built-in loop in every transpose, accumulate included, and repeat bit for bit', () => {
  const split = childLongK({});
  const whole = childLongK({ NATIVEBLAS_SPLIT_K: '0' });
  assert.is(split.err.length, 16);
  // K = 4,096 fp32 sums: ~4e-5 of the largest entry with or without the split
  for (const r of [split, whole]) for (const e of r.err) assert.ok(e < 1e-4, `relative error ${e} (${r.fp32})`);
  assert.ok(split.repeatable, 'the same product twice, bit for bit');
  // split or not, the same products (to rounding): the sums of C agree to 1e-5 of the sum of |C|
  split.sums.forEach((s, i) => assert.ok(Math.abs(s - whole.sums[i]!) <= 1e-5 * split.mass[i]!, `product ${i}: ${s} vs ${whole.sums[i]} (sum of |C| ${split.mass[i]})`));
});

ntest('the add-on\'s thread pool: GEMMs and element-wise kernels from three JS threads at once repeat their results bit for bit', () => {
  // kernel-lib/native/parallel.h: one call runs on the pool at a time; a call made meanwhile (from
  // another worker thread) runs its tasks on its own thread. Each thread repeats its products and
  // compares every result with the one computed before the threads started.
  const script = `
    const { Worker } = require('node:worker_threads');
    const a = require(${JSON.stringify(ADDON_PATH)});
    a.setThreads(2);
    const body = ${JSON.stringify(`
      const a = require(${JSON.stringify(ADDON_PATH)});
      const fill = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
      const shapes = [[256, 1024, 384], [256, 384, 1024], [64, 96, 4096], [32, 48, 16]];
      globalThis.runAll = () => shapes.map(([M, N, K], i) => {
        const C = new Float32Array(M * N);
        a.sgemm(fill(M * K, i), fill(K * N, i + 9), C, M, N, K, false, i % 2 === 1, 1, M * K, K * N, false);
        const y = new Float32Array(600000);
        a.silu(fill(600000, i), y);
        return [C, y];
      });`)};
    eval(body);
    const want = runAll();
    const same = (got) => got.every(([C, y], i) => C.every((v, j) => v === want[i][0][j]) && y.every((v, j) => v === want[i][1][j]));
    const workerBody = body + ${JSON.stringify(`
      const { parentPort } = require('node:worker_threads');
      const out = [];
      for (let r = 0; r < 15; r++) out.push(runAll());
      parentPort.postMessage(out);`)};
    let pending = 2, bad = 0, runs = 0;
    for (let w = 0; w < 2; w++) {
      const wk = new Worker(workerBody, { eval: true });
      wk.on('message', (outs) => { for (const o of outs) { runs++; if (!same(o)) bad++; } });
      wk.on('error', (e) => { console.error(e); process.exit(3); });
      wk.on('exit', () => { if (--pending === 0) console.log(JSON.stringify({ bad, runs })); });
    }
    for (let r = 0; r < 15; r++) { runs++; if (!same(runAll())) bad++; }`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { bad: number; runs: number };
  assert.is(out.runs, 45);
  assert.is(out.bad, 0, `${out.bad} of ${out.runs} rounds differed from the first`);
});

ntest('sgemm with a bias row: equal, bit for bit, to the rows filled first and accumulated onto, on every path and split', () => {
  // dnnl-gemm.cc fills each chunk's block of C with the bias just before its product; the JS
  // side did the whole fill first. The same C and the same beta-1 products: the same bits.
  const code = `
    const a = require(${JSON.stringify(ADDON_PATH)});
    a.setThreads(2);
    const fill = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
    const out = { info: a.info().sgemmBias, mismatches: [], errors: [] };
    const shapes = [[256, 2048, 96, false, false, 1], [96, 40, 300, true, true, 3], [512, 64, 48, false, true, 1], [64, 96, 4096, false, false, 1], [3, 5, 0, false, false, 2], [8, 16, 4, false, false, 1]];
    const paths = [['sgemm', a.sgemm], ['sgemmBuiltin', a.sgemmBuiltin]];
    if (a.bf16Info && a.bf16Info().available) paths.push(['sgemmBf16', a.sgemmBf16]);
    for (const [name, f] of paths) for (const [M, N, K, tA, tB, batch] of shapes) {
      const A = fill(M * K * batch, 1), B = fill(K * N * batch, 2), bias = fill(N, 3);
      const C = new Float32Array(M * N * batch).fill(NaN), D = new Float32Array(M * N * batch);
      for (let r = 0; r < M * batch; r++) D.set(bias, r * N);
      f(A, B, C, M, N, K, tA, tB, batch, M * K, K * N, false, bias);
      f(A, B, D, M, N, K, tA, tB, batch, M * K, K * N, true);
      let bad = 0;
      for (let i = 0; i < C.length; i++) if (!Object.is(C[i], D[i])) bad++;
      if (bad) out.mismatches.push(name + ' ' + [M, N, K, tA, tB, batch].join('x') + ': ' + bad);
    }
    const A = fill(8, 1), B = fill(8, 2), C = new Float32Array(4);
    for (const args of [[false, new Float32Array(1)], [true, new Float32Array(2)], [false, new Int32Array(2)]]) {
      try { a.sgemm(A, B, C, 2, 2, 4, false, false, 1, 8, 8, ...args); out.errors.push(null); } catch (e) { out.errors.push(e.message); }
    }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { info: boolean; mismatches: string[]; errors: (string | null)[] };
  assert.is(out.info, true);
  assert.equal(out.mismatches, []);
  assert.match(String(out.errors[0]), /bias has 1 elements, N = 2/);
  assert.match(String(out.errors[1]), /bias and accumulate exclude each other/);
  assert.match(String(out.errors[2]), /bias must be a Float32Array/);
});

ntest('split across the pool: AdamW, SwiGLU and the adaLN kernels give the same bits on 1 and 2 threads, and the split happens', () => {
  // parallel_for and the adaLN kernels split work above native_parallel::min_per_thread() (2^15)
  // elements a thread; the sums of the adaLN backward are per image (then over images in order),
  // so the thread count must not change a bit. NATIVEBLAS_PARALLEL_MIN=1e9 keeps every call on one
  // thread: that run is the reference.
  const code = `
    const a = require(${JSON.stringify(ADDON_PATH)});
    a.setThreads(2);
    const fill = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s) * (1 + (i % 7) / 3));
    const [B, L, D] = [16, 32, 384], R = B * L, n = R * D;
    const x = fill(n, 1), w = fill(D, 2), sh = fill(B * D, 3), sc = fill(B * D, 4), dy = fill(n, 5), h = fill(n, 6);
    const out = {};
    const y = new Float32Array(n), rstd = new Float32Array(R);
    a.normModulate(x, w, sh, sc, y, rstd, B, L, D, 1e-6);
    out.nm = [y, rstd];
    const dx = new Float32Array(n), dw = new Float32Array(D), dsh = new Float32Array(B * D), dsc = new Float32Array(B * D);
    a.normModulateGrad(x, w, sc, rstd, dy, dx, dw, dsh, dsc, B, L, D);
    out.nmGrad = [dx, dw, dsh, dsc];
    const ga = new Float32Array(n);
    a.gatedAdd(x, sc, h, ga, B, L, D);
    out.ga = [ga];
    const ds = new Float32Array(n), dg = new Float32Array(B * D), dh = new Float32Array(n);
    a.gatedAddGrad(sc, h, dy, ds, dg, dh, B, L, D);
    out.gaGrad = [ds, dg, dh];
    const da = new Float32Array(n), db = new Float32Array(n), sw = new Float32Array(n);
    a.swiGlu(x, h, sw);
    a.swiGluGrad(x, h, dy, da, db);
    out.swiGlu = [sw, da, db];
    const p = fill(n, 7), pOut = new Float32Array(n), m = fill(n, 8), v = fill(n, 9).map(Math.abs);
    a.adamwStep(p, pOut, m, v, dy, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.01);
    out.adamw = [pOut, m, v];
    const hash = (arrs) => arrs.map((t) => { let s = 0; const u = new Uint32Array(t.buffer); for (let i = 0; i < u.length; i++) s = (Math.imul(s, 31) + u[i]) | 0; return s; });
    console.log(JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, hash(v)]))));`;
  const child = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number[]>;
  };
  const one = child({ NATIVEBLAS_PARALLEL_MIN: '1000000000' });
  const two = child({});
  const twoAgain = child({ NATIVEBLAS_PARALLEL_MIN: '4096' }); // more, smaller splits where work allows
  assert.equal(Object.keys(one).sort(), ['adamw', 'ga', 'gaGrad', 'nm', 'nmGrad', 'swiGlu']);
  assert.equal(two, one);
  assert.equal(twoAgain, one);
});

ntest('fp32 GEMM: oneDNN where it loads, OpenBLAS when asked or when oneDNN is off, the same products', () => {
  const dflt = childGemm({});
  const openblas = childGemm({ NATIVEBLAS_FP32_GEMM: 'openblas' });
  const noDnnl = childGemm({ NATIVEBLAS_DNNL_LIB: 'none' });
  const builtin = childGemm({ NATIVEBLAS_LIB: 'builtin' });
  assert.ok(openblas.info.fp32 === 'openblas' || openblas.info.fp32 === 'builtin', `asked for OpenBLAS, ran ${openblas.info.fp32}`); // builtin: no BLAS library
  assert.match(String(openblas.info.fp32Note), /NATIVEBLAS_FP32_GEMM=openblas/);
  assert.is.not(noDnnl.info.fp32, 'onednn');
  assert.match(String(noDnnl.info.fp32Note), /NATIVEBLAS_DNNL_LIB=none/);
  assert.is(builtin.info.fp32, 'builtin');
  if (dflt.info.fp32 === 'onednn') assert.match(String(dflt.info.fp32Note), /oneDNN .*dnnl_sgemm/);
  else assert.match(String(dflt.info.fp32Note), /missing/); // no libdnnl here: it says so
  console.log(`  (fp32 GEMM by default: ${dflt.info.fp32}: ${dflt.info.fp32Note})`);
  for (const r of [dflt, openblas, noDnnl, builtin]) for (const e of r.err) assert.ok(e < 1e-5, `relative error ${e}`);
});

ntest('a signal handler running during the GEMMs (V8 CPU profiler at 20 kHz) leaves results and heap intact', () => {
  // Debian's oneDNN 2.6 corrupted the heap when a signal arrived inside dnnl_sgemm (see
  // kernel-lib/native/dnnl-gemm.cc, "Signals"): this child aborted with "corrupted size vs.
  // prev_size" before the add-on held signals during its products.
  const dir = mkdtempSync(join(tmpdir(), 'pixnerd-cpuprof-'));
  const code = `
    const a = require(${JSON.stringify(ADDON_PATH)});
    const bf16 = typeof a.bf16Info === 'function' && a.bf16Info().available;
    let worst = 0;
    for (let i = 0; i < 150; i++) {
      for (const [M, N, K] of [[512, 4096, 128], [512, 128, 4096], [512, 341, 128]]) {
        const A = new Float32Array(M * K).fill(1), B = new Float32Array(K * N).fill(0.5), C = new Float32Array(M * N);
        for (const gemm of bf16 ? [a.sgemm, a.sgemmBf16] : [a.sgemm]) {
          gemm(A, B, C, M, N, K, false, i % 2 === 1, 1, M * K, K * N, false);
          for (let j = 0; j < C.length; j += 97) worst = Math.max(worst, Math.abs(C[j] - K / 2));
        }
      }
    }
    console.log(JSON.stringify({ worst, fp32: a.info().fp32, bf16 }));`;
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, '-e', code], { encoding: 'utf8' });
    assert.is(r.status, 0, `the child died (signal ${r.signal}): ${r.stderr.slice(-400)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { worst: number; fp32: string; bf16: boolean };
    assert.is(out.worst, 0);
    console.log(`  (fp32 GEMM ${out.fp32}${out.bf16 ? ' and the bf16 GEMM' : ''}: 450 products each under the profiler's signals)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

ntest('the whole model (tiny-32/8) forward and gradients: native vs stock to 1e-4', () => {
  const cfg = PRESETS['tiny-32/8'];
  const params = initParams(cfg, 0);
  const w = params['final_layer.linear.weight']!;
  w.assign(tf.randomNormal(w.shape, 0, 0.5, 'float32', 7)); // zero-initialised: perturb
  const B = 4;
  const x = tf.randomNormal([B, cfg.imageSize, cfg.imageSize, cfg.inChannels], 0, 1, 'float32', 1) as tf.Tensor4D;
  const t = tf.randomUniform([B], 0, 1, 'float32', 2) as tf.Tensor1D;
  const y = tf.tensor1d(Array.from({ length: B }, (_, i) => i % (cfg.numClasses + 1)), 'int32');
  try {
    const fwd = compare('pixnerdForward tiny-32/8', () => pixnerdForward(params, cfg, x, t, y).v, 1e-4);
    const names = Object.keys(params).filter((n) => /weight$/.test(n));
    const grad = compare(
      'gradients of mean(v^2) wrt every weight',
      () => {
        const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(pixnerdForward(params, cfg, x, t, y).v)) as tf.Scalar, names.map((n) => params[n]!));
        return [value, ...names.map((n) => grads[params[n]!.name]!)];
      },
      1e-4,
    );
    console.log(`  (tiny-32/8: forward relative error ${fwd.toExponential(1)}, gradients ${grad.toExponential(1)})`);
  } finally {
    tf.dispose([x, t, y]);
    disposeParams(params);
  }
});

test.run();
