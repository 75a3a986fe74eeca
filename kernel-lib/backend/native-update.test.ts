import { backend, maxAbs, maxAbsDiff } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { adamwStep, initAdamW, type AdamWHyper, type AdamWPath, type AdamWState } from '../training/adamw';
import { copyParams, updateEma, type EmaPath } from '../training/ema';
import { disableNativeMatmul, enableNativeMatmul, nativeMatmulActive } from './native-matmul';
import { adamwOnHeap, emaOnHeap, inPlaceUpdates, makeUnique } from './native-update';

// The in-place updates run on the wasm backend only; 'native' also needs the nativeblas add-on.
// Without them the comparisons are not registered (the reason is printed); the op path and the
// error paths always run. Not test.skip: the runner's summary counts skipped tests wrongly.
const SKIP_INPLACE =
  backend.backend !== 'wasm' ? `tests run on ${backend.backend}; the in-place updates are wasm only` : process.env.PIXNERD_INPLACE_UPDATES === '0' ? 'PIXNERD_INPLACE_UPDATES=0' : null;
const SKIP_NATIVE = SKIP_INPLACE ?? (inPlaceUpdates() === 'native' ? null : 'the nativeblas add-on is not built (or PIXNERD_NATIVE_BLAS=0)');
if (SKIP_INPLACE) console.log(`(in-place update comparisons skipped: ${SKIP_INPLACE})`);
else if (SKIP_NATIVE) console.log(`(add-on in-place update comparisons skipped: ${SKIP_NATIVE}; the JS loop is tested)`);
const itest = (name: string, fn: () => void | Promise<void>) => {
  if (!SKIP_INPLACE) test(name, fn);
};
/** The in-place kinds to compare with the op path: always 'js' (on wasm), 'native' with the add-on. */
const KINDS: ('native' | 'js')[] = SKIP_INPLACE ? [] : SKIP_NATIVE ? ['js'] : ['native', 'js'];

const wasm = () => tf.engine().backend as unknown as BackendWasm;

/** Runs f with environment variables set (undefined: unset), restoring them after. */
function withEnv<T>(vars: Record<string, string | undefined>, f: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (vs: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vs)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(vars);
  try {
    return f();
  } finally {
    set(saved);
  }
}

let seed = 500;
/** Deterministic float32 values (normal for small sizes; a cheap hash for big ones: JS normals are slow). */
function values(n: number, scale = 1): Float32Array {
  const s = seed++;
  if (n < 1 << 16) return tf.tidy(() => tf.mul(tf.randomNormal([n], 0, 1, 'float32', s), scale).dataSync() as Float32Array);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const h = Math.sin(i * 0.0137 + s) * 43758.5453;
    out[i] = (h - Math.floor(h) - 0.5) * 3.4 * scale;
  }
  return out;
}

/** Parameter shapes: a linear layer, a bias, odd sizes, a scalar-like one, an empty one. */
const SHAPES: Record<string, number[]> = {
  'blocks.0.w': [256, 384],
  'blocks.0.b': [384],
  odd: [7],
  cube: [3, 5, 2],
  one: [1],
  empty: [0, 4],
};
/** Over 2^20 elements (not a multiple of 16): the add-on splits it across threads. */
const BIG: Record<string, number[]> = { big: [1024, 1024 + 37] };

type Arrays = Record<string, Float32Array>;
const sizeOf = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** A Variable holding `a` in a buffer of its own (the temporary tensor is freed). */
const own = (a: Float32Array, shape: number[], trainable = true) => tf.tidy(() => tf.variable(tf.tensor(a, shape), trainable));
/** v.assign(a) without keeping a temporary tensor alive. */
const assignArray = (v: tf.Variable, a: Float32Array) => tf.tidy(() => v.assign(tf.tensor(a, v.shape)));

/** Fresh Variables holding `init` (each with its own buffer). */
function variables(shapes: Record<string, number[]>, init: Arrays): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, own(init[k]!, s)]));
}

