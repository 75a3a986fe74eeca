import { tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../util/errors';
import { isTuple, type PickleValue } from './pickle-values';
import { openTorchCheckpoint } from './torch-checkpoint';
import { TorchTensorRef } from './torch-tensor';
import { encodeValues, pyTuple, type SaveValue, saveTorchArchive, saveTorchCheckpoint, stemFolder, tensorToSave, viewToSave, type StorageToSave } from './torch-save';
import { PickleWriter } from './pickle-writer';

const CKPT_FIX = '../shared/fixtures/checkpoints';
const dir = tempDir('pixnerd-torchzip-');

async function rejects(path: string, re: RegExp): Promise<void> {
  try {
    const c = await openTorchCheckpoint(path);
    c.close();
    assert.unreachable(`opened ${path}`);
  } catch (e) {
    assert.instance(e, CheckpointError, String(e));
    assert.match((e as Error).message, re);
  }
}

/** Nested JSON arrays (row-major) flattened. */
const flat = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

test('dtypes.ckpt (real torch.save) matches dtypes.json: every dtype, a transposed view, two views of one storage, nested containers', async () => {
  const want = JSON.parse(readFileSync(`${CKPT_FIX}/dtypes.json`, 'utf8'));
  const c = await openTorchCheckpoint(`${CKPT_FIX}/dtypes.ckpt`);
  const root = c.root as Map<string, PickleValue>;
  const tensors = root.get('tensors') as Map<string, TorchTensorRef>;
  const names = Object.keys(want).filter((k) => !k.startsWith('_'));
  assert.equal([...tensors.keys()], names);
  for (const name of names) {
    const ref = tensors.get(name)!;
    assert.is(ref.dtype, want[name].dtype, name);
    assert.equal([...ref.shape], want[name].shape, `${name} shape`);
    const got = Array.from(c.readTensor(ref, name) as ArrayLike<number | bigint>);
    const exp = flat(want[name].values);
    const norm = (v: unknown) => (want[name].dtype === 'int64' ? BigInt(v as number) : want[name].dtype === 'bool' ? Number(v) : v);
    assert.equal(got, exp.map(norm), `${name} values (exact)`);
  }
  assert.is(tensors.get('view_a')!.storage, tensors.get('view_b')!.storage, 'view_a and view_b share one storage');
  assert.equal([tensors.get('transposed')!.stride], [[1, 6]]);
  const nested = root.get('nested') as Map<string, PickleValue>;
  assert.is(nested.get('big_int'), want._nested.big_int);
  assert.is(nested.get('neg'), want._nested.neg);
  const list = nested.get('list') as PickleValue[];
  assert.is(list[0], tensors.get('f32'), 'a memo reference to the same tensor');
  assert.ok(isTuple(list[1]!));
  assert.equal(list[1], want._nested.tuple);
  c.close();
});

test('tiny.ckpt (real Lightning-shaped torch.save): archive folder, top-level keys, no tensor read at open', async () => {
  const c = await openTorchCheckpoint(`${CKPT_FIX}/tiny.ckpt`);
  assert.is(c.folder, 'archive');
  const root = c.root as Map<string, PickleValue>;
  assert.equal([...root.keys()], ['epoch', 'global_step', 'pytorch-lightning_version', 'state_dict', 'loops', 'optimizer_states', 'lr_schedulers']);
  assert.is(root.get('global_step'), 1600000);
  const sd = root.get('state_dict') as Map<string, PickleValue>;
  assert.ok([...sd.values()].every((v) => v instanceof TorchTensorRef));
  c.close();
  assert.throws(() => c.readTensor(sd.get('denoiser.x_embedder.embedder.0.weight') as TorchTensorRef), /read after close/);
});

test('writer round trip: views with offsets and arbitrary strides sharing one storage; every dtype', async () => {
  // A [2, 3, 4] storage; views: a permuted 3-D view, a strided slice at an offset, a scalar.
  const values = Array.from({ length: 24 }, (_, i) => i - 7.5);
  const storage: StorageToSave = { dtype: 'float32', numel: 24, data: encodeValues('float32', values) };
  const at = (i: number, j: number, k: number) => values[12 * i + 4 * j + k]!;
  const permuted = viewToSave(storage, 0, [4, 2, 3], [1, 12, 4]); // x.permute(2, 0, 1)
  const slice = viewToSave(storage, 5, [2, 2], [12, 2]); // x[:, 1, 1::2]
  const scalar = viewToSave(storage, 23, [], []);
  const all = new Map<string, Parameters<typeof saveTorchCheckpoint>[1]>([
    ['permuted', permuted],
    ['slice', slice],
    ['scalar', scalar],
    ['i16', tensorToSave('int16', [3], [-300, 0, 300])],
    ['i8', tensorToSave('int8', [2], [-128, 127])],
    ['u8', tensorToSave('uint8', [2], [0, 255])],
    ['f64', tensorToSave('float64', [2], [Math.PI, -1e300])],
    ['i64', tensorToSave('int64', [2], [-(2n ** 62n), 2n ** 40n])],
    ['bool', tensorToSave('bool', [2, 1], [true, false])],
  ]);
  const path = join(dir, 'views.pt');
  saveTorchCheckpoint(path, all);
  const c = await openTorchCheckpoint(path);
  const r = c.root as Map<string, TorchTensorRef>;
  const read = (k: string) => Array.from(c.readTensor(r.get(k)!, k) as ArrayLike<number | bigint>);
  const wantPermuted: number[] = [];
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) wantPermuted.push(at(i, j, k));
  assert.equal(read('permuted'), wantPermuted);
  assert.equal(read('slice'), [at(0, 1, 1), at(0, 1, 3), at(1, 1, 1), at(1, 1, 3)]);
  assert.equal(read('scalar'), [at(1, 2, 3)]);
  assert.is(r.get('permuted')!.storage, r.get('slice')!.storage);
  assert.equal(read('i16'), [-300, 0, 300]);
  assert.equal(read('i8'), [-128, 127]);
  assert.equal(read('u8'), [0, 255]);
  assert.equal(read('f64'), [Math.PI, -1e300]);
  assert.equal(read('i64'), [-(2n ** 62n), 2n ** 40n]);
  assert.equal(read('bool'), [1, 0]);
  assert.equal(Array.from(c.readModelTensor(r.get('f64')!, 'f64')), [Math.fround(Math.PI), -Infinity]);
  assert.throws(() => c.readModelTensor(r.get('i64')!, 'i64'), /tensor "i64": int64 value -4611686018427387904 does not fit in int32/);
  c.close();
});

