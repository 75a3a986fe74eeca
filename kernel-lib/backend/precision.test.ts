import { backend, maxAbs, maxAbsDiff } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { PRESETS } from '../config/presets';
import { disposeParams, initParams } from '../model/params';
import { modelVelocity } from '../sampling/sample';
import { bf16Pays, loadNativeBlas, nativeBf16Support, nativeMatmulBf16 } from './native-matmul';
import { describePrecision, effectivePrecision, parsePrecision, resolvePrecision, withMatmulPrecision } from './precision';

// bf16 needs the add-on, the wasm backend, AVX512_BF16 and oneDNN: where any is missing the bf16
// comparisons are not registered (the reason printed) and the fallback is checked instead.
const support = nativeBf16Support();
const BF16 = support.available && backend.backend === 'wasm';
console.log(BF16 ? `(bf16: ${support.available ? support.how : ''})` : `(bf16 comparisons skipped: ${support.available ? `backend ${backend.backend}` : support.missing})`);
// Not test.skip: the runner's summary counts skipped tests wrongly.
const btest = (name: string, fn: () => void | Promise<void>) => {
  if (BF16) test(name, fn);
};

let seed = 300;
const rnd = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);

/** max |x - ref| / max |ref| */
const relErr = (x: ArrayLike<number>, ref: ArrayLike<number>) => maxAbsDiff(x, ref) / Math.max(maxAbs(ref), 1e-30);

/** op(a) @ op(b) in float64 from the float32 values, batched with broadcasting of a size-1 batch: [batch, M, N]. */
function reference(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): Float64Array {
  const [ba, ra, ca] = a.shape.length === 3 ? (a.shape as [number, number, number]) : [1, a.shape[0]!, a.shape[1]!];
  const [bb, rb, cb] = b.shape.length === 3 ? (b.shape as [number, number, number]) : [1, b.shape[0]!, b.shape[1]!];
  const M = tA ? ca : ra, K = tA ? ra : ca, N = tB ? rb : cb;
  const batch = Math.max(ba, bb);
  const av = a.dataSync(), bv = b.dataSync();
  const out = new Float64Array(batch * M * N);
  for (let q = 0; q < batch; q++) {
    const ao = (ba === 1 ? 0 : q) * ra * ca, bo = (bb === 1 ? 0 : q) * rb * cb;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += av[ao + (tA ? k * ca + i : i * ca + k)]! * bv[bo + (tB ? j * cb + k : k * cb + j)]!;
        out[(q * M + i) * N + j] = s;
      }
  }
  return out;
}

/** f() once, its values read and everything it made disposed; fails if a tensor or heap buffer leaked. */
function values(f: () => tf.Tensor): Float32Array {
  const wasm = tf.engine().backend as unknown as { numDataIds?(): number };
  const before = tf.memory().numTensors;
  const ids = wasm.numDataIds?.();
  const t = tf.tidy(f);
  const v = (t.dataSync() as Float32Array).slice();
  t.dispose();
  assert.is(tf.memory().numTensors, before, 'tensors leaked');
  if (ids !== undefined) assert.is(wasm.numDataIds!(), ids, 'heap buffers leaked');
  return v;
}

// [a shape, b shape, transposeA, transposeB]: 2-D, every transpose, batched, broadcast batches, odd sizes
const CASES: [number[], number[], boolean, boolean][] = [
  [[37, 129], [129, 53], false, false],
  [[129, 37], [129, 53], true, false],
  [[37, 129], [53, 129], false, true],
  [[129, 37], [53, 129], true, true],
  [[3, 24, 40], [3, 40, 33], false, false],
  [[3, 40, 24], [3, 33, 40], true, true],
  [[4, 17, 64], [64, 48], false, false],
  [[70, 90], [5, 90, 20], false, false],
  [[300, 384], [384, 520], false, false],
];

btest('bf16 matMuls agree with fp32 within bf16 rounding on random shapes, transposes and batches, and differ from fp32 by more than fp32 rounding', () => {
  for (const [sa, sb, tA, tB] of CASES) {
    const label = `[${sa}]${tA ? 'T' : ''} x [${sb}]${tB ? 'T' : ''}`;
    const a = rnd(sa), b = rnd(sb);
    const ref = reference(a, b, tA, tB);
    const fp32 = values(() => tf.matMul(a, b, tA, tB));
    const bf16 = values(() => withMatmulPrecision('bf16', () => tf.matMul(a, b, tA, tB)));
    const e32 = relErr(fp32, ref), e16 = relErr(bf16, ref);
    assert.ok(e16 < 1e-2, `${label}: bf16 relative error ${e16} >= 1e-2`);
    assert.ok(e16 > 1e-4 && e16 > 10 * e32, `${label}: bf16 error ${e16} is not above fp32 rounding (fp32 ${e32}): not routed through bf16?`);
    tf.dispose([a, b]);
  }
});

