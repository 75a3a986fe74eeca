import { backend, maxAbs, maxAbsDiff } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createConfig, type ModelConfig, type NerfHeadConfig } from '../config/model-config';
import { PRESETS } from '../config/presets';
import { gatedAdd, l2Normalize, normModulate, rmsNorm, silu, swiGluGate } from '../model/ops';
import { createTrainConfig } from '../training/train-config';
import { lossAndGrads, type Batch } from '../training/train-step';
import { disposeTrainState, initTrainState } from '../training/train';
import { broadcastAddPlan, mergeAxes, disableWasmKernelOverrides, enableWasmKernelOverrides, FUSED_KERNELS, fusedKernel, reductionBlock, wasmKernelOverridesActive } from './native-kernels';
import { loadNativeBlas } from './native-matmul';
import { nerfField, nerfFinal } from '../heads/nerf-head';
import { initParams } from '../model/params';
import { attention } from '../model/attention';
import { ropeTables } from '../model/rope';

// The overrides replace wasm kernels only; the fused ones also need the nativeblas add-on. Without
// them the comparisons are not registered (the reason is printed) and only the pure parts run.
// Not test.skip: the runner's summary counts skipped tests wrongly.
const SKIP_OVERRIDES =
  backend.backend !== 'wasm' ? `tests run on ${backend.backend}; the overrides replace wasm kernels only` : process.env.PIXNERD_WASM_KERNELS === '0' ? 'PIXNERD_WASM_KERNELS=0' : null;
const overrideStatus = SKIP_OVERRIDES ? null : enableWasmKernelOverrides();
const SKIP_FUSED = SKIP_OVERRIDES ?? (fusedKernel('silu') ? null : 'the nativeblas add-on is not built (or PIXNERD_NATIVE_BLAS=0)');
if (SKIP_OVERRIDES) console.log(`(wasm kernel override comparisons skipped: ${SKIP_OVERRIDES})`);
else {
  console.log(`(wasm kernel overrides: ${overrideStatus!.reason})`);
  if (SKIP_FUSED) console.log(`(fused kernel comparisons skipped: ${SKIP_FUSED})`);
}
const otest = (name: string, fn: () => void | Promise<void>) => {
  if (!SKIP_OVERRIDES) test(name, fn);
};
const ftest = (name: string, fn: () => void | Promise<void>) => {
  if (!SKIP_FUSED) test(name, fn);
};

const wasm = () => tf.engine().backend as unknown as BackendWasm;

let seed = 1000;
/**
 * A kept pseudo-random float32 tensor: scaled normal; big ones (drawing normals in JS is slow)
 * uniform in [-1.7, 1.7) * scale from a hash of the index, on the backend.
 */
const rnd = (shape: number[], scale = 1) =>
  tf.tidy(() => {
    const n = shape.reduce((p, d) => p * d, 1);
    if (n < 1 << 16) return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed++), scale);
    const h = tf.mul(tf.sin(tf.add(tf.mul(tf.range(0, n, 1, 'float32'), 0.0137), seed++)), 43758.5453);
    return tf.mul(tf.sub(tf.sub(h, tf.floor(h)), 0.5), 3.4 * scale).reshape(shape);
  });

type Outs = { shape: number[]; dtype: string; values: ArrayLike<number> | string[] }[];

/** Equal element by element, NaN equal to NaN (bit-identical for float32 values). */
function sameValues(a: ArrayLike<unknown>, b: ArrayLike<unknown>): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `element ${i}: ${String(a[i])} vs ${String(b[i])}`;
  return null;
}

/** Runs f, reads its outputs, disposes everything it made; asserts no tensor or heap buffer leaked. */
function run(f: () => tf.Tensor | tf.Tensor[]): Outs {
  const before = tf.memory().numTensors;
  const buffers = tf.memory().numDataBuffers;
  const ids = wasm().numDataIds();
  const outs = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const vals = outs.map((t) => {
    const d = t.dataSync() as tf.TypedArray | string[];
    return { shape: t.shape, dtype: t.dtype, values: Array.isArray(d) ? [...d] : d.slice() };
  });
  tf.dispose(outs);
  assert.is(tf.memory().numTensors, before, 'tensors leaked');
  assert.is(tf.memory().numDataBuffers, buffers, 'data buffers leaked');
  assert.is(wasm().numDataIds(), ids, 'heap buffers leaked');
  return vals;
}

/** f's outputs with the overrides, then with the stock kernels (overrides restored after, even on failure). */
function onOff(f: () => tf.Tensor | tf.Tensor[]): { ours: Outs; stock: Outs } {
  assert.ok(enableWasmKernelOverrides().active);
  const ours = run(f);
  disableWasmKernelOverrides();
  let stock: Outs;
  try {
    assert.not.ok(wasmKernelOverridesActive());
    assert.is(fusedKernel('silu'), null, 'fused kernels still registered after disable');
    stock = run(f);
  } finally {
    enableWasmKernelOverrides();
  }
  assert.ok(wasmKernelOverridesActive());
  return { ours, stock };
}

/** Relative max error (to the stock output's max |x|) of every output; asserts < tol. `tol` 0: bit-identical. */
function compare(label: string, f: () => tf.Tensor | tf.Tensor[], tol: number): number {
  const { ours, stock } = onOff(f);
  assert.is(ours.length, stock.length, `${label}: output count`);
  let worst = 0;
  ours.forEach((o, i) => {
    const s = stock[i]!;
    assert.equal(o.shape, s.shape, `${label}: output ${i} shape`);
    assert.is(o.dtype, s.dtype, `${label}: output ${i} dtype`);
    if (tol === 0) {
      const diff = sameValues(o.values, s.values);
      assert.ok(diff === null, `${label}: output ${i} differs: ${diff}`);
      return;
    }
    const ov = o.values as ArrayLike<number>, sv = s.values as ArrayLike<number>;
    const rel = maxAbsDiff(ov, sv) / Math.max(maxAbs(sv), 1e-30);
    assert.ok(rel < tol, `${label}: output ${i} relative error ${rel} >= ${tol}`);
    worst = Math.max(worst, rel);
  });
  return worst;
}

/** The kernel names f runs (forward and, through tf.grads inside f, backward). */
async function kernelsRun(f: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => f() as tf.TensorContainer);
  const names = info.kernelNames;
  tf.dispose(info.result as tf.Tensor | tf.Tensor[]);
  return names;
}

// ---- reductionBlock (pure) -----------------------------------------------------------------------

