/**
 * Lazy references to the tensors of a torch zip checkpoint, and reading one on request.
 *
 * `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)` makes a view: element
 * (i0, i1, ...) of the tensor is element offset + sum_k i_k * stride_k of the storage, counted in
 * elements. Several tensors may view one storage (a transposed copy, two slices). Unpickling
 * only records the view (TorchTensorRef); bytes are read from the file when a tensor is asked
 * for, and only the span of the storage that the view touches.
 */
import { CheckpointError } from '../util/errors';
import { readExact, type ExactArray } from './dtype-decode';
import type { PickleObject } from './pickle-values';
import type { TorchDType, TorchStorageType } from './torch-dtypes';

/** One storage: the bytes of `data/<key>` in the archive, `numel` elements of `type`. */
export class TorchStorageRef implements PickleObject {
  readonly pickleType = 'torch.Storage';
  constructor(
    readonly key: string,
    readonly type: TorchStorageType,
    readonly numel: number,
    /** Where it was saved from (`cpu`, `cuda:0`); informational. */
    readonly location: string,
  ) {}
}

/** A view into a storage, as `_rebuild_tensor_v2` describes it. Holds no tensor data. */
export class TorchTensorRef implements PickleObject {
  readonly pickleType = 'torch.Tensor';
  constructor(
    readonly storage: TorchStorageRef,
    /** First element, counted in elements of the storage. */
    readonly offset: number,
    readonly shape: readonly number[],
    /** Element strides, one per dimension. */
    readonly stride: readonly number[],
  ) {}

  get dtype(): TorchDType {
    return this.storage.type.dtype;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** The storage elements [first, first + count) that a view touches (count 0 for an empty tensor). */
export function elementSpan(ref: TorchTensorRef): { first: number; count: number } {
  if (ref.numel === 0) return { first: ref.offset, count: 0 };
  let last = ref.offset;
  for (let k = 0; k < ref.shape.length; k++) last += (ref.shape[k]! - 1) * ref.stride[k]!;
  return { first: ref.offset, count: last - ref.offset + 1 };
}

/** True if the view is row-major contiguous (size-1 dimensions may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (shape[k] !== 1 && stride[k] !== expected) return false;
    expected *= shape[k]!;
  }
  return true;
}

/**
 * Throws a CheckpointError naming the tensor if its view reaches past its storage's `numel` or
 * past the `entryBytes` of the storage's zip entry.
 */
export function checkTensorFits(ref: TorchTensorRef, entryBytes: number, name: string): void {
  const { first, count } = elementSpan(ref);
  const size = ref.storage.type.bytes;
  const what = `${ref.dtype} [${ref.shape.join(', ')}] at offset ${ref.offset}, strides [${ref.stride.join(', ')}]`;
  if (count > 0 && first + count > ref.storage.numel) {
    throw new CheckpointError(`tensor "${name}" (${what}) needs elements [${first}, ${first + count}) of storage data/${ref.storage.key}, which has ${ref.storage.numel}`);
  }
  if (count > 0 && (first + count) * size > entryBytes) {
    throw new CheckpointError(`storage data/${ref.storage.key} is shorter than its tensors need: ${entryBytes} bytes, but tensor "${name}" (${what}) needs bytes [${first * size}, ${(first + count) * size})`);
  }
}

/** Copies a strided view out of `src` (whose element 0 is the view's first element) into a new row-major array. */
export function gatherStrided<T extends ExactArray>(src: T, shape: readonly number[], stride: readonly number[]): T {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new (src.constructor as new (n: number) => T)(n);
  if (n === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    out[0] = src[0]!;
    return out;
  }
  const idx = new Array<number>(rank).fill(0);
  const inner = shape[rank - 1]!;
  const innerStride = stride[rank - 1]!;
  let base = 0; // source element of idx (with idx[rank-1] = 0)
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = src[base + j * innerStride]!;
    // advance the odometer over the outer dimensions
    for (let k = rank - 2; k >= 0; k--) {
      idx[k]!++;
      base += stride[k]!;
      if (idx[k]! < shape[k]!) break;
      base -= idx[k]! * stride[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * Reads a tensor's values (exact form, row-major). `readAt(target, position)` must fill
 * `target` with the file's bytes from `position`; `storageStart` is the file position of the
 * storage's first byte. Reads only the touched span; a contiguous float32 view is read straight
 * into the result.
 */
export function readTensorExact(ref: TorchTensorRef, storageStart: number, readAt: (target: Uint8Array, position: number) => void): ExactArray {
  const { first, count } = elementSpan(ref);
  const type = ref.storage.type;
  const span = readExact(type.safe, count, (target) => {
    if (target.byteLength > 0) readAt(target, storageStart + first * type.bytes);
  });
  return isContiguous(ref.shape, ref.stride) && count === ref.numel ? span : gatherStrided(span, ref.shape, ref.stride);
}
