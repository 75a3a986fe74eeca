/**
 * A small torch.save for tests and benchmarks: writes JavaScript values as a PyTorch zip
 * checkpoint laid out as torch 1.13 writes one (archive folder, protocol-2 data.pkl with
 * `_rebuild_tensor_v2` + BINPERSID storages, `data/<key>` entries 64-byte aligned, `byteorder`,
 * `version`). Storage bytes may be produced lazily, chunk by chunk, so an XL-sized file is
 * written without holding it in memory. `saveTorchArchive` writes a given (possibly hostile)
 * data.pkl as is.
 */
import { basename, extname } from 'node:path';
import { PickleWriter } from './pickle-writer';
import { storageTypeOf, type TorchDType } from './torch-dtypes';
import { writeStoredZip, type ZipEntrySource, type ZipWriteOptions } from './zip-writer';

/** One storage: `numel` elements of `dtype`; `data` gives its little-endian bytes. */
export interface StorageToSave {
  readonly dtype: TorchDType;
  readonly numel: number;
  readonly data: Uint8Array | (() => Iterable<Uint8Array>);
}

export interface TensorToSave {
  readonly kind: 'tensor';
  readonly storage: StorageToSave;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export type SaveValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | SaveValue[]
  | Map<string | number, SaveValue>
  | { readonly kind: 'tuple'; readonly items: readonly SaveValue[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ordered-dict'; readonly entries: Map<string | number, SaveValue>; readonly metadata?: Map<string, SaveValue> }
  | TensorToSave
  /** Raw opcodes that push exactly one value (hostile payloads in tests). */
  | { readonly kind: 'raw'; readonly emit: (w: PickleWriter) => void };

export const pyTuple = (...items: SaveValue[]): SaveValue => ({ kind: 'tuple', items });
/** A Python float even when integral (2.0). */
export const pyFloat = (value: number): SaveValue => ({ kind: 'float', value });
export const orderedDict = (entries: Map<string | number, SaveValue>, metadata?: Map<string, SaveValue>): SaveValue => ({ kind: 'ordered-dict', entries, metadata });
export const rawPickle = (emit: (w: PickleWriter) => void): SaveValue => ({ kind: 'raw', emit });

/** Row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k]!;
  }
  return s;
}

/** float32 -> float16 bits, round to nearest even. */
export function f32ToF16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h; // a carry into the exponent is the correct rounding
}

/** float32 -> bfloat16 bits, round to nearest even. */
export function f32ToBf16Bits(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Little-endian bytes of values as `dtype` (floats rounded to float16/bfloat16 as torch does). */
export function encodeValues(dtype: TorchDType, values: ArrayLike<number | bigint | boolean>): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(n * storageTypeOf(dtype).bytes);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    switch (dtype) {
      case 'float32':
        dv.setFloat32(4 * i, Number(v), true);
        break;
      case 'float64':
        dv.setFloat64(8 * i, Number(v), true);
        break;
      case 'float16':
        dv.setUint16(2 * i, f32ToF16Bits(Number(v)), true);
        break;
      case 'bfloat16':
        dv.setUint16(2 * i, f32ToBf16Bits(Number(v)), true);
        break;
      case 'int64':
        dv.setBigInt64(8 * i, BigInt(v), true);
        break;
      case 'int32':
        dv.setInt32(4 * i, Number(v), true);
        break;
      case 'int16':
        dv.setInt16(2 * i, Number(v), true);
        break;
      case 'int8':
        dv.setInt8(i, Number(v));
        break;
      case 'uint8':
      case 'bool':
        dv.setUint8(i, Number(v));
        break;
      default: {
        const never: never = dtype;
        throw new Error(`unknown dtype ${String(never)}`);
      }
    }
  }
  return out;
}

/** A contiguous tensor with its own storage. */
export function tensorToSave(dtype: TorchDType, shape: readonly number[], values: ArrayLike<number | bigint | boolean>): TensorToSave {
  const numel = shape.reduce((a, b) => a * b, 1);
  if (values.length !== numel) throw new Error(`tensorToSave: shape [${shape}] needs ${numel} values, got ${values.length}`);
  return { kind: 'tensor', storage: { dtype, numel, data: encodeValues(dtype, values) }, offset: 0, shape, stride: contiguousStrides(shape) };
}

/** A view of an existing storage (shared storages, offsets, transposes). */
export function viewToSave(storage: StorageToSave, offset: number, shape: readonly number[], stride: readonly number[]): TensorToSave {
  return { kind: 'tensor', storage, offset, shape, stride };
}

/** Pickles `value` as torch.save does; storages get keys '0', '1', ... in order of first use. */
export function pickleForTorch(value: SaveValue): { pickle: Uint8Array; storages: Map<string, StorageToSave> } {
  const w = new PickleWriter().proto(2);
  const storages = new Map<StorageToSave, string>();
  const globals = new Map<string, number>(); // memo slot of each emitted global
  const global = (module: string, name: string) => {
    const slot = globals.get(`${module}.${name}`);
    if (slot !== undefined) w.get(slot);
    else w.global(module, name).put((i) => globals.set(`${module}.${name}`, i));
  };
  const emitItems = (items: readonly SaveValue[]) => items.forEach(emit);
  const emitDictBody = (entries: Map<string | number, SaveValue>) => {
    if (entries.size === 0) return;
    w.mark();
    for (const [k, v] of entries) {
      emit(k);
      emit(v);
    }
    w.setitems();
  };
  function emit(v: SaveValue): void {
    if (v === null) w.none();
    else if (typeof v === 'boolean') w.bool(v);
    else if (typeof v === 'number') (Number.isInteger(v) ? w.int(v) : w.float(v));
    else if (typeof v === 'bigint') w.int(v);
    else if (typeof v === 'string') w.str(v).put();
    else if (Array.isArray(v)) {
      w.emptyList().put();
      if (v.length) {
        w.mark();
        emitItems(v);
        w.appends();
      }
    } else if (v instanceof Map) {
      w.emptyDict().put();
      emitDictBody(v);
    } else
      switch (v.kind) {
        case 'tuple':
          if (v.items.length === 0) w.emptyTuple();
          else if (v.items.length <= 3) {
            emitItems(v.items);
            w.tuple(v.items.length);
          } else {
            w.mark();
            emitItems(v.items);
            w.tuple();
          }
          break;
        case 'float':
          w.float(v.value);
          break;
        case 'ordered-dict':
          global('collections', 'OrderedDict');
          w.emptyTuple().reduce().put();
          emitDictBody(v.entries);
          if (v.metadata) {
            w.emptyDict();
            emit('_metadata');
            emit(orderedDict(new Map(v.metadata)));
            w.setitem().build();
          }
          break;
        case 'tensor': {
          global('torch._utils', '_rebuild_tensor_v2');
          w.mark();
          let key = storages.get(v.storage);
          if (key === undefined) {
            key = String(storages.size);
            storages.set(v.storage, key);
          }
          w.mark().str('storage');
          global('torch', storageTypeOf(v.storage.dtype).storage);
          w.str(key).str('cpu').int(v.storage.numel).tuple().binpersid();
          w.int(v.offset);
          emit(pyTuple(...v.shape));
          emit(pyTuple(...v.stride));
          w.bool(false);
          global('collections', 'OrderedDict');
          w.emptyTuple().reduce();
          w.tuple().reduce().put();
          break;
        }
        case 'raw':
          v.emit(w);
          break;
        default: {
          const never: never = v;
          throw new Error(`cannot pickle ${JSON.stringify(never)}`);
        }
      }
  }
  emit(value);
  w.stop();
  return { pickle: w.bytes(), storages: new Map([...storages].map(([s, k]) => [k, s])) };
}

export interface SaveOptions extends ZipWriteOptions {
  /** Top folder of every entry: Lightning writes 'archive' (default); torch.save(obj, path) the file stem (`stemFolder`). */
  folder?: string;
  /** The byteorder record; null omits it (files older than torch 1.10). Default 'little'. */
  byteorder?: 'little' | 'big' | null;
  /** More entries, inside the folder (e.g. `constants.pkl` to make a TorchScript-like archive). */
  extraEntries?: { name: string; data: Uint8Array }[];
}

/** The archive folder torch.save(obj, path) uses: the file name without its extension. */
export function stemFolder(path: string): string {
  return basename(path, extname(path));
}

/** Writes a torch zip with the given data.pkl bytes and storages (key -> storage). */
export function saveTorchArchive(path: string, pickle: Uint8Array, storages: Map<string, StorageToSave>, opts: SaveOptions = {}): number {
  const folder = opts.folder ?? 'archive';
  const enc = (s: string) => new TextEncoder().encode(s);
  const entries: ZipEntrySource[] = [{ name: `${folder}/data.pkl`, data: pickle }];
  const byteorder = opts.byteorder === undefined ? 'little' : opts.byteorder;
  if (byteorder) entries.push({ name: `${folder}/byteorder`, data: enc(byteorder) });
  for (const [key, s] of storages) entries.push({ name: `${folder}/data/${key}`, data: s.data });
  for (const e of opts.extraEntries ?? []) entries.push({ name: `${folder}/${e.name}`, data: e.data });
  entries.push({ name: `${folder}/version`, data: enc('3\n') });
  return writeStoredZip(path, entries, opts);
}

/** torch.save(value, path) in miniature. Returns the file size. */
export function saveTorchCheckpoint(path: string, value: SaveValue, opts: SaveOptions = {}): number {
  const { pickle, storages } = pickleForTorch(value);
  return saveTorchArchive(path, pickle, storages, opts);
}
