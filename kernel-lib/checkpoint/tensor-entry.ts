/**
 * A named tensor as a loader sees it: either decoded (SafeTensor, from readSafetensors) or
 * lazy (LazyTensor: shape and dtype known, bytes read from the file on `read()`). Lazy entries
 * let a loader check every name and shape of a 2.8 GB file before reading any of it, then read
 * and hand over one tensor at a time.
 */
import type { ModelArray } from './dtype-decode';
import type { SafeDType, SafeTensor } from './safetensors';

export interface LazyTensor {
  /** The stored dtype (`BF16` stays `BF16`; `read()` widens). */
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  /** Reads the values, row-major: floats as Float32Array, integers as Int32Array. */
  read(): ModelArray;
}

export type TensorEntry = SafeTensor | LazyTensor;

/** The values of an entry (reads a lazy one). */
export function entryData(t: TensorEntry): ModelArray {
  return 'data' in t ? t.data : t.read();
}

/** Bytes an entry takes once read (4 per element). */
export function entryBytes(t: TensorEntry): number {
  return 4 * t.shape.reduce((a, b) => a * b, 1);
}
