import { backend, maxAbs, maxAbsDiff } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { createConfig, type ModelConfig, type NerfHeadConfig } from '../config/model-config';
import { nerfField } from '../heads/nerf-head';
import { PRESETS, resolveModelConfig } from '../config/presets';
import { readSafetensors } from '../checkpoint/safetensors';
import { fromReferenceTensors } from '../checkpoint/reference-checkpoint';
import { ShapeError } from '../util/errors';
import { disposeParams, initParams } from './params';
import { pixnerdForward } from './pixnerd';
import type { Params } from './ops';

const FIX = 'test/fixtures/reference';

function inputs(cfg: ModelConfig, B: number, size = cfg.imageSize, seed = 1) {
  return {
    x: tf.randomNormal([B, size, size, cfg.inChannels], 0, 1, 'float32', seed) as tf.Tensor4D,
    t: tf.randomUniform([B], 0, 1, 'float32', seed + 1) as tf.Tensor1D,
    y: tf.tensor1d(Array.from({ length: B }, (_, i) => i % (cfg.numClasses + 1)), 'int32'),
  };
}

/** Randomises the zero-initialised output layer so the network's output depends on everything. */
function perturbFinal(params: Record<string, tf.Variable>, seed = 7) {
  for (const name of ['final_layer.linear.weight', 'final_layer.linear.bias']) {
    const v = params[name]!;
    v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', seed));
  }
}

test(`matches the reference implementation's forward pass to 1e-4 (${backend.backend})`, () => {
  const meta = JSON.parse(readFileSync(`${FIX}/tiny.json`, 'utf8'));
  const cfg = resolveModelConfig({ ...meta.model_config, image_size: meta.image_size[0] });
  const params = fromReferenceTensors(cfg, readSafetensors(`${FIX}/tiny.weights.safetensors`).tensors);
  const io = readSafetensors(`${FIX}/tiny.io.safetensors`).tensors;
  const nchw = (k: string) => tf.tensor(io.get(k)!.data, io.get(k)!.shape).transpose([0, 2, 3, 1]) as tf.Tensor4D;
  const out = pixnerdForward(params, cfg, nchw('x'), tf.tensor1d(io.get('t')!.data as Float32Array), tf.tensor1d(io.get('y')!.data as Int32Array, 'int32'));
  const ref = nchw('out').dataSync();
  const err = maxAbsDiff(out.v.dataSync(), ref) / maxAbs(ref);
  assert.ok(err < 1e-4, `relative error ${err}`);
  disposeParams(params);
});

const SHAPE_CASES: [string, ModelConfig][] = [];
for (const name of ['tiny-32/8', 'tiny-32/16', 'small-64/16'] as const) {
  SHAPE_CASES.push([name, PRESETS[name]]);
  SHAPE_CASES.push([`${name} linear`, createConfig({ head: { kind: 'linear' } }, PRESETS[name])]);
}
// Reference presets at a small image size with a shallow trunk (full width: shapes are real).
for (const name of ['PixNerd-L/16', 'PixNerd-XL/16'] as const) SHAPE_CASES.push([`${name} (32 px, depth 1)`, createConfig({ imageSize: 32, depth: 1 }, PRESETS[name])]);
for (const enc of ['sincos', 'none'] as const) SHAPE_CASES.push([`tiny-32/8 ${enc}`, createConfig({ head: { coordEncoding: enc } }, PRESETS['tiny-32/8'])]);

for (const [name, cfg] of SHAPE_CASES) {
  test(`shapes: ${name}`, () => {
    const params = initParams(cfg, 0);
    const { x, t, y } = inputs(cfg, 2);
    const before = tf.memory().numTensors;
    const out = pixnerdForward(params, cfg, x, t, y, { hiddenLayers: [0], returnFieldWeights: true });
    assert.equal(out.v.shape, x.shape);
    assert.equal(out.hidden[0]!.shape, [2, (cfg.imageSize / cfg.patchSize) ** 2, cfg.hiddenSize]);
    const nTok = 2 * (cfg.imageSize / cfg.patchSize) ** 2;
    if (cfg.head.kind === 'nerf') {
      assert.is(out.fieldWeights.length, cfg.head.blocks);
      const hx = cfg.head.width, hr = hx * cfg.head.mlpRatio;
      assert.equal(out.fieldWeights[0]!.fc1.shape, [nTok, hx, hr]);
      assert.equal(out.fieldWeights[0]!.fc2.shape, [nTok, hr, hx]);
    } else assert.is(out.fieldWeights.length, 0);
    const made = 2 + 2 * out.fieldWeights.length;
    assert.is(tf.memory().numTensors, before + made, 'forward leaks no intermediate tensor');
    tf.dispose([out.v, ...out.hidden, ...out.fieldWeights.flatMap((w) => [w.fc1, w.fc2]), x, t, y]);
    disposeParams(params);
  });
}