function read(vs: Record<string, tf.Tensor>): Arrays {
  return Object.fromEntries(Object.entries(vs).map(([k, v]) => [k, (v.dataSync() as Float32Array).slice()]));
}

/** Max relative (to max(|want|, 1)) difference over every key. */
function relDiff(got: Arrays, want: Arrays): { worst: number; key: string } {
  let worst = 0, key = '';
  for (const [k, w] of Object.entries(want)) {
    const d = maxAbsDiff(got[k]!, w) / Math.max(1, maxAbs(w));
    if (d > worst || key === '') [worst, key] = [d, k];
  }
  return { worst, key };
}

/** Whether a and b hold the same values, element by element (fast on big arrays, unlike assert.equal). */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function disposeAll(...trees: (Record<string, tf.Tensor> | undefined)[]): void {
  for (const t of trees) if (t) tf.dispose(Object.values(t));
}

/**
 * Three AdamW steps from the same parameters and gradients with each path; returns p, m, v
 * after every step (path order as given).
 */
function adamwRuns(shapes: Record<string, number[]>, hp: AdamWHyper, paths: AdamWPath[]): { p: Arrays; m: Arrays; v: Arrays }[][] {
  const init: Arrays = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, values(sizeOf(s), 0.5)]));
  const grads: Arrays[] = [0, 1, 2].map((step) =>
    Object.fromEntries(
      Object.entries(shapes).map(([k, s]) => {
        const g = values(sizeOf(s), step === 1 ? 3 : 0.1);
        if (step === 2 && g.length > 4) g.fill(0, 0, 4); // zero gradients: v decays, m/bc1 keeps moving
        return [k, g];
      }),
    ),
  );
  return paths.map((path) => {
    const params = variables(shapes, init);
    const state = initAdamW(params);
    const out = grads.map((g) => {
      const gt = Object.fromEntries(Object.entries(g).map(([k, a]) => [k, tf.tensor(a, shapes[k])]));
      adamwStep(params, gt, state, hp, path);
      tf.dispose(Object.values(gt));
      return { p: read(params), m: read(state.m), v: read(state.v) };
    });
    disposeAll(params, state.m, state.v);
    return out;
  });
}

const HP: AdamWHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

// ---- the op path and the guards (every backend) ---------------------------------------------------

test('inPlaceUpdates: wasm only, PIXNERD_INPLACE_UPDATES=0 turns it off, PIXNERD_NATIVE_BLAS=0 leaves the JS loop', () => {
  withEnv({ PIXNERD_INPLACE_UPDATES: '0' }, () => {
    assert.is(inPlaceUpdates(), null);
    assert.is(inPlaceUpdates('js'), null);
    const p = { w: tf.variable(tf.tensor1d([1, 2])) };
    const st = initAdamW(p);
    assert.throws(() => adamwStep(p, { w: tf.tensor1d([0.1, 0.2]) }, st, HP, 'native'), /in-place path "native" needs the wasm backend/);
    const ema = copyParams(p);
    assert.throws(() => updateEma(ema, p, 0.5, 'js'), /in-place path "js" needs the wasm backend/);
    disposeAll(p, st.m, st.v, ema);
  });
  if (backend.backend !== 'wasm') {
    assert.is(inPlaceUpdates(), null);
    return;
  }
  assert.is(inPlaceUpdates('js'), 'js');
  assert.is(withEnv({ PIXNERD_NATIVE_BLAS: '0' }, () => inPlaceUpdates()), 'js');
});

