import { maxAbsDiff } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { createConfig } from '../config/model-config';
import { PRESETS, resolveModelConfig } from '../config/presets';
import { disposeParams, initParams } from '../model/params';
import { IMAGENET_CLASS_NAMES } from '../sampling/class-names';
import type { LoadedRun } from './load-run';
import { checkDecodeSize } from './sample-classes';
import { classLabel, loadWeights, releasedImageSize, sampleWeights } from './pretrained';

const TINY_CKPT = '../shared/fixtures/checkpoints/tiny.ckpt';
const meta = JSON.parse(readFileSync('test/fixtures/reference/tiny.json', 'utf8'));
const BASE = { steps: 2, sampler: 'euler' as const, cfg: 2, interval: [0.1, 1] as [number, number], seed: 0 };

test('releasedImageSize reads the released names, and nothing else', () => {
  assert.is(releasedImageSize('/dl/res512_ft200k_epoch=325-step=1800000_emainit.ckpt'), 512);
  assert.is(releasedImageSize('/dl/PixNerd-XL-16-512/'), 512);
  assert.is(releasedImageSize('PixNerd-XL-16-256'), 256);
  assert.is(releasedImageSize('/dl/epoch=319-step=1600000_emainit.ckpt'), undefined);
  assert.is(releasedImageSize('model.ckpt'), undefined);
  assert.is(releasedImageSize('tiny.ckpt'), undefined);
});

test('loadWeights: tiny.ckpt, EMA weights, config read off the shapes; native size given, default or from a config', async () => {
  const w = await loadWeights(TINY_CKPT, { imageSize: 32 });
  assert.is(w.format, 'torch-zip');
  assert.is(w.prefix, 'ema_denoiser.');
  assert.equal(w.model, resolveModelConfig({ ...meta.model_config, image_size: 32 }));
  assert.is(w.imageSizeFrom, 'as given');
  assert.is(w.classNames, undefined, '10 classes: no ImageNet names');
  assert.match(w.summary, /ignored: denoiser\.\*/);
  disposeParams(w.params);
  const d = await loadWeights(TINY_CKPT);
  assert.is(d.model.imageSize, 256);
  assert.match(d.imageSizeFrom, /^the default; the weights do not store it/);
  const online = await loadWeights(TINY_CKPT, { prefix: 'denoiser.', config: { ...meta.model_config, image_size: 64 } });
  assert.is(online.model.imageSize, 64);
  assert.is(online.imageSizeFrom, 'from the given config');
  const name = 'blocks.0.attn.qkv.weight';
  assert.ok(maxAbsDiff(online.params[name]!.dataSync(), d.params[name]!.dataSync()) > 0, 'denoiser.* are other weights');
  disposeParams(d.params);
  disposeParams(online.params);
  try {
    await loadWeights(TINY_CKPT, { config: { ...meta.model_config, hidden_size: 128 } });
    assert.unreachable('a wrong config was accepted');
  } catch (e) {
    assert.match((e as Error).message, /config disagrees with .*tiny\.ckpt: hiddenSize is 128 in the config but 64 in the weights/);
  }
  try {
    await loadWeights(TINY_CKPT, { imageSize: 0 });
    assert.unreachable('imageSize 0 accepted');
  } catch (e) {
    assert.match((e as Error).message, /imageSize must be a positive integer/);
  }
});