test('reductionBlock: contiguous reduced axes merge to [outer, R, inner]; gaps give null', () => {
  assert.equal(reductionBlock([256, 384], [0]), { outer: 1, R: 256, inner: 384 });
  assert.equal(reductionBlock([256, 384], [1]), { outer: 256, R: 384, inner: 1 });
  assert.equal(reductionBlock([2, 3, 4, 5], [1, 2]), { outer: 2, R: 12, inner: 5 });
  assert.equal(reductionBlock([2, 3, 4, 5], [2, 1]), { outer: 2, R: 12, inner: 5 }, 'axis order does not matter');
  assert.equal(reductionBlock([2, 3, 4, 5], [0, 1, 2]), { outer: 1, R: 24, inner: 5 });
  assert.is(reductionBlock([2, 3, 4], [0, 2]), null);
  assert.is(reductionBlock([2, 3, 4, 5], [1, 3]), null);
  // size-1 axes fit anywhere
  assert.equal(reductionBlock([2, 1, 4], [0, 2]), { outer: 1, R: 8, inner: 1 });
  assert.equal(reductionBlock([1, 7, 1, 5], [0, 1, 2]), { outer: 1, R: 7, inner: 5 });
  assert.equal(reductionBlock([4, 1, 3], [1]), { outer: 12, R: 1, inner: 1 }, 'only size-1 axes reduced: a copy, left to stock');
  assert.equal(reductionBlock([3, 4], []), { outer: 12, R: 1, inner: 1 });
});

// ---- fused kernels: forward and gradients equal the op formulas ----------------------------------

/** rmsNorm with the default eps, as a function of tensors only. */
const rms = (x: tf.Tensor, w: tf.Tensor) => rmsNorm(x, w);

/** [value, d/dx...] of sum(op(inputs) * r): with a random cotangent r every gradient entry matters. */
function valueAndGrads(op: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], r: tf.Tensor): tf.Tensor[] {
  const y = op(...inputs);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(op(...xs), r)))(inputs);
  return [y, ...grads];
}

ftest('fused kernels are registered and ops.ts uses them; disable drops them, enable restores them', async () => {
  for (const k of Object.keys(FUSED_KERNELS) as (keyof typeof FUSED_KERNELS)[]) assert.is(fusedKernel(k), FUSED_KERNELS[k]);
  const x = rnd([8, 16]), b = rnd([8, 16]), w = rnd([16]), r = rnd([8, 16]);
  const all = async () => {
    const names = new Set<string>();
    for (const n of await kernelsRun(() => valueAndGrads(silu, [x], r))) names.add(n);
    for (const n of await kernelsRun(() => valueAndGrads(swiGluGate, [x, b], r))) names.add(n);
    for (const n of await kernelsRun(() => valueAndGrads(rms, [x, w], r))) names.add(n);
    for (const n of await kernelsRun(() => valueAndGrads((t) => l2Normalize(t, 0), [x], r))) names.add(n);
    return names;
  };
  const on = await all();
  // (the NerfBlock, attention, field-output and adaLN kernels have their own tests below)
  for (const [k, name] of Object.entries(FUSED_KERNELS)) if (!k.startsWith('nerfBlock') && !k.startsWith('attention') && !k.startsWith('nerfFinal') && !k.startsWith('normModulate') && !k.startsWith('gatedAdd')) assert.ok(on.has(name), `${name} did not run`);
  disableWasmKernelOverrides();
  try {
    const off = await all();
    for (const name of Object.values(FUSED_KERNELS)) assert.not.ok(off.has(name), `${name} ran after disable`);
  } finally {
    enableWasmKernelOverrides();
  }
  tf.dispose([x, b, w, r]);
});

ftest('silu: forward and gradient equal the op formula ([256, 384], large values, 1M elements threaded)', () => {
  const cases: [string, tf.Tensor][] = [
    ['[256, 384]', rnd([256, 384], 3)],
    ['[3, 5, 7] with +-100', tf.tidy(() => tf.concat([rnd([3, 5, 6], 3), tf.tensor([-100, 100, -80.5, 80.5, -1e-8, 0, 88, -88, 20, -20, 5, 1, 2, 3, 4], [3, 5, 1])], 2))],
    ['[1024, 1024]', rnd([1024, 1024], 2)],
  ];
  for (const [label, x] of cases) {
    const r = rnd(x.shape);
    compare(`silu ${label}`, () => valueAndGrads(silu, [x], r), 1e-5);
    tf.dispose([x, r]);
  }
});

ftest('swiGluGate: forward and gradients equal silu(a) * b ([256, 1024], [2, 16, 96], 1M elements threaded)', () => {
  for (const shape of [[256, 1024], [2, 16, 96], [1, 1048576 + 37]]) {
    const a = rnd(shape, 2), b = rnd(shape), r = rnd(shape);
    compare(`swiGlu [${shape}]`, () => valueAndGrads(swiGluGate, [a, b], r), 1e-5);
    tf.dispose([a, b, r]);
  }
});

ftest('swiGluGate with broadcasting falls back to the op formula', async () => {
  const a = rnd([4, 8]), b = rnd([1, 8]), r = rnd([4, 8]);
  const names = await kernelsRun(() => valueAndGrads(swiGluGate, [a, b], r));
  assert.not.ok(names.includes(FUSED_KERNELS.swiGlu), 'the fused kernel ran on unequal shapes');
  compare('swiGlu broadcast', () => valueAndGrads(swiGluGate, [a, b], r), 1e-5);
  tf.dispose([a, b, r]);
});

ftest('rmsNorm: forward and gradients (x and gain) equal the op formula', () => {
  const cases: [number[], number][] = [
    [[256, 384], 1], //       a trunk norm, [B*L, D]
    [[2, 4, 64, 32], 1], //   q/k norm [B, h, L, Dh]
    [[4096, 32], 1], //       the field head's norm [N*P, hx]
    [[7, 5], 1e-3], //        small values: eps matters
    [[3000, 384], 1], //      1.15M elements: threaded, partial gain sums per thread
    [[384], 1], //            rank 1: one row
  ];
  for (const [shape, scale] of cases) {
    const x = rnd(shape, scale), w = tf.tidy(() => tf.add(rnd([shape[shape.length - 1]!], 0.2), 1)), r = rnd(shape);
    compare(`rmsNorm [${shape}]`, () => valueAndGrads(rms, [x, w], r), 1e-5);
    if (x.size < 1 << 16) compare(`rmsNorm [${shape}] eps 1e-2`, () => valueAndGrads((a, b) => rmsNorm(a, b, 1e-2), [x, w], r), 1e-5);
    tf.dispose([x, w, r]);
  }
});