test('adamwStep / updateEma with path "ops" (any backend) keep the hand-computed arithmetic', () => {
  const p = { w: tf.variable(tf.tensor1d([1, -2])) };
  const st = initAdamW(p);
  const hp = { ...HP, lr: 0.1, weightDecay: 0.01 };
  adamwStep(p, { w: tf.tensor1d([0.5, -1]) }, st, hp, 'ops');
  // step 1: m = 0.1 g, v = 0.001 g^2, update = g / (|g| + eps) = sign(g)
  const want = [1 * (1 - 0.001) - 0.1, -2 * (1 - 0.001) + 0.1];
  assert.ok(maxAbsDiff(p.w.dataSync(), want) < 1e-6, `${Array.from(p.w.dataSync())} vs ${want}`);
  const ema = copyParams({ w: tf.tensor1d([0, 0]) });
  updateEma(ema, p, 0.9, 'ops');
  assert.ok(maxAbsDiff(ema.w!.dataSync(), want.map((x) => 0.1 * x)) < 1e-7);
  disposeAll(p, st.m, st.v, ema);
});

// ---- in-place AdamW ------------------------------------------------------------------------------------

itest('AdamW in place (add-on and JS loop) equals the op path over 3 steps, weight decay off and on', () => {
  for (const hp of [HP, { ...HP, lr: 3e-2, weightDecay: 0.05 }, { ...HP, lr: 1e-4, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1 }]) {
    const [ops, ...runs] = adamwRuns(SHAPES, hp, ['ops', ...KINDS]);
    runs.forEach((run, i) => {
      run.forEach((st, k) => {
        for (const part of ['p', 'm', 'v'] as const) {
          const { worst, key } = relDiff(st[part], ops![k]![part]);
          assert.ok(worst <= 1e-6, `${KINDS[i]} (lr ${hp.lr}, wd ${hp.weightDecay}) step ${k + 1}: ${part}.${key} differs by ${worst}`);
        }
      });
    });
    // the parameters moved (the comparison is not vacuous)
    assert.ok(relDiff(ops![2]!.p, ops![0]!.p).worst > 1e-5);
  }
});

itest('AdamW in place on 1M+ elements (threaded add-on) equals the op path', () => {
  const [ops, ...runs] = adamwRuns(BIG, { ...HP, weightDecay: 0.01 }, ['ops', ...KINDS]);
  runs.forEach((run, i) => {
    for (const part of ['p', 'm', 'v'] as const) {
      const { worst } = relDiff(run[2]![part], ops![2]![part]);
      assert.ok(worst <= 1e-6, `${KINDS[i]}: ${part} differs by ${worst}`);
    }
  });
});

itest('AdamW "auto" on the heap: moments keep their buffers, each parameter gets a fresh one; nothing leaks', () => {
  const shapes = { a: [64, 32], b: [32] };
  const params = variables(shapes, { a: values(64 * 32), b: values(32) });
  const state = initAdamW(params);
  const grads = { a: tf.tensor(values(64 * 32), [64, 32]), b: tf.tensor(values(32), [32]) };
  const moments = () => [...Object.values(state.m), ...Object.values(state.v)].map((v) => v.dataId);
  const ids = moments();
  const t0 = tf.memory().numTensors, h0 = wasm().numDataIds();
  const before = read(params);
  for (let i = 0; i < 5; i++) {
    const pIds = Object.values(params).map((v) => v.dataId);
    adamwStep(params, grads, state, HP, 'auto');
    Object.values(params).forEach((v, k) => assert.is.not(v.dataId, pIds[k], 'a parameter was updated in its old buffer'));
  }
  assert.is(tf.memory().numTensors, t0, 'tensors');
  assert.is(wasm().numDataIds(), h0, 'heap buffers');
  assert.equal(moments(), ids, 'moment buffers replaced');
  assert.ok(relDiff(read(params), before).worst > 1e-4, 'parameters did not change');
  assert.is(state.step, 5);
  disposeAll(params, state.m, state.v, grads);
});

