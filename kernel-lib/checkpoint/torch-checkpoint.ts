/**
 * Opening a PyTorch zip checkpoint (`torch.save`, torch >= 1.6: `.ckpt`, `.pt`, `.pth`) without
 * Python and without running its pickle.
 *
 * The archive (checkpoints.md): one top folder, taken from the first entry (`archive/` from
 * Lightning, the file stem for a file saved by path), holding `data.pkl` (the object),
 * `data/<key>` (one raw little-endian buffer per storage), `byteorder` (absent: little) and
 * `version`. `data.pkl` is unpickled with the weights allowlist (torch-globals.ts); tensors come
 * back as lazy TorchTensorRefs whose bytes are read only when `readTensor` is called, so
 * optimizer states and other unused subtrees are never read.
 *
 * Clear errors for: the legacy (pre-1.6) format, a raw pickle, TorchScript archives,
 * big-endian files, a truncated or corrupt zip, and storages shorter than their tensors.
 */
import { closeSync, readSync } from 'node:fs';
import { CheckpointError } from '../util/errors';
import { openForRead } from './open-file';
import { toModelArray, type ExactArray, type ModelArray } from './dtype-decode';
import type { PickleValue } from './pickle-values';
import { parseStoragePid, TORCH_GLOBALS } from './torch-globals';
import { checkTensorFits, readTensorExact, TorchStorageRef, type TorchTensorRef } from './torch-tensor';
import { unpickle } from './unpickle';
import { openZip, type ZipArchive, type ZipEntry } from './zip-reader';

export interface TorchCheckpoint {
  path: string;
  /** The archive's top folder (`archive`, or the stem of a file saved by path). */
  folder: string;
  /** The unpickled object; tensors are TorchTensorRef (no data read yet). */
  root: PickleValue;
  /** Reads one tensor's values as stored (row-major). `name` is for messages. */
  readTensor(ref: TorchTensorRef, name?: string): ExactArray;
  /** Reads one tensor for the model: floats as Float32Array, integers as Int32Array. */
  readModelTensor(ref: TorchTensorRef, name?: string): ModelArray;
  /** Throws the "storage shorter than its tensors need" error for `ref`, reading nothing. */
  checkTensor(ref: TorchTensorRef, name?: string): void;
  close(): void;
}

/** The first bytes of a legacy (pre-1.6) torch.save file: PROTO 2, LONG1 of 10 bytes (the magic number). */
const LEGACY_PREFIX = [0x80, 0x02, 0x8a, 0x0a];
const ZIP_LOCAL_HEADER = [0x50, 0x4b, 0x03, 0x04];
/** Largest data.pkl accepted (PixNerd-XL's, optimizer included, is well under 1 MB). */
const MAX_PICKLE_BYTES = 256 << 20;

const startsWith = (head: Uint8Array, prefix: number[]) => prefix.every((b, i) => head[i] === b);