ftest('attention core: forward and gradients (z, qkv, q/k gains, proj) equal the op path; it runs, fused, forward and backward', async () => {
  const cases: [number, number, number, number, number, number][] = [
    // B, grid h, grid w, heads, Dh, scale of z
    [4, 4, 4, 4, 32, 1], //   tiny-32/8: 16 tokens, 4 heads of 32
    [2, 8, 8, 6, 64, 1], //   bench-M: 64 tokens, 6 heads of 64
    [32, 4, 4, 4, 32, 1], //  the main job's batch: threaded
    [3, 2, 3, 2, 8, 30], //   a 2 x 3 grid (odd L), large activations: softmax saturates
    [1, 1, 1, 1, 4, 1], //    one token: softmax of one score
  ];
  for (const [B, gh, gw, h, Dh, scale] of cases) {
    const D = h * Dh, L = gh * gw;
    const names = ['a.qkv.weight', 'a.q_norm.weight', 'a.k_norm.weight', 'a.proj.weight', 'a.proj.bias'];
    const weights = [rnd([D, 3 * D], 1 / Math.sqrt(D)), tf.tidy(() => tf.add(rnd([Dh], 0.2), 1)), tf.tidy(() => tf.add(rnd([Dh], 0.2), 1)), rnd([D, D], 1 / Math.sqrt(D)), rnd([D], 0.1)];
    const z = rnd([B, L, D], scale), r = rnd([B, L, D]);
    const rope = ropeTables(gh, gw, Dh);
    const f = (zz: tf.Tensor, ...ws: tf.Tensor[]) => attention(Object.fromEntries(names.map((n, i) => [n, ws[i]!])), 'a', zz as tf.Tensor3D, h, rope);
    compare(`attention B ${B}, ${gh}x${gw} tokens, ${h} heads of ${Dh}`, () => valueAndGrads(f, [z, ...weights], r), 1e-5);
    if (B === 4) {
      const ran = await kernelsRun(() => valueAndGrads(f, [z, ...weights], r));
      for (const k of [FUSED_KERNELS.attention, FUSED_KERNELS.attentionGrad]) assert.ok(ran.includes(k), `${k} did not run`);
      assert.not.ok(ran.includes('Softmax'), 'the op path ran too');
    }
    tf.dispose([z, r, ...weights]);
  }
});

ftest('field output layer: forward and gradients (z, gain, W, b) equal RMSNorm -> Linear; the fused kernels run', async () => {
  const cases: [number[], number, number][] = [
    // z shape [N, P, hx], C, scale of z
    [[64, 64, 32], 1, 1], //    tiny-32/8: grey
    [[512, 256, 64], 3, 1], //  bench-S: 131,072 rows, threaded, 64 row blocks
    [[3, 5, 7], 2, 1e-3], //    odd sizes, one partial block, small values (eps matters)
  ];
  for (const [shape, C, scale] of cases) {
    const hx = shape[2]!;
    const z = rnd(shape, scale), g = tf.tidy(() => tf.add(rnd([hx], 0.2), 1)), W = rnd([hx, C], 0.3), b = rnd([C], 0.1), r = rnd([...shape.slice(0, 2), C]);
    const params = (gg: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => ({ 'final_layer.norm.weight': gg, 'final_layer.linear.weight': ww, 'final_layer.linear.bias': bb });
    const f = (zz: tf.Tensor, gg: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => nerfFinal(params(gg, ww, bb), zz as tf.Tensor3D);
    // value, dz, dg, dW against the op path; db (a sum of R rows) against float64, the op path
    // sums it in float32 (stock Sum) and is itself off by ~1e-5 on 4096 rows
    compare(`nerfFinal [${shape}] -> ${C}`, () => valueAndGrads(f, [z, g, W, b], r).slice(0, 4), 1e-5);
    const db = tf.tidy(() => valueAndGrads(f, [z, g, W, b], r)[4]!.dataSync());
    const rv = r.dataSync(), exact = new Float64Array(C), size = new Float64Array(C);
    rv.forEach((v, i) => ((exact[i % C] += v), (size[i % C] += Math.abs(v))));
    for (let c = 0; c < C; c++) assert.ok(Math.abs(db[c]! - exact[c]!) <= 1e-6 * size[c]!, `db[${c}] ${db[c]} vs ${exact[c]} (float64)`);
    const ran = await kernelsRun(() => valueAndGrads(f, [z, g, W, b], r));
    for (const k of [FUSED_KERNELS.nerfFinal, FUSED_KERNELS.nerfFinalGrad]) assert.ok(ran.includes(k), `${k} did not run`);
    tf.dispose([z, g, W, b, r]);
  }
});

ftest('adaLN pieces: normModulate and gatedAdd, forward and gradients equal the op formulas; the fused kernels run', async () => {
  for (const [B, L, D, scale] of [[32, 16, 128, 1], [2, 5, 7, 1e-3], [1, 1, 384, 30]] as const) {
    const x = rnd([B, L, D], scale), w = tf.tidy(() => tf.add(rnd([D], 0.2), 1)), shift = rnd([B, 1, D], 0.3), sc = rnd([B, 1, D], 0.3), h = rnd([B, L, D]), r = rnd([B, L, D]);
    const nm = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => normModulate(a, b, c, d);
    const ga = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => gatedAdd(a, b, c);
    compare(`normModulate [${B}, ${L}, ${D}] forward`, () => nm(x, w, shift, sc), 1e-6); // the stock RMSNorm sums in float32
    compare(`normModulate [${B}, ${L}, ${D}] gradients`, () => valueAndGrads(nm, [x, w, shift, sc], r), 1e-5);
    compare(`gatedAdd [${B}, ${L}, ${D}] forward`, () => ga(x, sc, h), 0);
    compare(`gatedAdd [${B}, ${L}, ${D}] gradients`, () => valueAndGrads(ga, [x, sc, h], r), 1e-5);
    const ran = await kernelsRun(() => [...valueAndGrads(nm, [x, w, shift, sc], r), ...valueAndGrads(ga, [x, sc, h], r)]);
    for (const k of ['normModulate', 'normModulateGrad', 'gatedAdd', 'gatedAddGrad'] as const) assert.ok(ran.includes(FUSED_KERNELS[k]), `${FUSED_KERNELS[k]} did not run`);
    tf.dispose([x, w, shift, sc, h, r]);
  }
});

test('broadcastAddPlan: same shapes and repeats along leading axes; anything else stock', () => {
  assert.equal(broadcastAddPlan([4, 5], [4, 5]), { swap: false, m: 20 });
  assert.equal(broadcastAddPlan([512, 256, 64], [256, 64]), { swap: false, m: 256 * 64 });
  assert.equal(broadcastAddPlan([3, 4, 8], [1, 1, 8]), { swap: false, m: 8 });
  assert.equal(broadcastAddPlan([8], [2, 3, 8]), { swap: true, m: 8 });
  assert.is(broadcastAddPlan([3, 4, 8], [4, 1]), null); // a repeat inside
  assert.is(broadcastAddPlan([3, 4, 8], [3, 1, 8]), null);
  assert.is(broadcastAddPlan([1, 8], [4, 8]), null);
});

test('mergeAxes: size-1 axes dropped, neighbours merged', () => {
  assert.equal(mergeAxes([2, 4, 8, 4, 8, 3], [0, 1, 3, 2, 4, 5]), { shape: [8, 8, 4, 24], perm: [0, 2, 1, 3] });
  assert.equal(mergeAxes([2, 3, 4], [0, 1, 2]), { shape: [24], perm: [0] });
  assert.equal(mergeAxes([2, 1, 3], [2, 1, 0]), { shape: [2, 3], perm: [1, 0] });
  assert.equal(mergeAxes([1, 1], [1, 0]), { shape: [1], perm: [0] });
});

ftest('Transpose: float32 permutations run in the add-on, bit-identical to the stock kernel', () => {
  const cases: [number[], number[]][] = [
    [[32, 4, 16, 4, 16, 3], [0, 1, 3, 2, 4, 5]], // patchify at bench-S
    [[32, 4, 4, 16, 16, 3], [0, 1, 3, 2, 4, 5]], // unpatchify
    [[32, 4, 8, 4, 8, 3], [0, 1, 3, 5, 2, 4]], //   the linear head's (last axis moves)
    [[64, 1, 48, 40], [3, 1, 0, 2]], //             a size-1 axis, full reversal of the rest
    [[300, 200], [1, 0]],
  ];
  for (const [shape, perm] of cases) {
    const x = rnd(shape);
    compare(`transpose [${shape}] by [${perm}]`, () => tf.transpose(x, perm), 0);
    tf.dispose(x);
  }
});

ftest('Add: same-shape and leading-axis broadcasts run threaded in the add-on, bit-identical to the stock kernel', () => {
  const cases: [number[], number[]][] = [
    [[512, 64, 64], [64, 64]], // the field's pixel embedding (2M elements: threaded)
    [[1 << 20], [1 << 20]], //    same shape, threaded
    [[64, 700], [700]], //        one thread
    [[700], [64, 700]], //        the repeated operand first
    [[64, 9, 9], [64, 1, 9]], //  a broadcast it does not take: stock
  ];
  for (const [sa, sb] of cases) {
    const a = rnd(sa), b = rnd(sb);
    compare(`add [${sa}] + [${sb}]`, () => tf.add(a, b), 0);
    tf.dispose([a, b]);
  }
});

ftest('rmsNorm: tf.variableGrads through a gain Variable equal the op formula', () => {
  const x = rnd([64, 48]), r = rnd([64, 48]);
  const w = tf.variable(tf.tidy(() => tf.add(rnd([48], 0.3), 1)), true, 'native-kernels-test-gain');
  compare(
    'rmsNorm variableGrads',
    () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(rmsNorm(x, w), r)) as tf.Scalar, [w]);
      return [value, grads[w.name]!];
    },
    1e-5,
  );
  tf.dispose([x, r, w]);
});