itest('the stock XNNPACK matMul (which caches packed weights by buffer) sees every AdamW and EMA update', () => {
  // Without the add-on every matMul is the stock kernel; here it is forced for the comparison.
  const wasActive = nativeMatmulActive();
  disableNativeMatmul();
  try {
    for (const kind of KINDS) {
      const x = tf.tensor(values(16 * 48), [16, 48]);
      const params = { w: own(values(48 * 32, 0.2), [48, 32]) };
      const ema = { w: own(values(48 * 32, 0.2), [48, 32], false) };
      const st = initAdamW(params);
      const g = { w: tf.tensor(values(48 * 32), [48, 32]) };
      /** Both matMul kernels with the variable, against a product with a new tensor of its values. */
      const check = (w: tf.Variable, what: string) => {
        const got = tf.tidy(() => [tf.matMul(x, w), tf.fused.matMul({ a: x, b: w as tf.Tensor2D, activation: 'relu' })].map((t) => t.dataSync()));
        const want = tf.tidy(() => {
          const fresh = tf.tensor2d(w.dataSync(), [w.shape[0]!, w.shape[1]!]);
          return [tf.matMul(x, fresh), tf.relu(tf.matMul(x, fresh))].map((t) => t.dataSync());
        });
        got.forEach((a, i) => assert.ok(maxAbsDiff(a, want[i]!) <= 1e-5, `${kind}: ${what}: ${i ? 'fused' : 'batch'} matMul used stale weights (${maxAbsDiff(a, want[i]!)})`));
      };
      for (let step = 0; step < 3; step++) {
        check(params.w, `AdamW step ${step}`); // packs (and caches) the current weights
        check(ema.w, `EMA update ${step}`);
        adamwStep(params, g, st, { ...HP, lr: 0.05 }, kind);
        updateEma(ema, params, 0.5, kind);
      }
      check(params.w, 'AdamW step 3');
      check(ema.w, 'EMA update 3');
      disposeAll(params, ema, st.m, st.v, g);
      x.dispose();
    }
  } finally {
    if (wasActive) enableNativeMatmul();
  }
});

itest('AdamW in place: a parameter sharing its buffer (tf.variable(t), clone()) leaves the other tensors unchanged', () => {
  for (const kind of KINDS) {
    const t = tf.tensor(values(300), [20, 15]);
    const tWant = (t.dataSync() as Float32Array).slice();
    const p = { w: tf.variable(t) }; // shares t's buffer
    assert.is(p.w.dataId, t.dataId);
    assert.is(wasm().refCount(t.dataId), 2);
    const c = p.w.clone(); // zero-copy Identity: a third reference
    const ref = { w: own(tWant, [20, 15]) }; // the op path, own buffer
    const st = initAdamW(p), stRef = initAdamW(ref);
    // the moments share buffers too: m with a kept tensor, v with m's clone
    const mInit = tf.tensor(values(300, 0.01), [20, 15]);
    const mWant = (mInit.dataSync() as Float32Array).slice();
    st.m.w!.dispose();
    st.m.w = tf.variable(mInit, false);
    assignArray(stRef.m.w!, mWant);
    const g = { w: tf.tensor(values(300), [20, 15]) };
    const h0 = wasm().numDataIds();
    adamwStep(p, g, st, { ...HP, weightDecay: 0.1 }, kind);
    adamwStep(ref, g, stRef, { ...HP, weightDecay: 0.1 }, 'ops');
    assert.equal(t.dataSync(), tWant, `${kind}: the tensor the variable was made from changed`);
    assert.equal(c.dataSync(), tWant, `${kind}: the clone changed`);
    assert.equal(mInit.dataSync(), mWant, `${kind}: the tensor the moment was made from changed`);
    assert.is.not(p.w.dataId, t.dataId, 'the variable got its own buffer');
    assert.is(wasm().refCount(p.w.dataId), 1);
    assert.is(wasm().refCount(t.dataId), 2, 't and its clone still share');
    assert.is(wasm().numDataIds(), h0 + 2, 'one fresh buffer for p and a private copy of m, nothing else');
    for (const [a, b, what] of [[p.w, ref.w, 'p'], [st.m.w!, stRef.m.w!, 'm'], [st.v.w!, stRef.v.w!, 'v']] as const) {
      assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) <= 1e-6 * Math.max(1, maxAbs(b.dataSync())), `${kind}: ${what} differs from the op path`);
    }
    // a second step: no more copies
    adamwStep(p, g, st, HP, kind);
    assert.is(wasm().numDataIds(), h0 + 2);
    disposeAll(p, ref, st.m, st.v, stRef.m, stRef.v, g);
    tf.dispose([t, c, mInit]);
  }
});

