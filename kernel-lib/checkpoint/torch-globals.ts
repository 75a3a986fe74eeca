/**
 * The allowlist of pickle globals for a PyTorch weights file, and the builders behind them.
 *
 * A PixNerd checkpoint needs nothing outside (checkpoints.md):
 * - `collections.OrderedDict`: state dicts and the empty `backward_hooks` of each tensor;
 * - `torch._utils._rebuild_tensor_v2`: a tensor view of a storage;
 * - `torch._utils._rebuild_parameter`: an nn.Parameter wrapping such a tensor;
 * - `torch.<Type>Storage` (torch-dtypes.ts): storage classes, named inside persistent ids only.
 * The builders only make values (PickleOrderedDict, TorchTensorRef); nothing here runs code
 * named by the file. Every other global is refused by the unpickler.
 */
import { CheckpointError } from '../util/errors';
import { asInt, isDict, isGlobal, isTuple, pickleTypeName, PickleOrderedDict, type PickleGlobal, type PickleKey, type PickleValue } from './pickle-values';
import { TORCH_STORAGE_TYPES, type TorchStorageType } from './torch-dtypes';
import { TorchStorageRef, TorchTensorRef } from './torch-tensor';

const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const ORDERED_DICT = 'collections.OrderedDict';

/** Storage classes by dotted global name (`torch.FloatStorage`). */
const STORAGE_GLOBALS = new Map<string, TorchStorageType>(TORCH_STORAGE_TYPES.map((t) => [`torch.${t.storage}`, t]));

function intTuple(v: PickleValue, what: string): number[] {
  if (!isTuple(v)) throw new CheckpointError(`${REBUILD_TENSOR}: ${what} must be a tuple of ints, got ${pickleTypeName(v)}`);
  return v.map((x, i) => {
    const n = asInt(x);
    if (n === undefined || n < 0) throw new CheckpointError(`${REBUILD_TENSOR}: ${what}[${i}] = ${String(x)} is not a non-negative int`);
    return n;
  });
}

/** `OrderedDict()` or `OrderedDict([(k, v), ...])`. */
function orderedDict(args: readonly PickleValue[]): PickleValue {
  const d = new PickleOrderedDict();
  if (args.length === 0) return d;
  const items = args[0];
  if (args.length > 1 || !Array.isArray(items)) throw new CheckpointError(`${ORDERED_DICT}: expected () or ([(key, value), ...]), got ${args.length} argument(s)`);
  for (const pair of items) {
    if (!isTuple(pair) || pair.length !== 2) throw new CheckpointError(`${ORDERED_DICT}: items must be (key, value) pairs`);
    const k = pair[0]!;
    if (typeof k === 'object' && k !== null) throw new CheckpointError(`${ORDERED_DICT}: unsupported key of type ${pickleTypeName(k)}`);
    d.set(k as PickleKey, pair[1]!);
  }
  return d;
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
function rebuildTensor(args: readonly PickleValue[]): PickleValue {
  if (args.length !== 6 && args.length !== 7) throw new CheckpointError(`${REBUILD_TENSOR}: expected 6 or 7 arguments, got ${args.length}`);
  const [storage, offset, size, stride, requiresGrad, hooks] = args;
  if (!(storage instanceof TorchStorageRef)) throw new CheckpointError(`${REBUILD_TENSOR}: argument 0 must be a storage (persistent id), got ${pickleTypeName(storage!)}`);
  const off = asInt(offset!);
  if (off === undefined || off < 0) throw new CheckpointError(`${REBUILD_TENSOR}: storage_offset ${String(offset)} is not a non-negative int`);
  const shape = intTuple(size!, 'size');
  const strides = intTuple(stride!, 'stride');
  if (shape.length !== strides.length) throw new CheckpointError(`${REBUILD_TENSOR}: size has ${shape.length} dims but stride has ${strides.length}`);
  if (typeof requiresGrad !== 'boolean') throw new CheckpointError(`${REBUILD_TENSOR}: requires_grad must be a bool, got ${pickleTypeName(requiresGrad!)}`);
  if (!isDict(hooks!)) throw new CheckpointError(`${REBUILD_TENSOR}: backward_hooks must be an OrderedDict, got ${pickleTypeName(hooks!)}`);
  return new TorchTensorRef(storage, off, shape, strides);
}

/** `_rebuild_parameter(data, requires_grad, backward_hooks)`: the parameter's tensor. */
function rebuildParameter(args: readonly PickleValue[]): PickleValue {
  if (args.length !== 3 || !(args[0] instanceof TorchTensorRef)) {
    throw new CheckpointError(`${REBUILD_PARAMETER}: expected (tensor, requires_grad, backward_hooks), got ${args.map((a) => pickleTypeName(a)).join(', ')}`);
  }
  return args[0];
}

/** The allowlist: every global a weights file may name. */
export const TORCH_GLOBALS: ReadonlyMap<string, PickleGlobal> = new Map<string, PickleGlobal>([
  [ORDERED_DICT, { pickleType: 'global', name: ORDERED_DICT, reduce: orderedDict }],
  [REBUILD_TENSOR, { pickleType: 'global', name: REBUILD_TENSOR, reduce: rebuildTensor }],
  [REBUILD_PARAMETER, { pickleType: 'global', name: REBUILD_PARAMETER, reduce: rebuildParameter }],
  ...[...STORAGE_GLOBALS.keys()].map((name): [string, PickleGlobal] => [name, { pickleType: 'global', name }]),
]);

/** A storage's persistent id: `('storage', torch.<Type>Storage, key, location, numel)`. */
export interface StoragePid {
  type: TorchStorageType;
  key: string;
  location: string;
  numel: number;
}

/** Reads a persistent id; throws naming what is wrong with it. */
export function parseStoragePid(pid: PickleValue): StoragePid {
  if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
    throw new CheckpointError(`persistent id must be ('storage', type, key, location, numel), got ${pickleTypeName(pid)}${isTuple(pid) ? ` of ${pid.length}` : ''}`);
  }
  const [, cls, key, location, numel] = pid;
  const type = isGlobal(cls!) ? STORAGE_GLOBALS.get(cls.name) : undefined;
  if (!type) throw new CheckpointError(`persistent id names ${pickleTypeName(cls!)}, not a torch storage class`);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) throw new CheckpointError(`storage key ${JSON.stringify(key)} is not a plain name`);
  if (typeof location !== 'string') throw new CheckpointError(`storage ${key}: location must be a str`);
  const n = asInt(numel!);
  if (n === undefined || n < 0) throw new CheckpointError(`storage ${key}: numel ${String(numel)} is not a non-negative int`);
  return { type, key, location, numel: n };
}
