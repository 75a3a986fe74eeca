import { maxAbsDiff, tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createConfig } from '../config/model-config';
import { PRESETS } from '../config/presets';
import { adamwStep, initAdamW } from './adamw';
import { copyParams, updateEma } from './ema';
import { randomTeacher } from './repa';
import { hasCheckpoint, loadCheckpoint, readMetrics } from '../runs/run-dir';
import { createTrainConfig, type TrainConfigOverrides } from './train-config';
import { lossAndGrads, type Batch } from './train-step';
import { disposeTrainState, initTrainState, train, TrainingError } from './train';

/** A micro model: 16 px grey, patch 4 (16 tokens), width 32, 2 trunk blocks, 1 field block. */
export const MICRO = createConfig({ imageSize: 16, inChannels: 1, patchSize: 4, hiddenSize: 32, numHeads: 2, depth: 2, numClasses: 4, head: { width: 8, mlpRatio: 2, blocks: 1 } });
const tmp = () => tempDir('pixnerd-train-');

/** 8 fixed "images": smooth class-dependent patterns in [-1, 1], raw in [0, 1]. */
function fixedBatch(n = 8, poison = false): Batch {
  return tf.tidy(() => {
    const xs = tf.linspace(-1, 1, 16);
    const grid = tf.add(xs.reshape([1, 16, 1, 1]), tf.mul(xs.reshape([1, 1, 16, 1]), 0.5));
    const labels = Array.from({ length: n }, (_, i) => i % 4);
    const phase = tf.tensor1d(labels.map((l) => l + 1)).reshape([n, 1, 1, 1]);
    let x = tf.sin(tf.mul(grid, phase)) as tf.Tensor4D;
    if (poison) x = tf.div(x, 0) as tf.Tensor4D; // Inf / NaN pixels
    return { x, raw: tf.div(tf.add(x, 1), 2) as tf.Tensor4D, y: tf.tensor1d(labels, 'int32') };
  });
}
const cloneBatch = (b: Batch): Batch => ({ x: b.x.clone(), raw: b.raw!.clone(), y: b.y.clone() });
const trainCfg = (o: TrainConfigOverrides = {}) => createTrainConfig({ steps: 10, batchSize: 8, labelDropout: 0, optimizer: { lr: 3e-3 }, logEvery: 1, checkpointEvery: 2, ...o }, MICRO);

test('a tiny model overfits a fixed batch (fixed noise): loss falls by at least 10x', () => {
  const cfg = trainCfg();
  const state = initTrainState(MICRO, cfg);
  const batch = fixedBatch();
  const losses: number[] = [];
  for (let i = 0; i < 400; i++) {
    const { loss, grads } = lossAndGrads({ params: state.params }, MICRO, cfg, batch, 0); // step 0 every time: same noise and t
    losses.push(loss.total);
    adamwStep(state.params, grads, state.opt, cfg.optimizer);
    tf.dispose(Object.values(grads));
    if (losses[0]! / loss.total >= 10) break;
  }
  assert.ok(losses[0]! / losses[losses.length - 1]! >= 10, `loss ${losses[0]} -> ${losses[losses.length - 1]} after ${losses.length} steps`);
  console.log(`    overfit: loss ${losses[0]!.toFixed(3)} -> ${losses[losses.length - 1]!.toFixed(4)} in ${losses.length} steps`);
  disposeTrainState(state);
});

test('EMA arithmetic; decay 0 copies', () => {
  const p = { w: tf.variable(tf.tensor1d([1, 2])) };
  const ema = copyParams({ w: tf.tensor1d([0, 0]) });
  updateEma(ema, p, 0.9);
  assert.ok(maxAbsDiff(ema.w!.dataSync(), [0.1, 0.2]) < 1e-7);
  updateEma(ema, p, 0);
  assert.equal(Array.from(ema.w!.dataSync()), [1, 2]);
});

test('AdamW step equals the hand-computed torch.optim.AdamW step', () => {
  const p = { w: tf.variable(tf.tensor1d([1.0, -2.0])) };
  const st = initAdamW(p);
  const hp = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const g1 = [0.5, -1.0], g2 = [0.2, 0.3];
  adamwStep(p, { w: tf.tensor1d(g1) }, st, hp);
  adamwStep(p, { w: tf.tensor1d(g2) }, st, hp);
  // by hand, element-wise
  const want = [1.0, -2.0].map((w0, i) => {
    let w = w0, m = 0, v = 0;
    for (const [k, g] of [[1, g1[i]!], [2, g2[i]!]] as const) {
      w *= 1 - hp.lr * hp.weightDecay;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      w -= (hp.lr * (m / (1 - 0.9 ** k))) / (Math.sqrt(v / (1 - 0.999 ** k)) + hp.eps);
    }
    return w;
  });
  assert.ok(maxAbsDiff(p.w.dataSync(), want) < 1e-6, `${Array.from(p.w.dataSync())} vs ${want}`);
});

test('gradient accumulation over 2 x 4 equals one batch of 8', () => {
  const one = trainCfg();
  const two = trainCfg({ microBatches: 2 });
  const state = initTrainState(MICRO, one);
  state.params['final_layer.linear.weight']!.assign(tf.randomNormal([8, 1], 0, 0.5, 'float32', 3));
  const batch = fixedBatch();
  const a = lossAndGrads({ params: state.params }, MICRO, one, batch, 5);
  const b = lossAndGrads({ params: state.params }, MICRO, two, batch, 5);
  assert.ok(Math.abs(a.loss.total - b.loss.total) < 1e-5, `${a.loss.total} vs ${b.loss.total}`);
  for (const k of Object.keys(a.grads)) {
    const ga = a.grads[k]!.dataSync(), gb = b.grads[k]!.dataSync();
    const scale = Math.max(1e-6, ...Array.from(ga, Math.abs));
    assert.ok(maxAbsDiff(ga, gb) / scale < 1e-4, k);
  }
  tf.dispose([...Object.values(a.grads), ...Object.values(b.grads)]);
  disposeTrainState(state);
});