test('zero-initialised output layer gives zero velocity; both heads', () => {
  for (const cfg of [PRESETS['tiny-32/8'], createConfig({ head: { kind: 'linear' } }, PRESETS['tiny-32/8'])]) {
    const params = initParams(cfg, 3);
    const { x, t, y } = inputs(cfg, 2);
    assert.is(maxAbs(pixnerdForward(params, cfg, x, t, y).v.dataSync()), 0);
    disposeParams(params);
  }
});

test('field weights have unit-norm columns along the input axis (fc1 and fc2)', () => {
  const cfg = PRESETS['tiny-32/8'];
  const params = initParams(cfg, 0);
  const { x, t, y } = inputs(cfg, 1);
  const { fieldWeights } = pixnerdForward(params, cfg, x, t, y, { returnFieldWeights: true });
  for (const w of fieldWeights) {
    for (const m of [w.fc1, w.fc2]) {
      const norms = tf.norm(m, 'euclidean', 1).dataSync();
      assert.ok(maxAbsDiff(norms, new Float32Array(norms.length).fill(1)) < 1e-5);
    }
  }
  // weightNorm 'fc1' leaves fc2 raw
  const cfg1 = createConfig({ head: { weightNorm: 'fc1' } }, cfg);
  const out1 = pixnerdForward(params, cfg1, x, t, y, { returnFieldWeights: true });
  const n2 = tf.norm(out1.fieldWeights[0]!.fc2, 'euclidean', 1).dataSync();
  assert.ok(maxAbsDiff(n2, new Float32Array(n2.length).fill(1)) > 0.1);
});

function gradientsReachEverything(cfg: ModelConfig) {
  const params = initParams(cfg, 5);
  perturbFinal(params);
  const { x, t, y } = inputs(cfg, 2);
  const names = Object.keys(params);
  const { grads } = tf.variableGrads(() => tf.mean(tf.square(pixnerdForward(params, cfg, x, t, y).v)) as tf.Scalar, names.map((n) => params[n]!));
  const dead = names.filter((n, i) => {
    const g = grads[params[n]!.name];
    return !g || maxAbs(g.dataSync()) === 0 || !Number.isFinite(maxAbs(g.dataSync()));
  });
  assert.equal(dead, [], `parameters without gradient: ${dead.join(', ')}`);
  tf.dispose(Object.values(grads));
  disposeParams(params);
}

test('gradients reach every trainable tensor (nerf head)', () => gradientsReachEverything(PRESETS['tiny-32/8']));
test('gradients reach every trainable tensor (linear head)', () => gradientsReachEverything(createConfig({ head: { kind: 'linear' } }, PRESETS['tiny-32/8'])));

test('wasm and cpu agree on a forward pass to 1e-4', async () => {
  const cfg = PRESETS['tiny-32/8'];
  const run = async (b: string) => {
    await tf.setBackend(b);
    const params = initParams(cfg, 11);
    perturbFinal(params);
    const { x, t, y } = inputs(cfg, 2);
    const v = pixnerdForward(params, cfg, x, t, y).v.dataSync().slice();
    disposeParams(params);
    return v;
  };
  const a = await run('wasm');
  const b = await run('cpu');
  await tf.setBackend(backend.backend);
  assert.ok(maxAbs(a) > 0.1);
  assert.ok(maxAbsDiff(a, b) / maxAbs(a) < 1e-4, `diff ${maxAbsDiff(a, b)}`);
});

