/**
 * A small parser for IDX files (the MNIST / Fashion-MNIST format), plain or gzipped.
 *
 *   bytes 0-3   magic: 0x00 0x00 <type> <ndims>; type 0x08 = unsigned byte
 *   then        ndims big-endian uint32 sizes
 *   then        prod(sizes) bytes of data, row-major
 *
 * Images are 0x00000803 ([N, rows, cols]) and labels 0x00000801 ([N]). Every check names the
 * file and the problem; a truncated or padded file is an error, never silently cut.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './dataset';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;
const IDX_UBYTE = 0x08;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** A parsed IDX array: its sizes and its bytes (row-major). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * Parses an IDX buffer (already gunzipped). `file` only names the source in errors.
 * With `expectMagic` the magic number must match exactly (0x00000803 images, 0x00000801 labels).
 */
export function parseIdx(buf: Uint8Array, file: string, expectMagic?: number): IdxArray {
  if (buf.length < 4) throw new DatasetError(`${file}: IDX file is truncated: ${buf.length} bytes, no room for the 4-byte magic number`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (expectMagic !== undefined && magic !== expectMagic) {
    throw new DatasetError(`${file}: wrong IDX magic number ${hex(magic)}, expected ${hex(expectMagic)}`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) throw new DatasetError(`${file}: not an IDX file: magic ${hex(magic)} does not start with two zero bytes`);
  if (buf[2] !== IDX_UBYTE) throw new DatasetError(`${file}: IDX data type 0x${buf[2]!.toString(16)} is not supported (only unsigned byte, 0x08)`);
  const ndims = buf[3]!;
  if (ndims === 0) throw new DatasetError(`${file}: IDX header declares 0 dimensions`);
  const header = 4 + 4 * ndims;
  if (buf.length < header) {
    throw new DatasetError(`${file}: IDX file is truncated: ${buf.length} bytes, the header of ${ndims} dimensions needs ${header}`);
  }
  const dims = Array.from({ length: ndims }, (_, k) => view.getUint32(4 + 4 * k, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - header;
  if (have < count) {
    throw new DatasetError(`${file}: IDX file is truncated: dims [${dims.join(', ')}] need ${count} data bytes, found ${have}`);
  }
  if (have > count) {
    throw new DatasetError(`${file}: IDX file has ${have - count} trailing bytes after the ${count} data bytes of dims [${dims.join(', ')}]`);
  }
  return { dims, data: buf.subarray(header, header + count) };
}

/** Reads and parses an IDX file, gunzipping it when it starts with the gzip magic bytes. */
export function readIdx(file: string, expectMagic?: number): IdxArray {
  let buf: Uint8Array;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new DatasetError(`${file}: cannot read IDX file: ${(e as Error).message}`);
  }
  if (buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1]) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new DatasetError(`${file}: gzip stream is truncated or corrupt: ${(e as Error).message}`);
    }
  }
  return parseIdx(buf, file, expectMagic);
}

/** An IDX image file: [N, rows, cols] unsigned bytes. */
export function readIdxImages(file: string): { n: number; rows: number; cols: number; data: Uint8Array } {
  const { dims, data } = readIdx(file, IDX_IMAGES_MAGIC);
  return { n: dims[0]!, rows: dims[1]!, cols: dims[2]!, data };
}

/** An IDX label file: [N] unsigned bytes. */
export function readIdxLabels(file: string): Uint8Array {
  return readIdx(file, IDX_LABELS_MAGIC).data;
}