ftest('l2Normalize: every axis (incl. negative) of 2-D, 3-D and 4-D tensors, forward and gradient', () => {
  const cases: [number[], number[]][] = [
    [[256, 384], [0, 1, -1, -2]],
    [[2, 64, 4, 16], [2, -2, 0, 3, 1]],
    [[16, 32, 64], [1, -1, 0]], // the field weights fc1 [N, hx, hr] along 1
    [[256, 64, 32], [1]], //      fc2 of tiny-32/8's field [N, hr, hx]
    [[512, 64, 32], [1]], //      1M elements: threaded
  ];
  for (const [shape, axes] of cases) {
    const x = rnd(shape), r = rnd(shape);
    for (const axis of axes) compare(`l2Normalize [${shape}] axis ${axis}`, () => valueAndGrads((t) => l2Normalize(t, axis), [x], r), 1e-5);
    tf.dispose([x, r]);
  }
});

ftest('l2Normalize: zero and tiny vectors (the eps branch) equal the op formula', () => {
  // columns along axis 0: all zero, tiny (norm < eps), normal
  const x = tf.tensor2d(
    [
      [0, 1e-14, 1, 0],
      [0, -2e-14, 2, 3e-13],
      [0, 0, -3, 0],
    ],
    [3, 4],
  );
  const r = rnd([3, 4]);
  compare('l2Normalize eps branch', () => valueAndGrads((t) => l2Normalize(t, 0), [x], r), 1e-5);
  compare('l2Normalize eps 1e-3', () => valueAndGrads((t) => l2Normalize(t, 0, 1e-3), [x], r), 1e-5);
  tf.dispose([x, r]);
});

