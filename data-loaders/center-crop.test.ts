import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { admCenterCrop, planAdmCrop, roundHalfEven } from './center-crop';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'data', 'adm-crop');

async function rgb(file: string): Promise<{ data: Uint8Array; h: number; w: number }> {
  const { data, info } = await sharp(join(FIXTURES, file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), h: info.height, w: info.width };
}

test('roundHalfEven is Python round: ties go to the even neighbour', () => {
  assert.equal([0.5, 1.5, 2.5, 16.5, 16.49, 16.51, 3].map(roundHalfEven), [0, 2, 2, 16, 16, 17, 3]);
});

test('crop geometry: halvings while the short side >= 2x target, bicubic to the target, centre offset', () => {
  // ImageNet-like 500x375 (HxW) to 256: no halving (375 < 512), short side 375 -> 256, long 500 -> 341
  assert.equal(planAdmCrop(500, 375, 256), { halvings: [], resized: [341, 256], offset: [42, 0] });
  // to 64: 500x375 -> 250x187 -> 125x93 (93 < 128 stops), then 93 -> 64 and 125 -> round(86.02) = 86
  assert.equal(planAdmCrop(500, 375, 64), { halvings: [[250, 187], [125, 93]], resized: [86, 64], offset: [11, 0] });
  // exactly 2x halves once and needs no bicubic change
  assert.equal(planAdmCrop(64, 80, 32), { halvings: [[32, 40]], resized: [32, 40], offset: [0, 4] });
  // 22 * 0.75 = 16.5 rounds to 16 (Python), not 17 (Math.round)
  assert.equal(planAdmCrop(16, 22, 12), { halvings: [], resized: [12, 16], offset: [0, 2] });
  assert.throws(() => planAdmCrop(10, 10, 0), /target size 0 must be a positive integer/);
});

test('admCenterCrop equals Pillow center_crop_arr byte for byte (BOX halvings, bicubic, upscaling, ties)', async () => {
  for (const [name, size] of [['37x70', 16], ['16x22', 12], ['5x9', 8], ['130x101', 24]] as const) {
    const src = await rgb(`src-${name}.png`);
    const expected = await rgb(`expected-${name}-${size}.png`);
    const got = admCenterCrop(src.data, src.h, src.w, 3, size);
    assert.is(got.length, size * size * 3);
    assert.equal(Array.from(got), Array.from(expected.data), name);
  }
});

test.run();