test('REPA: the alignment loss falls with a fixed random teacher; REPA off has no projector', async () => {
  const teacher = randomTeacher({ channels: 1, cell: 4, dim: 16, seed: 3 });
  const cfg = trainCfg({ steps: 60, repa: { enabled: true, alignLayer: 1, weight: 0.5 } });
  const repa: number[] = [];
  const state = await train({ model: MICRO, train: cfg, teacher, nextBatch: () => fixedBatch(), onStep: (r) => repa.push(r.loss.repa!) });
  assert.ok(state.proj !== undefined && Object.keys(state.opt.m).some((k) => k.startsWith('proj.')));
  const first = repa.slice(0, 5).reduce((a, b) => a + b) / 5, last = repa.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < 0.7 * first, `repa ${first} -> ${last}`);
  disposeTrainState(state);
  const off = initTrainState(MICRO, trainCfg());
  assert.is(off.proj, undefined);
  assert.not.ok(Object.keys(off.opt.m).some((k) => k.startsWith('proj.')));
  disposeTrainState(off);
  teacher.dispose();
});

test('a resumed seeded run produces the same loss sequence as an uninterrupted one', async () => {
  const cfg = trainCfg({ steps: 7 });
  // a batch that depends only on the step (as a seeded data loader does)
  const nextBatch = (step: number): Batch => tf.tidy(() => {
    const b = fixedBatch();
    return { x: tf.mul(b.x, 0.5 + 0.05 * step) as tf.Tensor4D, raw: b.raw!, y: b.y };
  });
  const dirA = tmp(), dirB = tmp();
  disposeTrainState(await train({ model: MICRO, train: cfg, nextBatch, runDir: dirA }));
  disposeTrainState(await train({ model: MICRO, train: cfg, nextBatch, runDir: dirB, maxStepsThisCall: 3 }));
  assert.is(readMetrics(dirB).length, 3);
  disposeTrainState(await train({ model: MICRO, train: cfg, nextBatch, runDir: dirB, resume: true }));
  const a = readMetrics(dirA).map((r) => r.total), b = readMetrics(dirB).map((r) => r.total);
  assert.is(a.length, 7);
  assert.equal(b, a);
});

test('a NaN loss stops training naming the step and the part; the last checkpoint stays loadable', async () => {
  const dir = tmp();
  const cfg = trainCfg({ steps: 10, checkpointEvery: 2 });
  try {
    disposeTrainState(await train({ model: MICRO, train: cfg, runDir: dir, nextBatch: (s) => fixedBatch(8, s === 4) }));
    assert.unreachable('NaN accepted');
  } catch (e) {
    assert.instance(e, TrainingError);
    assert.match((e as Error).message, /step 5: fm loss is (NaN|Infinity)/, (e as Error).message);
  }
  const state = initTrainState(MICRO, cfg);
  loadCheckpoint(dir, MICRO, state);
  assert.is(state.step, 4);
  assert.ok(Object.values(state.params).every((p) => Number.isFinite(p.sum().dataSync()[0]!)));
  disposeTrainState(state);
});

test('no tensor leaks: tf.memory().numTensors is identical after step 10 and step 200', async () => {
  const counts: Record<number, number> = {};
  const cfg = trainCfg({ steps: 200, microBatches: 2, repa: { enabled: true, alignLayer: 2, weight: 0.5 } });
  const teacher = randomTeacher({ channels: 1, cell: 4, dim: 8, seed: 1 });
  const state = await train({ model: MICRO, train: cfg, teacher, runDir: tmp(), nextBatch: () => fixedBatch(), onStep: (r) => (counts[r.step] = tf.memory().numTensors) });
  assert.is(counts[200], counts[10]);
  disposeTrainState(state);
  teacher.dispose();
});

test('a kill during a checkpoint write leaves the previous checkpoint loadable', async () => {
  const dir = tmp();
  const child = spawn(process.execPath, ['--import', 'tsx', 'kernel-lib/training/checkpoint-writer.fixture.ts', dir], { stdio: 'ignore', env: { ...process.env, PIXNERD_BACKEND: 'wasm' } });
  const deadline = Date.now() + 60_000;
  while (!hasCheckpoint(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  let tempSeen = false;
  for (let i = 0; i < 40 && !tempSeen; i++) {
    await new Promise((r) => setTimeout(r, 25));
    tempSeen = readdirSync(dir).some((f) => f.endsWith('.tmp'));
  }
  child.kill('SIGKILL'); // likely mid-write (a temp file was being written)
  await new Promise((r) => child.on('exit', r));
  assert.ok(existsSync(join(dir, 'checkpoint.safetensors')));
  const model = PRESETS['tiny-32/8'];
  const state = initTrainState(model, createTrainConfig({}, model));
  loadCheckpoint(dir, model, state); // parses and matches the model: never a torn file
  assert.ok(state.step >= 1);
  console.log(`    killed after checkpoint ${state.step}${tempSeen ? ', with a temp file being written' : ''}`);
  disposeTrainState(state);
});

test.run();
