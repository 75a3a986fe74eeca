/**
 * The state dict inside an opened torch checkpoint, as lazy tensors.
 *
 * A Lightning checkpoint is a dict with `state_dict` beside `epoch`, `global_step`, `loops`,
 * `optimizer_states`, `lr_schedulers`, ...: only `state_dict` is used; the other keys are named
 * as ignored (their tensors are never read). A file holding a bare state dict (torch.save of
 * `model.state_dict()`, a "denoiser-only" file) is used as it is.
 */
import { CheckpointError } from '../util/errors';
import { isDict, pickleTypeName, type PickleKey, type PickleValue } from './pickle-values';
import type { LazyTensor } from './tensor-entry';
import type { TorchCheckpoint } from './torch-checkpoint';
import { TorchTensorRef } from './torch-tensor';

export interface TorchStateDict {
  /** Tensors by full key (prefix included), in file order; nothing is read yet. */
  tensors: Map<string, LazyTensor>;
  /** The views behind `tensors` (to check them before reading). */
  refs: Map<string, TorchTensorRef>;
  /** Skipped parts: other top-level keys, and non-tensor state_dict entries. */
  ignored: string[];
}

const STATE_DICT_KEY = 'state_dict';

/** A lazy tensor reading `ref` from the checkpoint. */
export function lazyTorchTensor(ckpt: TorchCheckpoint, ref: TorchTensorRef, name: string): LazyTensor {
  return { dtype: ref.storage.type.safe, shape: ref.shape, read: () => ckpt.readModelTensor(ref, name) };
}

/** Finds the state dict of a torch checkpoint (Lightning `state_dict`, or a bare state dict). */
export function torchStateDict(ckpt: TorchCheckpoint): TorchStateDict {
  const root = ckpt.root;
  if (!isDict(root)) throw new CheckpointError(`${ckpt.path}: holds a ${pickleTypeName(root)}, not a dict of weights`);
  const ignored: string[] = [];
  let sd: Map<PickleKey, PickleValue> = root;
  const nested = root.get(STATE_DICT_KEY);
  if (nested !== undefined) {
    if (!isDict(nested)) throw new CheckpointError(`${ckpt.path}: state_dict is a ${pickleTypeName(nested)}, not a dict`);
    sd = nested;
    for (const k of root.keys()) if (k !== STATE_DICT_KEY) ignored.push(String(k));
  }
  const tensors = new Map<string, LazyTensor>();
  const refs = new Map<string, TorchTensorRef>();
  const nonTensor: string[] = [];
  for (const [k, v] of sd) {
    if (typeof k === 'string' && v instanceof TorchTensorRef) {
      refs.set(k, v);
      tensors.set(k, lazyTorchTensor(ckpt, v, k));
    } else nonTensor.push(String(k));
  }
  if (tensors.size === 0) {
    throw new CheckpointError(`${ckpt.path}: no tensors in ${nested !== undefined ? 'state_dict' : 'the top-level dict'} (keys: ${[...sd.keys()].slice(0, 12).map(String).join(', ') || 'none'})`);
  }
  if (nonTensor.length) ignored.unshift(`${nonTensor.length} non-tensor state_dict entr${nonTensor.length === 1 ? 'y' : 'ies'} (${nonTensor.slice(0, 4).join(', ')}${nonTensor.length > 4 ? ', ...' : ''})`);
  return { tensors, refs, ignored };
}
