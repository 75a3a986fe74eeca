/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`,
 * then the raw little-endian tensor bytes.
 *
 * Reads F32, F16, BF16, F64 (to Float32Array) and I32, I64, I16, I8, U8, BOOL (to Int32Array);
 * writes F32 and I32. Every malformed file gives a CheckpointError that names the problem.
 */
import { readFileSync } from 'node:fs';
import { CheckpointError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A decoded tensor: floats as Float32Array, integers as Int32Array. `dtype` is the stored one. */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

function decode(name: string, dtype: SafeDType, bytes: Uint8Array, count: number): Float32Array | Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      new Uint8Array(out.buffer).set(bytes); // copy (also fixes alignment)
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) throw new CheckpointError(`tensor "${name}": I64 value ${v} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'I16': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(2 * i, true);
      return out;
    }
    case 'I8': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return Int32Array.from(bytes);
    default: {
      const never: never = dtype;
      throw new CheckpointError(`tensor "${name}": unsupported dtype ${String(never)}`);
    }
  }
}

/** Where one tensor's bytes sit in the data section, from a validated header. */
export interface SafetensorsHeaderEntry {
  dtype: SafeDType;
  shape: number[];
  /** Byte range [begin, end) in the data section (after the 8 + N header bytes). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsHeaderEntry>;
  metadata: Record<string, string>;
}

/**
 * Parses and checks the JSON header (`headerBytes`, the N bytes after the length) against a
 * data section of `dataLength` bytes. Throws CheckpointError naming the problem.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, source = 'safetensors data'): SafetensorsHeader {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch (e) {
    throw new CheckpointError(`${source}: bad header (not JSON: ${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new CheckpointError(`${source}: bad header (not a JSON object)`);
  const entries = new Map<string, SafetensorsHeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype as SafeDType;
    if (!(typeof dtype === 'string' && dtype in BYTES)) throw new CheckpointError(`${source}: tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new CheckpointError(`${source}: tensor "${name}" has a bad shape ${JSON.stringify(shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0]) {
      throw new CheckpointError(`${source}: tensor "${name}" has bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataLength) {
      throw new CheckpointError(`${source}: truncated: tensor "${name}" needs bytes [${begin}, ${end}) but the data section has ${dataLength}`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype]) {
      throw new CheckpointError(`${source}: tensor "${name}" holds ${end - begin} bytes, but ${dtype} [${shape.join(', ')}] needs ${count * BYTES[dtype]}`);
    }
    entries.set(name, { dtype, shape: shape as number[], begin, end });
  }
  return { entries, metadata };
}

/** Parses safetensors bytes. `source` names the file in error messages. */
export function parseSafetensors(buf: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  if (buf.byteLength < 8) throw new CheckpointError(`${source}: truncated (${buf.byteLength} bytes, less than the 8-byte header length)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > buf.byteLength - 8) {
    throw new CheckpointError(`${source}: truncated or not safetensors (header length ${n} exceeds the ${buf.byteLength - 8} bytes that follow)`);
  }
  const data = buf.subarray(8 + n);
  const { entries, metadata } = parseSafetensorsHeader(buf.subarray(8, 8 + n), data.byteLength, source);
  const tensors = new Map<string, SafeTensor>();
  for (const [name, e] of entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: decode(name, e.dtype, data.subarray(e.begin, e.end), count) });
  }
  return { tensors, metadata };
}

/** Reads and parses a .safetensors file. */
export function readSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseSafetensors(buf, path);
}

/** A tensor to write: Float32Array as F32, Int32Array as I32. */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Encodes tensors (in the given key order) and string metadata as safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new CheckpointError(`tensor "${name}": shape [${t.shape}] needs ${count} values, data has ${t.data.length}`);
    const dtype = t.data instanceof Float32Array ? 'F32' : 'I32';
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20); // space-pad: 8-byte aligned data
  headerBytes.set(raw);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Writes a .safetensors file atomically (temp file + rename). */
export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