test('initialisation is reproducible from the seed', () => {
  const cfg = PRESETS['tiny-32/8'];
  const a = initParams(cfg, 42), b = initParams(cfg, 42), c = initParams(cfg, 43);
  const w = 'blocks.1.attn.qkv.weight';
  assert.equal(a[w]!.dataSync(), b[w]!.dataSync());
  assert.ok(maxAbsDiff(a[w]!.dataSync(), c[w]!.dataSync()) > 0);
  [a, b, c].forEach((p) => disposeParams(p));
});

test('arbitrary-resolution decoding: trunk on the training grid, field on a denser grid', () => {
  const cfg = PRESETS['tiny-32/8'];
  const params = initParams(cfg, 2);
  perturbFinal(params);
  const { x, t, y } = inputs(cfg, 1, 64);
  const out = pixnerdForward(params, cfg, x, t, y, { trunkSize: 32, hiddenLayers: [0] });
  assert.equal(out.v.shape, [1, 64, 64, 1]);
  assert.equal(out.hidden[0]!.shape, [1, 16, cfg.hiddenSize]); // 4x4 tokens, as at 32 px
  const lin = createConfig({ head: { kind: 'linear' } }, cfg);
  assert.throws(() => pixnerdForward(initParams(lin, 0) as Params, lin, x, t, y, { trunkSize: 32 }), /neural-field head/);
  disposeParams(params);
});

test('pixelInput false: the field ignores the pixel values it is handed, the paper field does not', () => {
  for (const pixelInput of [true, false]) {
    const cfg = createConfig({ head: { pixelInput } }, PRESETS['tiny-32/8']);
    const params = initParams(cfg, 4);
    perturbFinal(params as Record<string, tf.Variable>);
    const s = tf.randomNormal([3, cfg.hiddenSize], 0, 1, 'float32', 1) as tf.Tensor2D; // [N, D]
    const field = (seed: number) => nerfField(params, cfg.head as NerfHeadConfig, cfg.depth, s, tf.randomNormal([3, 64, 1], 0, 1, 'float32', seed) as tf.Tensor3D, 8, 8).v;
    const [a, b] = [field(2), field(3)];
    const diff = maxAbsDiff(a.dataSync(), b.dataSync());
    if (pixelInput) assert.ok(diff > 1e-3, `paper field: pixel values must matter (diff ${diff})`);
    else assert.is(diff, 0);
    tf.dispose([s, a, b]);
    disposeParams(params);
  }
});

test('pixelBlur 3: the field sees box averages (a flat image is unchanged, borders included); a noisy image is not', () => {
  const paper = PRESETS['tiny-32/8'];
  const blur = createConfig({ head: { pixelBlur: 3 } }, paper);
  const params = initParams(blur, 6);
  perturbFinal(params as Record<string, tf.Variable>);
  const { t, y } = inputs(paper, 2);
  const flat = tf.fill([2, 32, 32, 1], 0.3) as tf.Tensor4D;
  const noisy = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
  const v = (cfg: ModelConfig, x: tf.Tensor4D) => pixnerdForward(params, cfg, x, t, y).v.dataSync();
  assert.ok(maxAbsDiff(v(blur, flat), v(paper, flat)) < 1e-5, 'flat image: blur changes nothing');
  assert.ok(maxAbsDiff(v(blur, noisy), v(paper, noisy)) > 1e-3, 'noisy image: the field input differs');
  tf.dispose([flat, noisy, t, y]);
  disposeParams(params);
});

test('bad inputs fail with the shapes in the message', () => {
  const cfg = PRESETS['tiny-32/8'];
  const params = initParams(cfg, 0);
  const { x, t, y } = inputs(cfg, 2);
  assert.throws(() => pixnerdForward(params, cfg, tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, t, y), (e: Error) => e instanceof ShapeError && /\[2, 32, 32, 3\]/.test(e.message));
  assert.throws(() => pixnerdForward(params, cfg, tf.zeros([2, 36, 36, 1]) as tf.Tensor4D, t, y), /not a multiple of the patch/);
  assert.throws(() => pixnerdForward(params, cfg, x, tf.zeros([3]) as tf.Tensor1D, y), /t: expected shape \[2\]/);
  assert.throws(() => pixnerdForward(params, cfg, x, t, tf.zeros([2]) as tf.Tensor1D), /int32/);
  assert.throws(() => pixnerdForward(params, cfg, x, t, y, { hiddenLayers: [9] }), /not a trunk block/);
  disposeParams(params);
});

test.run();
