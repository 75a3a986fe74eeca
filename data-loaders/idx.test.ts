import '../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx, readIdx, readIdxImages, readIdxLabels } from './idx';

/** An IDX buffer: magic, big-endian dims, then `data`. */
function idx(magic: number, dims: number[], data: number[]): Uint8Array {
  const buf = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(buf.buffer);
  v.setUint32(0, magic, false);
  dims.forEach((d, k) => v.setUint32(4 + 4 * k, d, false));
  buf.set(data, 4 + 4 * dims.length);
  return buf;
}

const images = idx(IDX_IMAGES_MAGIC, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
const labels = idx(IDX_LABELS_MAGIC, [2], [7, 3]);

test('parses images [N, rows, cols] and labels [N]', () => {
  const a = parseIdx(images, 'mem', IDX_IMAGES_MAGIC);
  assert.equal(a.dims, [2, 2, 3]);
  assert.equal(Array.from(a.data), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  assert.equal(Array.from(parseIdx(labels, 'mem', IDX_LABELS_MAGIC).data), [7, 3]);
});

test('wrong magic, truncated header, truncated data and trailing bytes are errors naming the file', () => {
  assert.throws(() => parseIdx(labels, 'lab.idx', IDX_IMAGES_MAGIC), /lab\.idx: wrong IDX magic number 0x00000801, expected 0x00000803/);
  assert.throws(() => parseIdx(idx(0x08000803, [1], [0]), 'x.idx'), /x\.idx: not an IDX file/);
  assert.throws(() => parseIdx(idx(0x00000d01, [1], [0]), 'f.idx'), /f\.idx: IDX data type 0xd is not supported/);
  assert.throws(() => parseIdx(images.subarray(0, 3), 'a.idx'), /a\.idx: IDX file is truncated: 3 bytes/);
  assert.throws(() => parseIdx(images.subarray(0, 10), 'b.idx'), /b\.idx: IDX file is truncated: 10 bytes, the header of 3 dimensions needs 16/);
  assert.throws(() => parseIdx(images.subarray(0, 20), 'c.idx'), /c\.idx: IDX file is truncated: dims \[2, 2, 3\] need 12 data bytes, found 4/);
  const padded = new Uint8Array(labels.length + 2);
  padded.set(labels);
  assert.throws(() => parseIdx(padded, 'd.idx'), /d\.idx: IDX file has 2 trailing bytes/);
});

test('reads plain and gzipped files; a truncated gzip or a missing file is an error naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-test-'));
  try {
    writeFileSync(join(dir, 'img.idx'), images);
    const gz = gzipSync(images);
    writeFileSync(join(dir, 'img.idx.gz'), gz);
    writeFileSync(join(dir, 'lab.gz'), gzipSync(labels));
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 10));
    assert.equal(readIdx(join(dir, 'img.idx')).dims, [2, 2, 3]);
    const im = readIdxImages(join(dir, 'img.idx.gz'));
    assert.equal([im.n, im.rows, im.cols], [2, 2, 3]);
    assert.equal(Array.from(readIdxLabels(join(dir, 'lab.gz'))), [7, 3]);
    assert.throws(() => readIdxLabels(join(dir, 'img.idx.gz')), /img\.idx\.gz: wrong IDX magic number 0x00000803, expected 0x00000801/);
    assert.throws(() => readIdx(join(dir, 'cut.gz')), /cut\.gz: gzip stream is truncated or corrupt/);
    assert.throws(() => readIdx(join(dir, 'nope.gz')), /nope\.gz: cannot read IDX file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