btest('bf16 _FusedMatMul with a bias and an activation: within bf16 rounding of fp32', () => {
  const a = rnd([64, 96]), b = rnd([96, 80]), bias = rnd([80]);
  const f = () => tf.fused.matMul({ a, b, bias, activation: 'relu' });
  const fp32 = values(f);
  const bf16 = values(() => withMatmulPrecision('bf16', f));
  const e = relErr(bf16, fp32);
  assert.ok(e < 1e-2 && e > 1e-5, `relative difference ${e}`);
  tf.dispose([a, b, bias]);
});

btest('products with N or K under 16 stay fp32 under the bf16 switch (memory-bound: bf16 does not pay)', () => {
  assert.not.ok(bf16Pays({ N: 3, K: 64 }));
  assert.not.ok(bf16Pays({ N: 64, K: 3 }));
  assert.ok(bf16Pays({ N: 16, K: 16 }));
  for (const [sa, sb] of [[[500, 64], [64, 3]], [[500, 3], [3, 64]]]) {
    const a = rnd(sa!), b = rnd(sb!);
    const fp32 = values(() => tf.matMul(a, b));
    const bf16 = values(() => withMatmulPrecision('bf16', () => tf.matMul(a, b)));
    assert.is(maxAbsDiff(fp32, bf16), 0, `[${sa}] x [${sb}]`);
    tf.dispose([a, b]);
  }
});

btest('the fused neural-field block in bf16: within bf16 rounding of the fp32 block, and not equal to it', () => {
  const addon = loadNativeBlas();
  assert.ok(typeof addon !== 'string' && typeof (addon as { nerfBlockBf16?: unknown }).nerfBlockBf16 === 'function', 'the add-on has nerfBlockBf16');
  const nerf = addon as unknown as {
    nerfBlock(...a: unknown[]): void;
    nerfBlockBf16(...a: unknown[]): boolean;
  };
  for (const [N, P, hx, hr] of [[5, 33, 32, 64], [3, 16, 48, 80], [2, 7, 24, 40]] as const) {
    const r = (n: number, s: number) => Float32Array.from(tf.randomNormal([n], 0, 1, 'float32', s).dataSync());
    const z = r(N * P * hx, 1), g = r(hx, 2), gen = r(N * 2 * hx * hr, 3);
    const o32 = new Float32Array(N * P * hx), o16 = new Float32Array(N * P * hx);
    nerf.nerfBlock(z, g, gen, o32, N, P, hx, hr, 1, 1, 1e-6, 1e-12);
    const ran = nerf.nerfBlockBf16(z, g, gen, o16, N, P, hx, hr, 1, 1, 1e-6, 1e-12);
    const delta32 = o32.map((v, i) => v - z[i]!);
    const e = maxAbsDiff(o16, o32) / maxAbs(delta32);
    if (hx % 16 === 0 && hr % 16 === 0) {
      assert.ok(ran, `${N}x${P} hx ${hx} hr ${hr}: ran bf16`);
      assert.ok(e < 1e-2 && e > 1e-5, `${N}x${P} hx ${hx} hr ${hr}: relative difference ${e}`);
    } else {
      assert.not.ok(ran, `hx ${hx}, hr ${hr} (not multiples of 16) run the fp32 block`);
      assert.is(maxAbsDiff(o16, o32), 0);
    }
  }
});

btest('a model forward (tiny-32/8, neural-field head) in bf16 stays within 3e-2 of fp32, and the switch is off after it', () => {
  const cfg = PRESETS['tiny-32/8'];
  const params = initParams(cfg, 0);
  // the zero-initialised final layer would hide the field's output
  const w = params['final_layer.linear.weight']!;
  tf.tidy(() => w.assign(tf.randomNormal(w.shape, 0, 0.2, 'float32', 7)));
  const x = rnd([4, 32, 32, 1]) as tf.Tensor4D;
  const t = tf.fill([4], 0.5) as tf.Tensor1D;
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  const fp32 = values(() => modelVelocity(params, cfg, 'v', undefined, 'fp32')(x, t, y));
  const bf16 = values(() => modelVelocity(params, cfg, 'v', undefined, 'bf16')(x, t, y));
  assert.not.ok(nativeMatmulBf16(), 'the bf16 switch is restored after the forward');
  const e = relErr(bf16, fp32);
  assert.ok(e < 3e-2 && e > 1e-5, `relative difference ${e}`);
  tf.dispose([x, t, y]);
  disposeParams(params);
});