itest('AdamW in place: mismatched shapes and non-float32 variables are errors', () => {
  const p = tf.variable(tf.zeros([4, 3]));
  const m = tf.variable(tf.zeros([4, 3]));
  const v = tf.variable(tf.zeros([4, 3]));
  const s = { ...HP, bc1: 0.1, bc2: 0.001 };
  assert.throws(() => adamwOnHeap(p, m, v, tf.zeros([3, 4]), s), /shapes \[4,3\] and \[3,4\] differ/);
  assert.throws(() => adamwOnHeap(p, tf.variable(tf.zeros([12])), v, tf.zeros([4, 3]), s), /adamw: m/);
  const pi = tf.variable(tf.zeros([4, 3], 'int32'));
  assert.throws(() => adamwOnHeap(pi, m, v, tf.zeros([4, 3]), s), /int32 tensor \[4,3\], float32 expected/);
  assert.throws(() => emaOnHeap(p, tf.zeros([5]), 0.5), /ema: shapes/);
  tf.dispose([p, m, v, pi]);
});

itest('AdamW "native" without the add-on (PIXNERD_NATIVE_BLAS=0) falls back to the JS loop with the same results', () => {
  const [ops, js] = withEnv({ PIXNERD_NATIVE_BLAS: '0' }, () => adamwRuns({ w: [33, 17] }, { ...HP, weightDecay: 0.02 }, ['ops', 'native']));
  for (const part of ['p', 'm', 'v'] as const) assert.ok(relDiff(js![2]![part], ops![2]![part]).worst <= 1e-6, part);
});

// ---- in-place EMA ------------------------------------------------------------------------------------------

/** EMA over 3 parameter updates with each path; returns the EMA after every update. */
function emaRuns(shapes: Record<string, number[]>, decays: number[], paths: EmaPath[]): Arrays[][] {
  const init: Arrays = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, values(sizeOf(s))]));
  const steps: Arrays[] = decays.map(() => Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, values(sizeOf(s))])));
  return paths.map((path) => {
    const params = variables(shapes, init);
    const ema = copyParams(params); // shares the params' buffers
    const out = decays.map((d, i) => {
      for (const [k, p] of Object.entries(params)) assignArray(p, steps[i]![k]!);
      updateEma(ema, params, d, path);
      const r = read(ema);
      // the params are untouched by the EMA update
      for (const [k, p] of Object.entries(params)) assert.ok(same(p.dataSync(), steps[i]![k]!), `${path}: EMA update changed parameter ${k}`);
      return r;
    });
    disposeAll(params, ema);
    return out;
  });
}

itest('EMA in place (add-on and JS loop) equals the op path: decay 0.9, 0.9999, 0 (a copy)', () => {
  for (const [decays, shapes] of [
    [[0.9, 0.9, 0.9], SHAPES],
    [[0.9999, 0.5, 0.9999], SHAPES],
    [[0, 0.9, 0], SHAPES],
    [[0.9, 0, 0.9999], BIG], // threaded add-on
  ] as [number[], Record<string, number[]>][]) {
    const [ops, ...runs] = emaRuns(shapes, decays, ['ops', ...KINDS]);
    runs.forEach((run, i) =>
      run.forEach((e, k) => {
        const { worst, key } = relDiff(e, ops![k]!);
        assert.ok(worst <= 1e-6, `${KINDS[i]} decays ${decays} update ${k + 1}: ${key} differs by ${worst}`);
        if (decays[k] === 0) for (const [n, a] of Object.entries(e)) assert.ok(same(a, ops![k]![n]!), `decay 0 copies ${n} exactly`);
      }),
    );
  }
});

