import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emoji } from '../../data-loaders/emoji';
import { getBatch } from '../../data-loaders/dataset';
import { CheckpointError } from '../util/errors';
import { loadNsfwjsNet, readNsfwjsArtifacts, readShard } from './nsfwjs-nets';

test('nsfwjs MobileNetV2 loads offline from the package files; pooled features [B, 1280] are finite on emoji; teacher grid [B, 7, 7, 1280]', async () => {
  const net = await loadNsfwjsNet('MobileNetV2');
  assert.is(net.dim, 1280);
  assert.is(net.inputSize, 224);
  assert.equal(net.teacherGrid, [7, 7, 1280]);
  const { x, raw, y } = await getBatch(emoji({}), [0, 300, 1500, 3000]);
  const before = tf.memory().numTensors;
  const f = net.features(x);
  assert.equal(f.shape, [4, 1280]);
  const d = f.dataSync() as Float32Array;
  assert.ok(d.every(Number.isFinite), 'finite');
  assert.ok(d.some((v) => v > 0), 'not all zero');
  // Different emoji give different features.
  let diff = 0;
  for (let j = 0; j < 1280; j++) diff += Math.abs(d[j]! - d[1280 + j]!);
  assert.ok(diff > 1, `features of two emoji differ by ${diff}`);
  const g = net.teacher.features(raw);
  assert.equal(g.shape, [4, 7, 7, 1280]);
  tf.dispose([f, g]);
  assert.is(tf.memory().numTensors, before, 'no tensors leak');
  // Grey input is tiled to RGB.
  assert.equal(tf.tidy(() => net.features(tf.zeros([1, 32, 32, 1]) as tf.Tensor4D).shape), [1, 1280]);
  tf.dispose([x, raw, y]);
  net.dispose();
});

test('the truncated trunk keeps only layers up to the pool layer, with matching weights', () => {
  const a = readNsfwjsArtifacts('MobileNetV2', { outputLayer: 'out_relu', inputSize: 128 });
  const names = a.weightSpecs!.map((w) => w.name);
  assert.ok(!names.some((n) => n.startsWith('dense_')), 'NSFW head weights dropped');
  assert.ok(names.includes('Conv_1/kernel'));
  const topo = a.modelTopology as { model_config: { config: { layers: Array<{ name: string; config: { batch_input_shape?: unknown } }>; output_layers: unknown } } };
  const layers = topo.model_config.config.layers;
  assert.is(layers[layers.length - 1]!.name, 'out_relu');
  assert.equal(layers[0]!.config.batch_input_shape, [null, 128, 128, 3]);
  assert.equal(topo.model_config.config.output_layers, [['out_relu', 0, 0]]);
});

test('a damaged shard or a missing package fails with a CheckpointError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsfwjs-'));
  try {
    const bad = join(dir, 'group1-shard1of1.min.js');
    writeFileSync(bad, 'module.exports = 42;');
    assert.throws(() => readShard(bad), (e: Error) => e instanceof CheckpointError && e.message.includes(bad) && /base64 weight string/.test(e.message));
    assert.throws(() => readNsfwjsArtifacts('MobileNetV2', { packageDir: dir }), (e: Error) => e instanceof CheckpointError && /model\.min\.js not found/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