ftest('fused ops compose: silu(rmsNorm(x)) @ l2Normalize(w) gradients equal the op path', () => {
  const x = rnd([128, 64]), g = tf.tidy(() => tf.add(rnd([64], 0.1), 1)), w = rnd([64, 96]), b = rnd([128, 96]), r = rnd([128, 96]);
  const f = (x: tf.Tensor, g: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => swiGluGate(tf.matMul(silu(rmsNorm(x, g)) as tf.Tensor2D, l2Normalize(w, -2) as tf.Tensor2D), b);
  compare('composed', () => valueAndGrads(f, [x, g, w, b], r), 1e-5);
  tf.dispose([x, g, w, b, r]);
});

ftest('fused ops on empty tensors: empty outputs, zero gain gradients (no garbage), as the op formulas', () => {
  const x = tf.zeros([0, 8]), x3 = tf.zeros([3, 0, 4]), w = tf.ones([8]), w4 = tf.ones([4]);
  const cases: [string, () => tf.Tensor[], number[][]][] = [
    ['silu', () => valueAndGrads(silu, [x], x), [[0, 8], [0, 8]]],
    ['swiGlu', () => valueAndGrads(swiGluGate, [x, x], x), [[0, 8], [0, 8], [0, 8]]],
    ['rmsNorm no rows', () => valueAndGrads(rms, [x, w], x), [[0, 8], [0, 8], [8]]],
    ['rmsNorm empty rows', () => valueAndGrads(rms, [x3, w4], x3), [[3, 0, 4], [3, 0, 4], [4]]],
    ['l2Normalize empty axis', () => valueAndGrads((t) => l2Normalize(t, 1), [x3], x3), [[3, 0, 4], [3, 0, 4]]],
    ['l2Normalize empty outer', () => valueAndGrads((t) => l2Normalize(t, 2), [x3], x3), [[3, 0, 4], [3, 0, 4]]],
  ];
  for (const [label, f, shapes] of cases) {
    for (let k = 0; k < 3; k++) tf.dispose(tf.fill([64], 7.5)); // leave non-zero bytes in freed heap memory
    const outs = run(f);
    assert.equal(outs.map((o) => o.shape), shapes, `${label}: shapes`);
    for (const o of outs) assert.ok(Array.from(o.values as ArrayLike<number>).every((v) => v === 0), `${label}: ${Array.from(o.values as ArrayLike<number>)}`);
  }
  tf.dispose([x, x3, w, w4]);
});

ftest('fused kernels reject non-float32 inputs with a clear error', () => {
  const i = tf.tensor([1, 2], [2], 'int32');
  assert.throws(() => tf.engine().runKernel(FUSED_KERNELS.silu, { x: i }), /float32 expected/);
  i.dispose();
});

// ---- zero-copy Identity / Cast / Slice ---------------------------------------------------------------

otest('Identity: clone() shares the buffer, values bit-identical; the clone outlives the original', () => {
  const cases: [tf.DataType, number[], ArrayLike<number>][] = [
    ['float32', [1.5, -2, 3e-30, Number.NaN], Float32Array.from([1.5, -2, 3e-30, Number.NaN])],
    ['int32', [1, -2, 3, 2147483647], [1, -2, 3, 2147483647]],
    ['bool', [1, 0, 0, 1], [1, 0, 0, 1]],
  ];
  for (const [dtype, values, want] of cases) {
    const x = tf.tensor(values, [2, 2], dtype);
    const c = x.clone();
    assert.is(c.dataId, x.dataId, `${dtype}: clone shares the buffer`);
    assert.is(wasm().refCount(x.dataId), 2);
    const before = tf.memory().numDataBuffers;
    x.dispose();
    assert.is(tf.memory().numDataBuffers, before, 'the shared buffer stays while the clone lives');
    assert.is(wasm().refCount(c.dataId), 1);
    assert.equal(Array.from(c.dataSync() as ArrayLike<number>), Array.from(want));
    assert.equal(c.shape, [2, 2]);
    c.dispose();
  }
  // and after disposing the clone the original is intact
  const x = rnd([3, 5]);
  const want = Array.from(x.dataSync());
  x.clone().dispose();
  assert.equal(Array.from(x.dataSync()), want);
  x.dispose();
  const s = tf.tensor(['a', 'bc']);
  compare('Identity string', () => s.clone(), 0);
  s.dispose();
});

otest('Identity/Cast: results bit-identical to the stock kernels; Cast to another dtype stays stock', () => {
  const f = rnd([17, 33]);
  const i = tf.tensor([-3, 0, 7, 2147483647, -2147483648], [5], 'int32');
  const b = tf.tensor([1, 0, 1], [3], 'bool');
  const odd = tf.tensor([1.7, -1.7, 2.5, -0.4, 1e9], [5]);
  compare('Identity float32', () => tf.clone(f), 0);
  compare('Identity int32', () => tf.clone(i), 0);
  compare('Cast float32->float32', () => tf.cast(f, 'float32'), 0);
  compare('Cast int32->int32', () => tf.cast(i, 'int32'), 0);
  compare('Cast float32->int32', () => [tf.cast(odd, 'int32'), tf.cast(odd, 'bool')], 0);
  compare('Cast int32->float32', () => tf.cast(i, 'float32'), 0);
  compare('Cast bool->float32/int32', () => [tf.cast(b, 'float32'), tf.cast(b, 'int32')], 0);
  const c = tf.cast(f, 'float32');
  assert.is(c.dataId, f.dataId, 'same-dtype Cast shares the buffer');
  const d = tf.cast(i, 'float32');
  assert.is.not(d.dataId, i.dataId);
  tf.dispose([f, i, b, odd, c, d]);
});

otest('Slice: 1-D to 4-D with begin offsets, contiguous and strided, float32/int32/bool: bit-identical', () => {
  const cases: [number[], number[], number[]][] = [
    [[100], [7], [50]],
    [[100], [0], [-1]],
    [[256, 384], [0, 0], [256, 128]], //   a column block (strided)
    [[256, 384], [0, 128], [256, 256]],
    [[256, 384], [10, 0], [20, -1]], //    whole rows: contiguous
    [[256, 384], [255, 383], [1, 1]],
    [[8, 9, 10], [1, 2, 3], [5, 4, 6]],
    [[8, 9, 10], [3, 0, 0], [2, 9, 10]], // contiguous
    [[8, 9, 10], [0, 4, 0], [8, 1, 10]],
    [[8, 9, 10], [2, 3, 9], [1, 1, 1]],
    [[2, 64, 4, 16], [1, 5, 1, 3], [1, 50, 2, 13]],
    [[2, 64, 4, 16], [0, 0, 2, 0], [2, 64, 2, 16]],
    [[3, 4, 5, 6], [1, 1, 1, 1], [-1, -1, -1, -1]],
    [[3, 4, 5, 6], [0, 0, 0, 0], [3, 4, 5, 0]], // empty
  ];
  for (const [shape, begin, size] of cases) {
    const x = rnd(shape);
    const xi = tf.tidy(() => tf.cast(tf.mul(x, 1000), 'int32'));
    const xb = tf.tidy(() => tf.greater(x, 0));
    compare(`slice [${shape}] at [${begin}] size [${size}]`, () => [tf.slice(x, begin, size), tf.slice(xi, begin, size), tf.slice(xb, begin, size)], 0);
    tf.dispose([x, xi, xb]);
  }
  const s = tf.tensor(['a', 'b', 'c', 'd'], [2, 2]);
  compare('slice string', () => tf.slice(s, [1, 0], [1, 2]), 0);
  s.dispose();
});

otest('SplitV (tf.split): equal parts and sizes, every axis, float32/int32/bool: bit-identical; gradient a concat', () => {
  const cases: [number[], number | number[], number][] = [
    [[16, 1, 2304], 6, 2], // the adaLN split of a bench-S block
    [[16, 2304], [384, 1152, 768], 1],
    [[6, 4, 5], 3, 0],
    [[6, 4, 5], [1, -1, 1], 1],
    [[2, 3, 4, 10], 5, 3],
    [[9], [0, 9], 0], // an empty part
  ];
  for (const [shape, splits, axis] of cases) {
    const x = rnd(shape);
    const xi = tf.tidy(() => tf.cast(tf.mul(x, 1000), 'int32'));
    const xb = tf.tidy(() => tf.greater(x, 0));
    compare(`split [${shape}] ${JSON.stringify(splits)} axis ${axis}`, () => [...tf.split(x, splits, axis), ...tf.split(xi, splits, axis), ...tf.split(xb, splits, axis)], 0);
    tf.dispose([x, xi, xb]);
  }
  const x = rnd([4, 12]), w = rnd([4, 12]);
  compare('split gradient', () => tf.grad((a: tf.Tensor) => tf.addN(tf.split(a, 3, 1).map((p, i) => tf.sum(tf.mul(p, i + 1)))))(tf.mul(x, w)), 0);
  tf.dispose([x, w]);
});

otest('Slice: correct when the output allocation grows the wasm heap (views taken after it)', () => {
  const heap = () => (wasm() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
  const before = heap();
  // an input of ~60% of the heap: its slice (all but one row) cannot fit in what is left
  const rows = Math.min(16384, Math.max(64, Math.ceil((before * 0.6) / 4 / 1024)));
  const x = tf.tidy(() => tf.add(tf.range(0, rows, 1, 'float32').reshape([rows, 1]), tf.zeros([1, 1024])));
  const mid = heap();
  const y = tf.slice(x, [1, 0], [rows - 1, 1024]);
  const after = heap();
  const v = wasm().typedArrayFromHeap(y); // no copy
  assert.is(v.length, (rows - 1) * 1024);
  let bad = -1;
  for (let i = 0; i < v.length && bad < 0; i += 1021) if (v[i] !== Math.floor(i / 1024) + 1) bad = i;
  assert.is(bad, -1, `element ${bad}`);
  assert.is(v[0], 1);
  assert.is(v[v.length - 1], rows - 1);
  const h = Math.floor(rows / 2);
  assert.is(v[h * 1024 + 5], h + 1);
  const z = tf.slice(x, [1, 3], [rows - 2, 1000]); // strided
  const zv = wasm().typedArrayFromHeap(z);
  assert.is(zv[0], 1);
  assert.is(zv[zv.length - 1], rows - 2);
  console.log(`    heap ${(before / 2 ** 20).toFixed(0)} -> ${(mid / 2 ** 20).toFixed(0)} -> ${(after / 2 ** 20).toFixed(0)} MiB (${after > mid ? 'grew during the slice' : 'no growth during the slice'})`);
  tf.dispose([x, y, z]);
});

// ---- one-pass Sum -------------------------------------------------------------------------------------

const SUM_CASES: [number[], number | number[], boolean][] = [
  [[256, 384], 0, false], //          bias gradient: outer 1
  [[256, 384], 0, true],
  [[256, 384], 1, false], //          innermost: stock
  [[256, 384], -2, true],
  [[4, 8, 16], 1, false], //          middle axis
  [[4, 8, 16], [0, 1], false], //     multiple contiguous axes
  [[4, 8, 16], [1, 0], true],
  [[4, 8, 16], [0, 2], false], //     not contiguous: stock
  [[2, 3, 4, 5], [1, 2], false],
  [[2, 3, 4, 5], [1, 2], true],
  [[2, 3, 4, 5], [0, 1, 2], true],
  [[2, 3, 4, 5], 2, false],
  [[1, 7, 1, 5], [0, 1, 2], false], // size-1 axes
  [[4, 1, 3], 1, true], //             a size-1 reduced axis: a copy
  [[1000, 3], 0, false], //            long, narrow
  [[3, 1000, 2], 1, false],
  [[5, 0], 0, false], //               empty output
  [[2, 64, 4, 16], [0, 1, 2], false],
];

/** Sum of x over `axis` in float64 on the host: x's shape with the reduced axes dropped. */
function hostSum(x: tf.Tensor, axis: number | number[]): Float64Array {
  const axes = new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? x.rank + a : a)));
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.has(i));
  const outStrides = kept.map((_, j) => kept.slice(j + 1).reduce((p, i) => p * x.shape[i]!, 1));
  const out = new Float64Array(kept.reduce((p, i) => p * x.shape[i]!, 1));
  const xs = x.dataSync();
  const idx = new Array<number>(x.rank).fill(0);
  for (let f = 0; f < xs.length; f++) {
    let o = 0;
    kept.forEach((i, j) => (o += idx[i]! * outStrides[j]!));
    out[o]! += xs[f]!;
    for (let d = x.rank - 1; d >= 0 && ++idx[d]! === x.shape[d]; d--) idx[d] = 0;
  }
  return out;
}

