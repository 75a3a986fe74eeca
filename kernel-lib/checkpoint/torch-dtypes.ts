/**
 * PyTorch's storage types and the element types they hold.
 *
 * A zip checkpoint names each storage by its class (`torch.FloatStorage`, ...); the bytes of
 * `data/<key>` are that many little-endian elements. Each row also gives the safetensors dtype
 * with the same bytes, so both readers share one decoder (dtype-decode.ts).
 */
import type { SafeDType } from './safetensors';

export type TorchDType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface TorchStorageType {
  /** Class name under `torch.` as written by torch.save (`FloatStorage`). */
  storage: string;
  dtype: TorchDType;
  /** The safetensors dtype with the same byte layout. */
  safe: SafeDType;
  /** Bytes per element. */
  bytes: number;
}

/** Every storage type a weights file may use (PyTorch >= 1.6, `torch/storage.py`). */
export const TORCH_STORAGE_TYPES: readonly TorchStorageType[] = [
  { storage: 'FloatStorage', dtype: 'float32', safe: 'F32', bytes: 4 },
  { storage: 'HalfStorage', dtype: 'float16', safe: 'F16', bytes: 2 },
  { storage: 'BFloat16Storage', dtype: 'bfloat16', safe: 'BF16', bytes: 2 },
  { storage: 'DoubleStorage', dtype: 'float64', safe: 'F64', bytes: 8 },
  { storage: 'LongStorage', dtype: 'int64', safe: 'I64', bytes: 8 },
  { storage: 'IntStorage', dtype: 'int32', safe: 'I32', bytes: 4 },
  { storage: 'ShortStorage', dtype: 'int16', safe: 'I16', bytes: 2 },
  { storage: 'CharStorage', dtype: 'int8', safe: 'I8', bytes: 1 },
  { storage: 'ByteStorage', dtype: 'uint8', safe: 'U8', bytes: 1 },
  { storage: 'BoolStorage', dtype: 'bool', safe: 'BOOL', bytes: 1 },
];

/** The storage type of a dtype (every TorchDType has exactly one row). */
export function storageTypeOf(dtype: TorchDType): TorchStorageType {
  const row = TORCH_STORAGE_TYPES.find((r) => r.dtype === dtype);
  if (!row) throw new Error(`no storage type for dtype ${dtype}`);
  return row;
}
