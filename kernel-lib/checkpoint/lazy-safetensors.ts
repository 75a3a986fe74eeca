/**
 * A safetensors file opened lazily: the header is read and checked, tensors are LazyTensors
 * read by offset from the open file. For files too large to read whole (a diffusers export
 * holds two copies of XL/16: 5.6 GB, past Node's 2 GiB readFileSync limit).
 */
import { closeSync, fstatSync } from 'node:fs';
import { CheckpointError } from '../util/errors';
import { openForRead } from './open-file';
import { readExact, toModelArray } from './dtype-decode';
import { parseSafetensorsHeader } from './safetensors';
import type { LazyTensor } from './tensor-entry';
import { readFully } from './zip-reader';

export interface LazySafetensors {
  path: string;
  tensors: Map<string, LazyTensor>;
  metadata: Record<string, string>;
  close(): void;
}

/** Largest header accepted (safetensors' own limit is 100 MB). */
const MAX_HEADER = 100_000_000;

/** Opens a .safetensors file; nothing but the header is read until a tensor's `read()`. */
export function openSafetensors(path: string): LazySafetensors {
  const fd = openForRead(path);
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new CheckpointError(`${path}: truncated (${size} bytes, less than the 8-byte header length)`);
    const lenBytes = new Uint8Array(8);
    readFully(fd, lenBytes, 0, path);
    const n = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
    if (n > size - 8 || n > MAX_HEADER) throw new CheckpointError(`${path}: truncated or not safetensors (header length ${n}, file size ${size})`);
    const headerBytes = new Uint8Array(n);
    readFully(fd, headerBytes, 8, path);
    const { entries, metadata } = parseSafetensorsHeader(headerBytes, size - 8 - n, path);
    let open = true;
    const tensors = new Map<string, LazyTensor>();
    for (const [name, e] of entries) {
      const count = e.shape.reduce((a, b) => a * b, 1);
      tensors.set(name, {
        dtype: e.dtype,
        shape: e.shape,
        read: () => {
          if (!open) throw new CheckpointError(`${path}: tensor "${name}" read after close`);
          return toModelArray(readExact(e.dtype, count, (t) => readFully(fd, t, 8 + n + e.begin, path)), name);
        },
      });
    }
    return {
      path,
      tensors,
      metadata,
      close: () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