test('sampleWeights: a class grid at the native size, every step timed, nothing leaked', async () => {
  const w = await loadWeights(TINY_CKPT, { imageSize: 32 });
  const before = tf.memory().numTensors;
  const steps: number[] = [];
  const g = sampleWeights(w, { ...BASE, classes: [0, '9'], perClass: 2, onStep: (i) => steps.push(i) });
  assert.equal(g.images.shape, [4, 32, 32, 3]);
  assert.equal(g.classes, [0, 9]);
  assert.equal(g.labels, ['0', '9']);
  assert.equal(steps, [1, 2]);
  assert.is(g.stepSeconds.length, 2);
  assert.ok(g.stepSeconds.every((s) => s > 0));
  assert.is(g.batch, 8, 'CFG doubles the batch');
  assert.is(g.evaluations, 2);
  assert.is(g.trunkSize, 32);
  g.images.dispose();
  assert.is(tf.memory().numTensors, before);
  assert.throws(() => sampleWeights(w, { ...BASE, classes: [12], perClass: 1 }), /class 12 is out of range: this model has 10 classes, ids 0\.\.9/);
  assert.throws(() => sampleWeights(w, { ...BASE, classes: ['tench'], perClass: 1 }), /class "tench" is not an id, and this model's classes have no names/);
  assert.is(tf.memory().numTensors, before);
  disposeParams(w.params);
});

test('seed 0 is a seed: two grids from seed 0 are identical (tfjs alone would draw them from Math.random)', async () => {
  const w = await loadWeights(TINY_CKPT, { imageSize: 32 });
  const grid = () => sampleWeights(w, { ...BASE, seed: 0, classes: [1], perClass: 2 }).images;
  const [a, b] = [grid(), grid()];
  assert.equal(Array.from(a.dataSync()), Array.from(b.dataSync()));
  const c = sampleWeights(w, { ...BASE, seed: 1, classes: [1], perClass: 2 }).images;
  assert.not.equal(Array.from(a.dataSync()), Array.from(c.dataSync()));
  tf.dispose([a, b, c]);
  disposeParams(w.params);
});

test('sampleWeights: another size decodes through the neural field; the same trunk, the same classes', async () => {
  const w = await loadWeights(TINY_CKPT, { imageSize: 32 });
  const g = sampleWeights(w, { ...BASE, classes: [3], perClass: 1, size: 64 });
  assert.equal(g.images.shape, [1, 64, 64, 3]);
  assert.is(g.size, 64);
  assert.is(g.trunkSize, 32);
  const small = sampleWeights(w, { ...BASE, classes: [3], perClass: 1, size: 16 });
  assert.equal(small.images.shape, [1, 16, 16, 3], 'a sparser grid: 8 px per token');
  tf.dispose([g.images, small.images]);
  assert.throws(() => sampleWeights(w, { ...BASE, classes: [3], perClass: 1, size: 33 }), /size 33 px: the neural field decodes the 2 x 2 token grid of the native 32 px model, so the size must be a multiple of 2/);
  disposeParams(w.params);
  const linear = createConfig({ head: { kind: 'linear' } }, PRESETS['tiny-32/8']);
  assert.throws(() => checkDecodeSize(linear, 64), /size 64 px differs from the model's native 32 px, and decoding at another resolution needs the neural-field head \(this model has the linear head\)/);
  checkDecodeSize(linear, 32);
});

test('a 1,000-class model takes ImageNet names and labels rows with id and name', () => {
  const cfg = createConfig({ imageSize: 16, patchSize: 8, hiddenSize: 32, numHeads: 2, depth: 1, numClasses: 1000, inChannels: 3, head: { width: 8, blocks: 1 } }, PRESETS['tiny-32/8']);
  const run: LoadedRun = { model: cfg, prediction: 'v', params: initParams(cfg, 0) };
  const g = sampleWeights(run, { ...BASE, classes: ['golden retriever', '0', 'Toilet Tissue'], perClass: 1 });
  assert.equal(g.classes, [207, 0, 999]);
  assert.equal(g.labels, ['207 golden retriever', '0 tench', '999 toilet tissue']);
  assert.throws(() => sampleWeights(run, { ...BASE, classes: ['crane'], perClass: 1 }), /ambiguous: it names 134 "crane", 517 "crane"/);
  g.images.dispose();
  disposeParams(run.params);
  assert.is(classLabel(3, ['0', '1', '2', '3']), '3');
  assert.is(classLabel(2, ['T-shirt/top', 'Trouser', 'Pullover']), '2 Pullover');
  assert.is(classLabel(5), '5');
  assert.is(classLabel(207, IMAGENET_CLASS_NAMES), '207 golden retriever');
});

test.run();