/**
 * tf.sum with our kernel and with the stock one, each against the float64 sum: ours must be as
 * accurate as stock, or within 1e-6 of the largest output (a float32 sum's rounding depends on
 * the order, so ours and stock may differ by more than either differs from the exact sum).
 */
function compareSum(label: string, x: tf.Tensor, axis: number | number[], keepDims: boolean): void {
  const { ours, stock } = onOff(() => tf.sum(x, axis, keepDims));
  const exact = hostSum(x, axis);
  assert.equal(ours[0]!.shape, stock[0]!.shape, `${label}: shape`);
  const scale = Math.max(maxAbs(exact), 1e-30);
  const errOurs = maxAbsDiff(ours[0]!.values as ArrayLike<number>, exact) / scale;
  const errStock = maxAbsDiff(stock[0]!.values as ArrayLike<number>, exact) / scale;
  assert.ok(errOurs <= Math.max(errStock, 1e-6), `${label}: relative error ${errOurs} (stock ${errStock})`);
}

otest('Sum over non-innermost axes (axis 0, middle, several, keepDims, size-1, empty): as accurate as stock against a float64 sum', () => {
  for (const [shape, axis, keepDims] of SUM_CASES) {
    const x = rnd(shape);
    compareSum(`sum [${shape}] axis ${axis}${keepDims ? ' keepDims' : ''}`, x, axis, keepDims);
    tf.dispose(x);
  }
  const i = tf.tensor3d(Array.from({ length: 60 }, (_, k) => k - 30), [3, 4, 5], 'int32');
  compare('sum int32 axis 1', () => [tf.sum(i, 1), tf.sum(i, [0, 1], true)], 0);
  const b = tf.tensor2d([1, 0, 1, 1, 1, 0], [3, 2], 'bool');
  compare('sum bool axis 0', () => tf.sum(b, 0), 0);
  tf.dispose([i, b]);
});

otest('Sum over an empty axis is 0 for every pattern (the stock kernel returns uninitialised memory)', () => {
  const cases: [number[], number | number[], boolean, tf.DataType][] = [
    [[0, 8], 0, false, 'float32'],
    [[8, 0], 1, false, 'float32'], //       innermost
    [[8, 0], -1, true, 'float32'],
    [[0, 3, 4], [0, 2], false, 'float32'], // not contiguous
    [[3, 0, 4], 1, true, 'float32'],
    [[3, 0], 1, false, 'int32'],
    [[0, 2, 2], [0, 1], false, 'int32'],
  ];
  for (const [shape, axis, keepDims, dtype] of cases) {
    for (let k = 0; k < 3; k++) tf.dispose(tf.fill([64], 7.5)); // leave non-zero bytes in freed heap memory
    const x = tf.zeros(shape, dtype);
    const [out] = run(() => tf.sum(x, axis, keepDims));
    const want = tf.tidy(() => tf.sum(tf.zeros(shape.map((d) => d || 1), dtype), axis, keepDims)); // same shape, zeros
    assert.equal(out!.shape, want.shape, `sum [${shape}] axis ${axis}: shape`);
    assert.is(out!.dtype, dtype === 'int32' ? 'int32' : 'float32');
    assert.ok(Array.from(out!.values as ArrayLike<number>).every((v) => v === 0), `sum [${shape}] axis ${axis}: ${Array.from(out!.values as ArrayLike<number>)}`);
    tf.dispose([x, want]);
  }
});

/** Float64 sum over axis 1 of x [outer, R, inner]. */
function sumRef(x: Float32Array, outer: number, R: number, inner: number): Float64Array {
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) for (let r = 0; r < R; r++) for (let i = 0; i < inner; i++) out[o * inner + i] += x[(o * R + r) * inner + i]!;
  return out;
}

