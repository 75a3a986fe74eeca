import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resampleF32, resampleU8 } from './resample';

test('Pillow rounding: a BOX halving of [0, 255] is 128 (half up), of [0, 254] is 127', () => {
  assert.equal(Array.from(resampleU8(Uint8Array.from([0, 255]), 1, 2, 1, 1, 1, 'box')), [128]);
  assert.equal(Array.from(resampleU8(Uint8Array.from([0, 254]), 1, 2, 1, 1, 1, 'box')), [127]);
  // 2x2 blocks of a 2x4 RGB image average per channel
  const img = Uint8Array.from({ length: 2 * 4 * 3 }, (_, i) => i * 10);
  const out = resampleU8(img, 2, 4, 3, 1, 2, 'box');
  assert.equal(Array.from(out), [(0 + 30 + 120 + 150) / 4, 85, 95, (60 + 90 + 180 + 210) / 4, 145, 155]);
});

test('same size is a copy; constant images stay constant under every filter, up and down', () => {
  const img = Uint8Array.from({ length: 3 * 5 * 2 }, (_, i) => (i * 37) % 256);
  const same = resampleU8(img, 3, 5, 2, 3, 5, 'bicubic');
  assert.equal(Array.from(same), Array.from(img));
  assert.is.not(same, img);
  for (const f of ['box', 'bilinear', 'bicubic'] as const) {
    for (const [oh, ow] of [[2, 3], [9, 11]]) {
      assert.ok(resampleU8(new Uint8Array(3 * 5).fill(200), 3, 5, 1, oh!, ow!, f).every((v) => v === 200), f);
      assert.ok(resampleF32(new Float32Array(3 * 5).fill(0.25), 3, 5, 1, oh!, ow!, f).every((v) => Math.abs(v - 0.25) < 1e-6), f);
    }
  }
});

test('bicubic overshoot is clipped to [0, 255] (u8) and [lo, hi] (f32)', () => {
  const step = Uint8Array.from([0, 0, 255, 255]);
  const up = resampleU8(step, 1, 4, 1, 1, 16, 'bicubic');
  assert.ok(up.some((v) => v === 0) && up.some((v) => v === 255));
  const upF = resampleF32(Float32Array.from([0, 0, 1, 1]), 1, 4, 1, 1, 16, 'bicubic');
  assert.ok(upF.every((v) => v >= 0 && v <= 1));
});

test('throws on a buffer that does not match its shape, and on a zero size', () => {
  assert.throws(() => resampleU8(new Uint8Array(5), 2, 3, 1, 1, 1, 'box'), /buffer of 5 values is not \[2, 3, 1\] = 6/);
  assert.throws(() => resampleF32(new Float32Array(6), 2, 3, 1, 0, 1, 'box'), /outH = 0 must be a positive integer/);
});

test.run();
