/**
 * Writing safetensors one tensor at a time: the header is made from shapes and dtypes alone,
 * then each (lazy) tensor is read, written and dropped. `convert` uses it to turn a 2.8 GB
 * checkpoint into a reference-named safetensors file without a second copy in memory.
 * Floats are written as F32 (float16/bfloat16 widened), integers as I32.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CheckpointError } from '../util/errors';
import { isFloatDType } from './dtype-decode';
import { entryData, type TensorEntry } from './tensor-entry';

/**
 * Writes `tensors` (in map order) to `path` atomically (temp file + rename). Returns the file size.
 */
export function writeSafetensorsStreamed(path: string, tensors: ReadonlyMap<string, TensorEntry>, metadata: Record<string, string> = {}): number {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = 4 * t.shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: isFloatDType(t.dtype) ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20); // space-pad: 8-byte aligned data
  headerBytes.set(raw);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  let pos = 0;
  const put = (b: Uint8Array) => {
    let done = 0;
    while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done);
    pos += b.byteLength;
  };
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    put(len);
    put(headerBytes);
    for (const [name, t] of tensors) {
      const data = entryData(t);
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected) throw new CheckpointError(`tensor "${name}": shape [${t.shape.join(', ')}] needs ${expected} values, read ${data.length}`);
      put(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, path);
  return pos;
}