otest('Sum of 1M elements (threads: split rows, split outer blocks) equals a float64 sum to 1e-6', () => {
  for (const [shape, axis, outer, R, inner] of [
    [[131072, 8], 0, 1, 131072, 8], // outer 1: partial sums per thread
    [[4, 512, 512], 1, 4, 512, 512], // outer blocks across threads
    [[2, 1024, 512], 1, 2, 1024, 512],
  ] as [number[], number, number, number, number][]) {
    const x = rnd(shape);
    const ref = sumRef(x.dataSync() as Float32Array, outer, R, inner);
    const { ours, stock } = onOff(() => tf.sum(x, axis));
    const scale = maxAbs(ref);
    const eOurs = maxAbsDiff(ours[0]!.values as Float32Array, ref) / scale;
    const eStock = maxAbsDiff(stock[0]!.values as Float32Array, ref) / scale;
    assert.ok(eOurs < 1e-6, `sum [${shape}] axis ${axis}: relative error ${eOurs} to float64`);
    console.log(`    sum [${shape}] axis ${axis}: relative error to float64 ${eOurs.toExponential(1)} (stock ${eStock.toExponential(1)})`);
    tf.dispose(x);
  }
});

otest('Sum without the add-on (JS loop): as accurate as stock against a float64 sum', () => {
  disableWasmKernelOverrides();
  const saved = process.env.PIXNERD_NATIVE_BLAS;
  process.env.PIXNERD_NATIVE_BLAS = '0';
  try {
    const status = enableWasmKernelOverrides();
    assert.ok(status.active);
    assert.match(status.reason, /one-pass Sum \(JS\)/);
    assert.is(fusedKernel('silu'), null, 'no fused kernels without the add-on');
    for (const [shape, axis, keepDims] of SUM_CASES) {
      const x = rnd(shape);
      compareSum(`JS sum [${shape}] axis ${axis}`, x, axis, keepDims);
      tf.dispose(x);
    }
    // ops.ts falls back to the op formulas: same values as stock
    const x = rnd([16, 24]), w = rnd([24]);
    compare('ops without fused kernels', () => [silu(x), rmsNorm(x, w), l2Normalize(x, 1), swiGluGate(x, x)], 0);
    tf.dispose([x, w]);
  } finally {
    disableWasmKernelOverrides();
    if (saved === undefined) delete process.env.PIXNERD_NATIVE_BLAS;
    else process.env.PIXNERD_NATIVE_BLAS = saved;
    enableWasmKernelOverrides();
  }
  assert.is(fusedKernel('silu'), SKIP_FUSED ? null : FUSED_KERNELS.silu);
});

otest('enable is idempotent; disable restores the stock kernels; PIXNERD_WASM_KERNELS=0 disables', () => {
  const k = tf.getKernel('Identity', 'wasm')!;
  assert.ok(enableWasmKernelOverrides().active);
  assert.is(tf.getKernel('Identity', 'wasm'), k, 'a second enable re-registered the kernels');
  disableWasmKernelOverrides();
  disableWasmKernelOverrides(); // no-op
  try {
    assert.is.not(tf.getKernel('Identity', 'wasm'), k);
    const x = tf.tensor([1, 2, 3]);
    const c = x.clone();
    assert.is.not(c.dataId, x.dataId, 'stock Identity copies');
    tf.dispose([x, c]);
    process.env.PIXNERD_WASM_KERNELS = '0';
    const st = enableWasmKernelOverrides();
    assert.not.ok(st.active);
    assert.is(st.reason, 'PIXNERD_WASM_KERNELS=0');
    assert.not.ok(wasmKernelOverridesActive());
  } finally {
    delete process.env.PIXNERD_WASM_KERNELS;
    enableWasmKernelOverrides();
  }
  assert.ok(wasmKernelOverridesActive());
});

otest('no leaks: tensors, data buffers and heap buffers flat over a loop of every overridden kernel', () => {
  const x = rnd([32, 48]), w = tf.tidy(() => tf.add(rnd([48], 0.1), 1)), r = rnd([32, 48]);
  const xi = tf.tensor([1, 2, 3, 4], [2, 2], 'int32');
  const body = () => {
    const c = x.clone();
    const outs = [
      c,
      tf.cast(x, 'float32'),
      tf.cast(xi, 'int32'),
      tf.slice(x, [1, 2], [10, 20]),
      tf.slice(x, [3, 0], [5, 48]),
      tf.sum(x, 0),
      ...(() => {
        const x3 = x.reshape([4, 8, 48]);
        return [x3, tf.sum(x3, 1, true)];
      })(),
      ...valueAndGrads(silu, [x], r),
      ...valueAndGrads(swiGluGate, [x, r], r),
      ...valueAndGrads(rms, [x, w], r),
      ...valueAndGrads((t) => l2Normalize(t, 0), [x], r),
    ];
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(rmsNorm(x, wv), r)) as tf.Scalar, [wv]);
    tf.dispose([...outs, value, ...Object.values(grads)]);
  };
  const wv = tf.variable(w.clone(), true, 'native-kernels-leak-gain');
  body(); // warm-up
  const t0 = tf.memory().numTensors, b0 = tf.memory().numDataBuffers, h0 = wasm().numDataIds();
  for (let i = 0; i < 20; i++) body();
  assert.is(tf.memory().numTensors, t0, 'tensors');
  assert.is(tf.memory().numDataBuffers, b0, 'data buffers');
  assert.is(wasm().numDataIds(), h0, 'heap buffers');
  tf.dispose([x, w, r, xi, wv]);
});

// ---- the fused NerfBlock --------------------------------------------------------------------------

/** The neural field (2 blocks) and its gradients w.r.t. every field-block parameter and s. */
function fieldAndGrads(model: ModelConfig, params: Record<string, tf.Tensor>, s: tf.Tensor2D, pixels: tf.Tensor3D, nh: number, nw: number): tf.Tensor[] {
  const head = model.head as NerfHeadConfig;
  const names = Object.keys(params).filter((k) => Number(/^blocks\.(\d+)\./.exec(k)?.[1] ?? -1) >= model.depth);
  const weights = tf.tidy(() => tf.sin(tf.range(0, pixels.shape[0] * pixels.shape[1] * pixels.shape[2]).reshape(pixels.shape)));
  const f = (...xs: tf.Tensor[]) => {
    const p = { ...params };
    names.forEach((k, i) => (p[k] = xs[i]!));
    return tf.sum(tf.mul(nerfField(p, head, model.depth, xs[names.length] as tf.Tensor2D, pixels, nh, nw).v, weights)) as tf.Scalar;
  };
  const xs = [...names.map((k) => params[k]!), s];
  const out = [nerfField(params, head, model.depth, s, pixels, nh, nw).v, ...tf.grads(f)(xs)];
  weights.dispose();
  return out;
}

const FIELD_CASES: [string, ModelConfig, number][] = [
  ['tiny-32/8 field (hx 32, r 2, fc1+fc2)', PRESETS['tiny-32/8'], 6],
  ...(['fc1', 'none'] as const).map((wn): [string, ModelConfig, number] => [`hx 32, weight norm ${wn}`, createConfig({ head: { weightNorm: wn } }, PRESETS['tiny-32/8']), 5]),
  // sizes off every vector width: hx 12, hr 36, 9 pixels per patch, 37 patches
  ['odd sizes (hx 12, r 3, P 9)', createConfig({ imageSize: 12, inChannels: 1, patchSize: 4, hiddenSize: 32, numHeads: 2, depth: 1, numClasses: 3, head: { width: 12, mlpRatio: 3, blocks: 2, weightNorm: 'fc1+fc2' } }), 37],
];

