import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { foldPatchPixels, patchify, patchPixels, timestepFeatures, unpatchify } from './embedders';
import { ShapeError } from '../util/errors';

const B = 2, H = 8, W = 12, C = 3, p = 4;
const img = () => tf.range(0, B * H * W * C).reshape([B, H, W, C]) as tf.Tensor4D;

test('patchify matches the reference channel-major index formula element by element', () => {
  const x = img();
  const tok = patchify(x, p);
  assert.equal(tok.shape, [B, (H / p) * (W / p), C * p * p]);
  const xv = x.arraySync() as number[][][][];
  const tv = tok.arraySync() as number[][][];
  const Wp = W / p;
  for (let b = 0; b < B; b++)
    for (let py = 0; py < H / p; py++)
      for (let px = 0; px < Wp; px++)
        for (let c = 0; c < C; c++)
          for (let i = 0; i < p; i++)
            for (let j = 0; j < p; j++) {
              const got = tv[b]![py * Wp + px]![c * p * p + i * p + j];
              assert.is(got, xv[b]![py * p + i]![px * p + j]![c]);
            }
  tf.dispose([x, tok]);
});

test('unpatchify(patchify(x)) is the identity; so is folding patch pixels', () => {
  const x = img();
  const back = unpatchify(patchify(x, p), p, H, W, C);
  assert.equal(back.arraySync(), x.arraySync());
  const px = patchPixels(x, p, p);
  assert.equal(px.shape, [B * 6, p * p, C]);
  // pixel index i*p + j, channels last
  assert.equal(px.arraySync()[1]![1 * p + 2], (x.arraySync() as number[][][][])[0]![1]![4 + 2]);
  assert.equal(foldPatchPixels(px, B, H, W, p, p).arraySync(), x.arraySync());
});

test('patchify throws on an image that is not a multiple of the patch', () => {
  assert.throws(() => patchify(tf.zeros([1, 10, 8, 3]) as tf.Tensor4D, 4), (e: Error) => e instanceof ShapeError && /10x8/.test(e.message));
});

test('timestep features: max period 10, cos first', () => {
  const f = timestepFeatures(tf.tensor1d([0.3])).arraySync()[0]!;
  assert.is(f.length, 256);
  for (const k of [0, 1, 64, 127]) {
    const fk = Math.exp((-Math.log(10) * k) / 128);
    assert.ok(Math.abs(f[k]! - Math.cos(0.3 * fk)) < 1e-6);
    assert.ok(Math.abs(f[128 + k]! - Math.sin(0.3 * fk)) < 1e-6);
  }
});

test.run();