btest('withMatmulPrecision restores the previous setting, also when fn throws; fp32 inside bf16 is fp32', () => {
  const a = rnd([40, 50]), b = rnd([50, 30]);
  const fp32 = values(() => tf.matMul(a, b));
  withMatmulPrecision('bf16', () => {
    assert.ok(nativeMatmulBf16());
    const inner = values(() => withMatmulPrecision('fp32', () => tf.matMul(a, b)));
    assert.is(maxAbsDiff(inner, fp32), 0, 'fp32 nested in bf16');
    assert.ok(nativeMatmulBf16(), 'bf16 again after the nested fp32');
  });
  assert.throws(() => withMatmulPrecision('bf16', () => {
    throw new Error('boom');
  }), /boom/);
  assert.not.ok(nativeMatmulBf16());
  assert.is(effectivePrecision('bf16'), 'bf16');
  assert.match(describePrecision('bf16'), /bf16 products, fp32 sums \(oneDNN/);
  tf.dispose([a, b]);
});

test('precision names: fp32 and bf16, anything else an error naming its source; PIXNERD_PRECISION is the default', () => {
  assert.is(parsePrecision('bf16'), 'bf16');
  assert.throws(() => parsePrecision('fp16', '--precision'), /--precision must be one of fp32, bf16, got "fp16"/);
  const saved = process.env.PIXNERD_PRECISION;
  try {
    delete process.env.PIXNERD_PRECISION;
    assert.is(resolvePrecision(), 'fp32');
    process.env.PIXNERD_PRECISION = 'bf16';
    assert.is(resolvePrecision(), 'bf16');
    assert.is(resolvePrecision('fp32'), 'fp32', 'the option wins over the environment');
    process.env.PIXNERD_PRECISION = 'half';
    assert.throws(() => resolvePrecision(), /PIXNERD_PRECISION must be one of fp32, bf16, got "half"/);
  } finally {
    if (saved === undefined) delete process.env.PIXNERD_PRECISION;
    else process.env.PIXNERD_PRECISION = saved;
  }
});

test('without bf16 support the switch prints one line saying what is missing and runs fp32 (bit-identical)', () => {
  if (BF16) {
    // simulate a machine without oneDNN, and one whose CPU lacks AVX512_BF16
    for (const [env, missing] of [
      [{ NATIVEBLAS_DNNL_LIB: 'none' }, /missing the oneDNN library \(loading disabled by NATIVEBLAS_DNNL_LIB=none\)/],
      [{ NATIVEBLAS_DNNL_LIB: '/nonexistent/libdnnl.so.2' }, /missing the oneDNN library \(\/nonexistent\/libdnnl\.so\.2: .*install libdnnl2\)/],
      [{ NATIVEBLAS_SIMD: 'avx2' }, /missing the CPU feature AVX512_BF16 \(hidden by NATIVEBLAS_SIMD=avx2\)/],
    ] as const) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'kernel-lib/backend/precision.fixture.ts'], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.is(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.equal(out, { precision: 'fp32', same: true, leaked: 0 }, JSON.stringify(env));
      const lines = r.stderr.trim().split('\n').filter((l) => l.includes('bf16'));
      assert.is(lines.length, 1, `one line, once per process: ${r.stderr}`);
      assert.match(lines[0]!, /^bf16 matMuls unavailable: /);
      assert.match(lines[0]!, missing);
      assert.match(lines[0]!, /; running fp32$/);
    }
    return;
  }
  // here bf16 cannot run (no add-on, PIXNERD_NATIVE_BLAS=0, no CPU feature or library): in-process
  const said: string[] = [];
  assert.is(effectivePrecision('bf16', (l) => said.push(l)), 'fp32');
  assert.is(effectivePrecision('bf16', (l) => said.push(l)), 'fp32');
  assert.is(said.length, 1, 'once per process');
  assert.match(said[0]!, /^bf16 matMuls unavailable: missing .+; running fp32$/);
  if (process.env.PIXNERD_NATIVE_BLAS === '0') assert.match(said[0]!, /missing the nativeblas add-on \(PIXNERD_NATIVE_BLAS=0\)/);
  const a = rnd([30, 40]), b = rnd([40, 20]);
  const fp32 = values(() => tf.matMul(a, b));
  const asked = values(() => withMatmulPrecision('bf16', () => tf.matMul(a, b)));
  assert.is(maxAbsDiff(fp32, asked), 0);
  tf.dispose([a, b]);
});

test.run();