test('zip64 records everywhere, and unaligned entries (a zip not written by torch) read the same', async () => {
  for (const opts of [{ zip64: 'always' as const }, { align: 0 }]) {
    const path = join(dir, `z-${JSON.stringify(opts).replace(/\W/g, '')}.ckpt`);
    saveTorchCheckpoint(path, new Map<string, SaveValue>([['w', tensorToSave('float32', [3], [1, 2, 3])]]), opts);
    const c = await openTorchCheckpoint(path);
    assert.equal(Array.from(c.readTensor((c.root as Map<string, TorchTensorRef>).get('w')!) as Float32Array), [1, 2, 3]);
    c.close();
  }
});

test('a file saved by path: the archive folder is the file stem', async () => {
  const path = join(dir, 'rect-denoiser-only.pt');
  saveTorchCheckpoint(path, new Map<string, SaveValue>([['w', tensorToSave('float32', [1], [4])]]), { folder: stemFolder(path) });
  const c = await openTorchCheckpoint(path);
  assert.is(c.folder, 'rect-denoiser-only');
  assert.equal(Array.from(c.readTensor((c.root as Map<string, TorchTensorRef>).get('w')!) as Float32Array), [4]);
  c.close();
});

test('a checkpoint without the byteorder record (torch < 1.10) is little-endian', async () => {
  const path = join(dir, 'old.ckpt');
  saveTorchCheckpoint(path, new Map<string, SaveValue>([['w', tensorToSave('float32', [1], [4])]]), { byteorder: null });
  const c = await openTorchCheckpoint(path);
  assert.equal(Array.from(c.readTensor((c.root as Map<string, TorchTensorRef>).get('w')!) as Float32Array), [4]);
  c.close();
});