for (const [label, model, N] of FIELD_CASES) {
  ftest(`fused NerfBlock (${label}): field and gradients match the op path, on every instruction set the CPU has`, async () => {
    const addon = loadNativeBlas() as unknown as { setSimd(n: string): string };
    const params = tf.tidy(() => Object.fromEntries(Object.entries(initParams(model, 3)).map(([k, v]) => [k, tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 5), 0.05))])));
    const p = model.patchSize;
    const s = rnd([N, model.hiddenSize]) as tf.Tensor2D;
    const pixels = rnd([N, p * p, model.inChannels]) as tf.Tensor3D;
    assert.ok(fusedKernel('nerfBlock'));
    const kernels = new Set(await kernelsRun(() => fieldAndGrads(model, params, s, pixels, p, p)));
    assert.ok(kernels.has(FUSED_KERNELS.nerfBlock) && kernels.has(FUSED_KERNELS.nerfBlockGrad), 'the fused kernels ran');
    const levels = ['avx512', 'avx2', 'sse'].map((l) => addon.setSimd(l));
    try {
      for (const level of new Set(levels)) {
        addon.setSimd(level);
        const worst = compare(`${label}, ${level}`, () => fieldAndGrads(model, params, s, pixels, p, p), 2e-5);
        const again = run(() => fieldAndGrads(model, params, s, pixels, p, p));
        const first = run(() => fieldAndGrads(model, params, s, pixels, p, p));
        first.forEach((o, i) => assert.ok(sameValues(o.values, again[i]!.values) === null, `${level}: output ${i} not deterministic`));
        console.log(`    ${label}, ${level}: worst relative error ${worst.toExponential(2)}`);
      }
    } finally {
      addon.setSimd('avx512');
    }
    tf.dispose([...Object.values(params), s, pixels]);
  });
}

// ---- the whole model ------------------------------------------------------------------------------

/** Loss and gradients of one training step (batch of `B`, fixed step seed), read back. */
function trainingStep(model: ModelConfig, B: number, params: Record<string, tf.Variable>): { loss: number; grads: Record<string, Float32Array> } {
  const cfg = createTrainConfig({ steps: 1, batchSize: B, labelDropout: 0.25, seed: 11 }, model);
  const { imageSize: S, inChannels: C, numClasses: K } = model;
  const batch: Batch = tf.tidy(() => ({
    x: tf.tanh(tf.randomNormal([B, S, S, C], 0, 1, 'float32', 3)) as tf.Tensor4D,
    y: tf.tensor1d(Array.from({ length: B }, (_, i) => i % K), 'int32'),
  }));
  const { loss, grads } = lossAndGrads({ params }, model, cfg, batch, 3);
  const out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, (g.dataSync() as Float32Array).slice()]));
  tf.dispose([...Object.values(grads), batch.x, batch.y]);
  return { loss: loss.total, grads: out };
}

const MODELS: [string, ModelConfig, number][] = [
  // tiny-32/8 at 16 px: patch 4 (16 tokens), width 64, 2 blocks, field width 16
  ['micro 16px', createConfig({ imageSize: 16, inChannels: 1, patchSize: 4, hiddenSize: 64, numHeads: 4, depth: 2, numClasses: 4, head: { width: 16, mlpRatio: 2, blocks: 2, weightNorm: 'fc1+fc2' } }), 4],
  ['tiny-32/8', PRESETS['tiny-32/8'], 2],
];

for (const [label, model, B] of MODELS) {
  ftest(`a PixNerd training step (${label}, nerf head, fc1+fc2 weight norm): loss and gradients equal with the overrides off`, async () => {
    assert.is(model.head.kind, 'nerf');
    assert.is((model.head as NerfHeadConfig).weightNorm, 'fc1+fc2');
    const state = initTrainState(model, createTrainConfig({ steps: 1, batchSize: B }, model));
    // zero-initialised output layers would hide most gradients: move every parameter a little
    tf.tidy(() => {
      let s = 7;
      for (const p of Object.values(state.params)) p.assign(tf.add(p, tf.randomNormal(p.shape, 0, 0.05, 'float32', s++)));
    });
    const kernels = new Set(await kernelsRun(() => {
      const cfg = createTrainConfig({ steps: 1, batchSize: B }, model);
      const x = tf.zeros([B, model.imageSize, model.imageSize, model.inChannels]) as tf.Tensor4D, y = tf.zeros([B], 'int32') as tf.Tensor1D;
      const { grads } = lossAndGrads({ params: state.params }, model, cfg, { x, y }, 0);
      tf.dispose([x, y]);
      return Object.values(grads);
    }));
    // the fused NerfBlock normalises the generated weights itself, and every RMSNorm of the model
    // sits inside a larger fused kernel (attention, adaLN, NerfBlock, field output): the L2 and
    // RMSNorm kernels are not run there
    const expected = Object.entries(FUSED_KERNELS).filter(([k]) => !k.startsWith('l2Normalize') && !k.startsWith('rmsNorm')).map(([, name]) => name);
    for (const name of expected) assert.ok(kernels.has(name), `${name} not used by the training step`);
    const t0 = Date.now();
    const on = trainingStep(model, B, state.params);
    const t1 = Date.now();
    disableWasmKernelOverrides();
    let off: ReturnType<typeof trainingStep>;
    try {
      off = trainingStep(model, B, state.params);
    } finally {
      enableWasmKernelOverrides();
    }
    const t2 = Date.now();
    assert.ok(Math.abs(on.loss - off.loss) <= 1e-4 * Math.abs(off.loss), `loss ${on.loss} vs ${off.loss}`);
    assert.equal(Object.keys(on.grads).sort(), Object.keys(off.grads).sort());
    let worst = 0;
    let nonzero = 0;
    for (const [k, g] of Object.entries(off.grads)) {
      const scale = maxAbs(g);
      if (scale > 0) nonzero++;
      const rel = maxAbsDiff(on.grads[k]!, g) / Math.max(scale, 1e-8);
      assert.ok(rel < 1e-4, `gradient ${k}: relative error ${rel}`);
      worst = Math.max(worst, rel);
    }
    assert.ok(nonzero >= Object.keys(off.grads).length - 2, `only ${nonzero} of ${Object.keys(off.grads).length} gradients non-zero`);
    console.log(`    ${label} training step: loss ${on.loss.toFixed(6)}, worst gradient rel. error ${worst.toExponential(2)} over ${nonzero} tensors; ${t1 - t0} ms on, ${t2 - t1} ms off`);
    disposeTrainState(state);
  });
}

test.run();
