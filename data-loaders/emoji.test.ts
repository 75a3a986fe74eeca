import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMOJI_CLASSES, emoji, emojiIndex } from './emoji';

const countsOf = (items: Array<{ label: number }>) => {
  const c = new Array(EMOJI_CLASSES.length).fill(0);
  for (const { label } of items) c[label]++;
  return c;
};

test('3,786 labelled images (1,911 without skin tones) with the documented per-category counts', () => {
  const items = emojiIndex();
  assert.is(items.length, 3786);
  assert.is(new Set(items.map((i) => i.file)).size, 3786);
  assert.equal(countsOf(items), [169, 2261, 5, 159, 131, 218, 85, 264, 224, 270]);
  const base = emojiIndex({ skinTones: false });
  assert.is(base.length, 1911);
  assert.equal(countsOf(base), [169, 386, 5, 159, 131, 218, 85, 264, 224, 270]);
});

test('a sample decodes to [64, 64, 3] in [0, 1], composited on white (or black), and is cached', async () => {
  const ds = emoji();
  assert.is(ds.size, 3786);
  assert.equal(ds.imageSize, [64, 64]);
  assert.is(ds.channels, 3);
  assert.is(ds.background, 1);
  const sample = Array.from({ length: 24 }, (_, k) => k * 157); // 24 of 3,786 spread over every category
  const got = await Promise.all(sample.map((i) => ds.get(i)));
  for (const { image, label } of got) {
    assert.is(image.length, 64 * 64 * 3);
    assert.ok(label >= 0 && label < 10);
    assert.ok(image.every((v) => v >= 0 && v <= 1));
  }
  // The first emoji (grinning face) has transparent corners: white here, black with background 'black'
  const smiley = emojiIndex().findIndex((e) => e.file.endsWith('/1f600.png'));
  const white = (await ds.get(smiley)).image;
  assert.equal(Array.from(white.subarray(0, 3)), [1, 1, 1]);
  const black = (await emoji({ background: 'black' }).get(smiley)).image;
  assert.equal(Array.from(black.subarray(0, 3)), [0, 0, 0]);
  assert.is((await ds.get(smiley)).label, 0);
  assert.equal((await ds.get(smiley)).image, white); // from the cache, same values
});

test.run();