/** The first 16 bytes of a file (fewer if it is shorter). */
export function fileHead(path: string): Uint8Array {
  const fd = openForRead(path);
  try {
    const head = new Uint8Array(16);
    const n = readSync(fd, head, 0, 16, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Throws a clear error unless the file starts like a zip archive. */
function checkZipMagic(path: string): void {
  const head = fileHead(path);
  if (startsWith(head, ZIP_LOCAL_HEADER)) return;
  if (startsWith(head, LEGACY_PREFIX)) {
    throw new CheckpointError(`${path}: legacy PyTorch format (torch.save before 1.6, not a zip): re-save it with torch >= 1.6, e.g. torch.save(torch.load(f), "new.ckpt")`);
  }
  if (head[0] === 0x80) throw new CheckpointError(`${path}: a raw pickle, not a PyTorch zip checkpoint (refused: a bare pickle is not read)`);
  if (head.length === 0) throw new CheckpointError(`${path}: empty file`);
  throw new CheckpointError(`${path}: not a PyTorch zip checkpoint (starts with ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

/** The archive folder, from the first entry; every entry must sit under it. */
function archiveFolder(zip: ZipArchive): string {
  const first = zip.entries[0];
  if (!first) throw new CheckpointError(`${zip.path}: empty zip archive`);
  const slash = first.name.indexOf('/');
  if (slash <= 0) throw new CheckpointError(`${zip.path}: first entry ${first.name} is not inside a folder: not a PyTorch checkpoint`);
  const folder = first.name.slice(0, slash);
  const stray = zip.entries.find((e) => !e.name.startsWith(`${folder}/`));
  if (stray) throw new CheckpointError(`${zip.path}: entry ${stray.name} is outside the archive folder ${folder}/: not a PyTorch checkpoint`);
  return folder;
}

/** Checks the layout: not TorchScript, little-endian. Returns data.pkl's entry. */
function checkLayout(zip: ZipArchive, folder: string): ZipEntry {
  const has = (name: string) => zip.byName.has(`${folder}/${name}`);
  if (has('constants.pkl') || zip.entries.some((e) => e.name.startsWith(`${folder}/code/`))) {
    throw new CheckpointError(`${zip.path}: a TorchScript archive (torch.jit.save), not a torch.save checkpoint: load it in Python and torch.save its state_dict()`);
  }
  const byteorder = zip.byName.get(`${folder}/byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(zip.readEntry(byteorder)).trim();
    if (order === 'big') throw new CheckpointError(`${zip.path}: a big-endian checkpoint (byteorder record "big"): re-save it on a little-endian machine`);
    if (order !== 'little') throw new CheckpointError(`${zip.path}: unknown byteorder record ${JSON.stringify(order)}`);
  }
  const pkl = zip.byName.get(`${folder}/data.pkl`);
  if (!pkl) throw new CheckpointError(`${zip.path}: no ${folder}/data.pkl: not a torch.save checkpoint`);
  if (pkl.size > MAX_PICKLE_BYTES) throw new CheckpointError(`${zip.path}: data.pkl is ${pkl.size} bytes, more than a weights file needs`);
  return pkl;
}

/**
 * Opens a torch zip checkpoint and unpickles its object with the weights allowlist. No tensor
 * data is read. Close it when done (the file stays open for `readTensor`).
 */
export async function openTorchCheckpoint(path: string): Promise<TorchCheckpoint> {
  checkZipMagic(path);
  const zip = await openZip(path);
  try {
    const folder = archiveFolder(zip);
    const pkl = checkLayout(zip, folder);
    const storages = new Map<string, TorchStorageRef>();
    const storageEntry = (ref: TorchStorageRef): ZipEntry => zip.byName.get(`${folder}/data/${ref.key}`)!;
    const persistentLoad = (pid: PickleValue): PickleValue => {
      const p = parseStoragePid(pid);
      const known = storages.get(p.key);
      if (known) {
        if (known.type !== p.type) throw new CheckpointError(`storage data/${p.key} is named as both ${known.type.storage} and ${p.type.storage}`);
        return known;
      }
      if (!zip.byName.has(`${folder}/data/${p.key}`)) throw new CheckpointError(`storage data/${p.key} is not in the archive`);
      const ref = new TorchStorageRef(p.key, p.type, p.numel, p.location);
      storages.set(p.key, ref);
      return ref;
    };
    const root = unpickle(zip.readEntry(pkl), { source: `data.pkl of ${path}`, globals: TORCH_GLOBALS, persistentLoad });
    const checkTensor = (ref: TorchTensorRef, name = 'tensor') => checkTensorFits(ref, storageEntry(ref.storage).size, name);
    const readTensor = (ref: TorchTensorRef, name = 'tensor') => {
      checkTensor(ref, name);
      return readTensorExact(ref, storageEntry(ref.storage).dataStart, zip.readAt);
    };
    return {
      path,
      folder,
      root,
      readTensor,
      readModelTensor: (ref, name = 'tensor') => toModelArray(readTensor(ref, name), name),
      checkTensor,
      close: () => zip.close(),
    };
  } catch (e) {
    zip.close();
    throw e;
  }
}
