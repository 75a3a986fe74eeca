import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { admCenterCrop } from './center-crop';
import { imageFolder } from './image-folder';

// blue/{c.png 20x20, d.webp 33x50, e-truncated.png}, red/{a.png 30x40, b.jpg 48x36, z-corrupt.jpg, notes.txt}
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'data', 'image-folder');

test('classes are the sorted sub-folders; a file with a bad header is skipped and counted when opening', async () => {
  const ds = await imageFolder(ROOT, { size: 16 });
  assert.equal(ds.classNames, ['blue', 'red']);
  assert.is(ds.numClasses, 2);
  assert.is(ds.size, 5);
  assert.equal(ds.files.map((f) => f.slice(ROOT.length + 1)), ['blue/c.png', 'blue/d.webp', 'blue/e-truncated.png', 'red/a.png', 'red/b.jpg']);
  const r = ds.report();
  assert.equal([r.found, r.size, r.ignored, r.decodes], [6, 5, 1, 0]);
  assert.equal(r.skipped.map((s) => s.file), ['red/z-corrupt.jpg']);
  assert.equal(ds.imageSize, [16, 16]);
  assert.is(ds.channels, 3);
});

test('the image is the ADM crop of the decoded file / 255 (30x40 -> 16: bicubic to 16x21, columns 2..17)', async () => {
  const ds = await imageFolder(ROOT, { size: 16 });
  const i = ds.files.findIndex((f) => f.endsWith('a.png'));
  const { image, label } = await ds.get(i);
  assert.is(label, 1);
  const { data, info } = await sharp(ds.files[i]!).raw().toBuffer({ resolveWithObject: true });
  assert.equal([info.height, info.width], [30, 40]);
  const want = admCenterCrop(new Uint8Array(data), 30, 40, 3, 16);
  assert.is(image.length, 16 * 16 * 3);
  for (let k = 0; k < want.length; k++) assert.ok(Math.abs(image[k]! - want[k]! / 255) < 1e-7);
});

test('a file that fails to decode later is replaced by the next good one and counted once; epoch 2 decodes nothing', async () => {
  const ds = await imageFolder(ROOT, { size: 8 });
  const cut = ds.files.findIndex((f) => f.endsWith('e-truncated.png'));
  const epoch = async () => Promise.all(Array.from({ length: ds.size }, (_, i) => ds.get(i)));
  const first = await epoch();
  assert.equal(first[cut]!.image, first[cut + 1]!.image);
  let r = ds.report();
  assert.equal(r.skipped.map((s) => s.file), ['red/z-corrupt.jpg', 'blue/e-truncated.png']);
  assert.ok(r.skipped[1]!.reason.length > 0); // libvips' wording varies from run to run
  assert.equal([r.decodes, r.cachedImages, r.cachedBytes], [4, 4, 4 * 8 * 8 * 3]);
  const second = await epoch();
  r = ds.report();
  assert.is(r.decodes, 4, 'the second epoch comes from the cache');
  assert.is(r.skipped.length, 2);
  second.forEach((s, i) => assert.equal(s.image, first[i]!.image));
  for (const { image } of second) assert.ok(image.every((v) => v >= 0 && v <= 1));
  ds.clearCache();
  await ds.get(0);
  assert.is(ds.report().decodes, 5);
});

test('cacheBytes 0 decodes every time; verify "full" finds both bad files when opening, "none" when reading', async () => {
  const nocache = await imageFolder(ROOT, { size: 8, cacheBytes: 0 });
  await nocache.get(0);
  await nocache.get(0);
  assert.equal([nocache.report().decodes, nocache.report().cachedImages], [2, 0]);
  const full = await imageFolder(ROOT, { size: 8, verify: 'full' });
  assert.is(full.size, 4);
  assert.equal(full.report().skipped.map((s) => s.file).sort(), ['blue/e-truncated.png', 'red/z-corrupt.jpg']);
  assert.equal([full.report().decodes, full.report().cachedImages], [4, 4]);
  const unchecked = await imageFolder(ROOT, { size: 8, verify: 'none' });
  assert.is(unchecked.size, 6);
  await Promise.all(Array.from({ length: 6 }, (_, i) => unchecked.get(i)));
  assert.is(unchecked.report().skipped.length, 2);
});

test('onCorrupt "fail" throws naming the file', async () => {
  try {
    await imageFolder(ROOT, { size: 8, onCorrupt: 'fail' });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /cannot decode .*red\/z-corrupt\.jpg/);
  }
});

test('missing, empty and class-less folders are clear errors; grey and RGBA files become RGB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'image-folder-test-'));
  const rejects = async (p: Promise<unknown>, re: RegExp) => {
    try {
      await p;
      assert.unreachable(`expected ${re}`);
    } catch (e) {
      assert.match((e as Error).message, re);
    }
  };
  try {
    await rejects(imageFolder(join(dir, 'nope'), { size: 8 }), /image folder .*nope does not exist/);
    await rejects(imageFolder(dir, { size: 8 }), /has no class sub-folders/);
    mkdirSync(join(dir, 'cat'));
    mkdirSync(join(dir, 'dog'));
    writeFileSync(join(dir, 'dog', 'x.png'), 'garbage');
    await rejects(imageFolder(dir, { size: 8 }), /class folder\(s\) cat hold no/);
    writeFileSync(join(dir, 'cat', 'y.jpg'), 'garbage');
    await rejects(imageFolder(dir, { size: 8 }), /none of its 2 image files could be read/);
    await sharp(Buffer.alloc(12 * 12, 100), { raw: { width: 12, height: 12, channels: 1 } }).png().toFile(join(dir, 'cat', 'grey.png'));
    await sharp(Buffer.from(Array.from({ length: 12 * 12 }, () => [10, 20, 30, 0]).flat()), { raw: { width: 12, height: 12, channels: 4 } })
      .png().toFile(join(dir, 'dog', 'rgba.png'));
    const ds = await imageFolder(dir, { size: 8 });
    assert.is(ds.size, 2);
    assert.equal(Array.from((await ds.get(0)).image.subarray(0, 3), (v) => Math.round(v * 255)), [100, 100, 100]);
    assert.equal(Array.from((await ds.get(1)).image.subarray(0, 3), (v) => Math.round(v * 255)), [10, 20, 30]); // alpha dropped, as Pillow's convert('RGB')
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
