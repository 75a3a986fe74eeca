/**
 * Little-endian tensor bytes to typed arrays, in two forms:
 *
 * - exact: every value as stored (float64 as Float64Array, int64 as BigInt64Array, bool and
 *   uint8 as Uint8Array); float16 and bfloat16 are widened to float32, which is exact.
 * - model: what the model and SafeTensor use, floats as Float32Array and integers as
 *   Int32Array (an int64 outside int32 is an error naming the tensor).
 *
 * The bytes may sit at any byte offset (zip entries are only sometimes aligned).
 */
import { CheckpointError } from '../util/errors';
import type { SafeDType } from './safetensors';

export type ExactArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
export type ModelArray = Float32Array | Int32Array;

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Floating-point dtypes: the ones the model accepts as weights. */
export function isFloatDType(dtype: SafeDType): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

/** The typed-array constructor of a dtype's exact form. */
export function exactArrayOf(dtype: SafeDType, count: number): ExactArray {
  switch (dtype) {
    case 'F32':
    case 'F16':
    case 'BF16':
      return new Float32Array(count);
    case 'F64':
      return new Float64Array(count);
    case 'I64':
      return new BigInt64Array(count);
    case 'I32':
      return new Int32Array(count);
    case 'I16':
      return new Int16Array(count);
    case 'I8':
      return new Int8Array(count);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(count);
    default: {
      const never: never = dtype;
      throw new CheckpointError(`unsupported dtype ${String(never)}`);
    }
  }
}

/** True on little-endian hosts (every platform Node ships for but s390x). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | undefined;

/** float16 bits -> float32, through a 64k-entry table built on first use. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    t[h] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  f16Table = t;
  return t;
}

/**
 * Decodes `count` little-endian elements of `dtype` from `bytes` into their exact form.
 * `bytes.byteLength` must be exactly count * DTYPE_BYTES[dtype].
 */
export function decodeExact(dtype: SafeDType, bytes: Uint8Array, count: number): ExactArray {
  const need = count * DTYPE_BYTES[dtype];
  if (bytes.byteLength !== need) throw new CheckpointError(`decode ${dtype}: ${bytes.byteLength} bytes for ${count} elements (need ${need})`);
  const out = exactArrayOf(dtype, count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F16') {
    const table = halfTable();
    for (let i = 0; i < count; i++) out[i] = table[dv.getUint16(2 * i, true)]!;
    return out;
  }
  if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
    return out;
  }
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes); // same layout: one copy (also fixes alignment)
    return out;
  }
  throw new CheckpointError('big-endian hosts are not supported by the checkpoint readers');
}

/**
 * The model form of an exact array: floats as Float32Array (float64 rounded), integers as
 * Int32Array. A Float32Array or Int32Array is returned as is (no copy).
 */
export function toModelArray(exact: ExactArray, name: string): ModelArray {
  if (exact instanceof Float32Array || exact instanceof Int32Array) return exact;
  if (exact instanceof Float64Array) return Float32Array.from(exact);
  if (exact instanceof BigInt64Array) {
    const out = new Int32Array(exact.length);
    for (let i = 0; i < exact.length; i++) {
      const v = exact[i]!;
      if (v > 2147483647n || v < -2147483648n) throw new CheckpointError(`tensor "${name}": int64 value ${v} does not fit in int32`);
      out[i] = Number(v);
    }
    return out;
  }
  return Int32Array.from(exact);
}

/**
 * Reads `count` elements of `dtype` through `fill`, which must write exactly
 * count * DTYPE_BYTES[dtype] bytes into the array it is given. Where the stored layout is the
 * exact form's layout (all but float16/bfloat16 on a little-endian host) `fill` writes straight
 * into the result: no second copy of the tensor.
 */
export function readExact(dtype: SafeDType, count: number, fill: (target: Uint8Array) => void): ExactArray {
  if (dtype === 'F16' || dtype === 'BF16' || !HOST_LITTLE_ENDIAN) {
    const bytes = new Uint8Array(count * DTYPE_BYTES[dtype]);
    fill(bytes);
    return decodeExact(dtype, bytes, count);
  }
  const out = exactArrayOf(dtype, count);
  fill(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  return out;
}
