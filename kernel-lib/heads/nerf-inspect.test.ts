import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { createConfig } from '../config/model-config';
import { PRESETS } from '../config/presets';
import { disposeParams, initParams } from '../model/params';
import { coordFeatureWeights } from './nerf-inspect';

test('coordFeatureWeights: rows of the embedder weight, DCT norms as an M x M map, damped by the basis amplitude', () => {
  const cfg = PRESETS['tiny-32/8']; // C = 1, DCT M = 8: E = 64
  const params = initParams(cfg, 0);
  const before = tf.memory().numTensors;
  const fw = coordFeatureWeights(params, cfg);
  assert.is(tf.memory().numTensors, before, 'no tensor left behind');
  const hx = cfg.head.kind === 'nerf' ? cfg.head.width : 0;
  assert.equal([fw.channels, fw.features, fw.matrix.rows, fw.matrix.cols], [1, 64, 65, hx]);
  assert.equal([fw.featureNorms.rows, fw.featureNorms.cols], [8, 8]);
  const w = params['x_embedder.embedder.0.weight']!.arraySync() as number[][];
  const norm = (r: number) => Math.hypot(...w[r]!);
  assert.ok(Math.abs(fw.pixelNorms[0]! - norm(0)) < 1e-5);
  // feature a*M + b sits at row a, column b
  assert.ok(Math.abs(fw.featureNorms.data[3 * 8 + 5]! - norm(1 + 3 * 8 + 5)) < 1e-5);
  // feature (0, 0) is the constant 1; (7, 7) is damped by 1 / (1 + 8 * 8)
  assert.ok(Math.abs(fw.effectiveNorms.data[0]! - fw.featureNorms.data[0]!) < 1e-6);
  const r = fw.effectiveNorms.data[63]! / fw.featureNorms.data[63]!;
  assert.ok(r <= 1 / 65 + 1e-6 && r > 0.5 / 65, `damping ${r}`);
  disposeParams(params);
});

test('coordFeatureWeights refuses the linear head and a field without coordinates', () => {
  const linear = createConfig({ head: { kind: 'linear' } }, PRESETS['tiny-32/8']);
  assert.throws(() => coordFeatureWeights({}, linear), /needs the neural-field head; this model has the linear head/);
  const none = createConfig({ head: { coordEncoding: 'none' } }, PRESETS['tiny-32/8']);
  assert.throws(() => coordFeatureWeights({}, none), /coordEncoding is 'none'/);
});

test.run();