itest('EMA with a shared buffer: copyParams shares, the in-place update copies first; decay 0 after "ops" sharing', () => {
  for (const kind of KINDS) {
    const init = values(40);
    const params = { w: own(init, [8, 5]) };
    const ema = copyParams(params);
    assert.is(ema.w!.dataId, params.w.dataId, 'copyParams shares the buffer');
    // params move by AdamW in place; the EMA (sharing the old buffer) must not move with them
    const st = initAdamW(params);
    const g = { w: tf.tensor(values(40), [8, 5]) };
    adamwStep(params, g, st, HP, kind);
    assert.equal(Array.from(ema.w!.dataSync()), Array.from(init), `${kind}: the in-place AdamW changed the EMA copy`);
    const p1 = (params.w.dataSync() as Float32Array).slice();
    // the EMA in place: e = 0.9 init + 0.1 p1, params unchanged
    updateEma(ema, params, 0.9, kind);
    assert.equal(params.w.dataSync(), p1, `${kind}: the in-place EMA changed the parameters`);
    const want = init.map((e, i) => Math.fround(Math.fround(e * Math.fround(0.9)) + Math.fround(p1[i]! * Math.fround(1 - 0.9))));
    assert.ok(maxAbsDiff(ema.w!.dataSync(), want) <= 1e-6, `${kind}: EMA arithmetic`);
    // decay 0 by the op path shares the buffer again (assign); the next in-place AdamW must not move the EMA
    updateEma(ema, params, 0, 'ops');
    assert.is(ema.w!.dataId, params.w.dataId);
    adamwStep(params, g, st, HP, kind);
    assert.equal(ema.w!.dataSync(), p1, `${kind}: AdamW after an "ops" decay-0 EMA changed the EMA`);
    // decay 0 in place: an exact copy in its own buffer
    updateEma(ema, params, 0, kind);
    assert.is.not(ema.w!.dataId, params.w.dataId);
    assert.equal(ema.w!.dataSync(), params.w.dataSync());
    const p2 = (params.w.dataSync() as Float32Array).slice();
    adamwStep(params, g, st, HP, kind);
    assert.equal(ema.w!.dataSync(), p2, `${kind}: AdamW after an in-place decay-0 EMA changed the EMA`);
    // an EMA variable made from a kept tensor
    const t = tf.tensor(init, [8, 5]);
    const e2 = { w: tf.variable(t, false) };
    emaOnHeap(e2.w, params.w, 0.5, kind);
    assert.equal(Array.from(t.dataSync()), Array.from(init), `${kind}: emaOnHeap changed the tensor its variable was made from`);
    disposeAll(params, ema, st.m, st.v, g, e2);
    t.dispose();
  }
});

itest('makeUnique: copies only shared buffers, keeps values, leaks nothing', () => {
  const t = tf.tensor(values(10), [10]);
  const v = tf.variable(t);
  const n0 = tf.memory().numTensors, h0 = wasm().numDataIds();
  makeUnique(v);
  assert.is(tf.memory().numTensors, n0, 'tensors');
  assert.is(wasm().numDataIds(), h0 + 1, 'one new buffer');
  assert.is.not(v.dataId, t.dataId);
  assert.equal(v.dataSync(), t.dataSync());
  const id = v.dataId;
  makeUnique(v); // already unique: nothing happens
  assert.is(v.dataId, id);
  assert.is(wasm().numDataIds(), h0 + 1);
  tf.dispose([t, v]);
  assert.is(wasm().numDataIds(), h0 - 1, 'both buffers freed');
});

test.run();