test('clear errors: legacy format, raw pickle, TorchScript, big-endian, not a zip, empty', async () => {
  const legacy = join(dir, 'legacy.pt');
  writeFileSync(legacy, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
  await rejects(legacy, /legacy PyTorch format \(torch\.save before 1\.6, not a zip\): re-save it with torch >= 1\.6/);
  const raw = join(dir, 'raw.pkl');
  writeFileSync(raw, new PickleWriter().proto().emptyDict().stop().bytes());
  await rejects(raw, /a raw pickle, not a PyTorch zip checkpoint/);
  const script = join(dir, 'script.pt');
  saveTorchCheckpoint(script, new Map(), { extraEntries: [{ name: 'constants.pkl', data: new PickleWriter().proto().emptyTuple().stop().bytes() }] });
  await rejects(script, /a TorchScript archive \(torch\.jit\.save\), not a torch\.save checkpoint/);
  const big = join(dir, 'big.ckpt');
  saveTorchCheckpoint(big, new Map([['w', tensorToSave('float32', [1], [4])]]), { byteorder: 'big' });
  await rejects(big, /a big-endian checkpoint \(byteorder record "big"\)/);
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'hello world');
  await rejects(text, /not a PyTorch zip checkpoint \(starts with 68 65 6c 6c\)/);
  const empty = join(dir, 'empty.ckpt');
  writeFileSync(empty, '');
  await rejects(empty, /empty file/);
  await rejects(join(dir, 'missing.ckpt'), /cannot read .*missing\.ckpt/);
});

test('a truncated file and a corrupt central directory are clear errors', async () => {
  const src = `${CKPT_FIX}/tiny.ckpt`;
  const size = readFileSync(src).length;
  for (const keep of [size - 1, size - 30, Math.floor(size / 2), 100]) {
    const path = join(dir, `trunc-${keep}.ckpt`);
    copyFileSync(src, path);
    truncateSync(path, keep);
    await rejects(path, /not a readable zip archive, truncated or corrupt/);
  }
  const bytes = readFileSync(src);
  const cd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.fill(0x41, cd, cd + 8);
  const corrupt = join(dir, 'corrupt.ckpt');
  writeFileSync(corrupt, bytes);
  await rejects(corrupt, /not a readable zip archive, truncated or corrupt/);
});

test('a storage entry shorter than its tensors need: clear error on read, naming storage and tensor', async () => {
  const w = new PickleWriter().proto().emptyDict().str('w');
  w.global('torch._utils', '_rebuild_tensor_v2').mark().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().binpersid();
  w.int(0).int(2).int(3).tuple(2).int(3).int(1).tuple(2).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce().setitem().stop();
  const path = join(dir, 'short.ckpt');
  saveTorchArchive(path, w.bytes(), new Map([['0', { dtype: 'float32', numel: 6, data: new Uint8Array(16) } satisfies StorageToSave]]));
  const c = await openTorchCheckpoint(path);
  const ref = (c.root as Map<string, TorchTensorRef>).get('w')!;
  assert.throws(() => c.readTensor(ref, 'w'), /storage data\/0 is shorter than its tensors need: 16 bytes, but tensor "w" \(float32 \[2, 3\] at offset 0, strides \[3, 1\]\) needs bytes \[0, 24\)/);
  c.close();
  // A view past the storage's own numel.
  const v = new Map([['v', viewToSave({ dtype: 'float32', numel: 4, data: new Uint8Array(16) }, 2, [3], [1])]]);
  const path2 = join(dir, 'past.ckpt');
  saveTorchCheckpoint(path2, v);
  const c2 = await openTorchCheckpoint(path2);
  assert.throws(() => c2.readTensor((c2.root as Map<string, TorchTensorRef>).get('v')!, 'v'), /tensor "v" .* needs elements \[2, 5\) of storage data\/0, which has 4/);
  c2.close();
});

test('a persistent id naming a storage that is not in the archive', async () => {
  const w = new PickleWriter().proto().mark().str('storage').global('torch', 'FloatStorage').str('9').str('cpu').int(1).tuple().binpersid().stop();
  const path = join(dir, 'nostorage.ckpt');
  saveTorchArchive(path, w.bytes(), new Map());
  await rejects(path, /storage data\/9 is not in the archive/);
  const w2 = new PickleWriter().proto().mark().str('storage').global('torch', 'FloatStorage').str('../x').str('cpu').int(1).tuple().binpersid().stop();
  saveTorchArchive(path, w2.bytes(), new Map());
  await rejects(path, /storage key "\.\.\/x" is not a plain name/);
});

test('tuples in the pickle stay tuples (pyTuple round trip)', async () => {
  const path = join(dir, 'tuple.ckpt');
  saveTorchCheckpoint(path, new Map<string, SaveValue>([['t', pyTuple(1, 'a', null, pyTuple())]]));
  const c = await openTorchCheckpoint(path);
  const t = (c.root as Map<string, PickleValue>).get('t')!;
  assert.ok(isTuple(t));
  assert.equal(t, [1, 'a', null, []]);
  c.close();
});

test.run();
