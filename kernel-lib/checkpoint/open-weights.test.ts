import { maxAbs, maxAbsDiff, tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveModelConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { disposeParams } from '../model/params';
import { pixnerdForward } from '../model/pixnerd';
import { CheckpointError } from '../util/errors';
import { openWeights, weightsConfig, type OpenedWeights } from './open-weights';
import { referenceParams } from './reference-checkpoint';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors';
import { writeSafetensorsStreamed } from './safetensors-stream';
import { entryData } from './tensor-entry';
import { saveTorchCheckpoint, stemFolder, tensorToSave, type SaveValue, type StorageToSave } from './torch-save';
import type { TorchDType } from './torch-dtypes';

const REF = 'test/fixtures/reference';
const CKPT_FIX = '../shared/fixtures/checkpoints';
const dir = tempDir('pixnerd-weights-');
/** The tolerance of the safetensors-path parity test (model/pixnerd.test.ts, cli/pixnerd.test.ts). */
const PARITY_TOL = 1e-4;

const meta = JSON.parse(readFileSync(`${REF}/tiny.json`, 'utf8'));
const TINY_CFG: ModelConfig = resolveModelConfig({ ...meta.model_config, image_size: meta.image_size[0] });
const tinyWeights = readSafetensors(`${REF}/tiny.weights.safetensors`).tensors;
const io = readSafetensors(`${REF}/tiny.io.safetensors`).tensors;

/** The reference forward on tiny.io's inputs; relative error against its output. */
function parityError(cfg: ModelConfig, w: OpenedWeights): number {
  const params = referenceParams(cfg, w.tensors, '', w.path);
  const err = tf.tidy(() => {
    const nchw = (k: string) => tf.tensor(io.get(k)!.data, io.get(k)!.shape).transpose([0, 2, 3, 1]) as tf.Tensor4D;
    const out = pixnerdForward(params, cfg, nchw('x'), tf.tensor1d(io.get('t')!.data as Float32Array), tf.tensor1d(io.get('y')!.data as Int32Array, 'int32'));
    const ref = nchw('out').dataSync();
    return maxAbsDiff(out.v.dataSync(), ref) / maxAbs(ref);
  });
  disposeParams(params);
  return err;
}

/** tiny's weights as tensors to save, under `prefix`, as `dtype`. */
function tinyStateDict(prefix: string, dtype: TorchDType = 'float32', scale = 1): Map<string, SaveValue> {
  return new Map([...tinyWeights].map(([k, t]) => [prefix + k, tensorToSave(dtype, t.shape, Array.from(t.data, (v) => v * scale))]));
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, CheckpointError, String(e));
    assert.match((e as Error).message, re);
  }
}

test('tiny.ckpt: ema_denoiser.* by default, config read off the shapes, forward reproduces tiny.io.safetensors', async () => {
  const w = await openWeights(`${CKPT_FIX}/tiny.ckpt`);
  assert.is(w.format, 'torch-zip');
  assert.is(w.prefix, 'ema_denoiser.');
  assert.is(w.tensors.size, tinyWeights.size);
  assert.match(w.summary, /using \d+ tensors under "ema_denoiser\." \(F32, [\d.]+ MB as float32\); ignored: denoiser\.\* \(\d+ tensors\), diffusion_trainer\.\* \(\d+ tensors\), epoch, global_step, pytorch-lightning_version, loops, optimizer_states, lr_schedulers$/);
  assert.not.match(w.summary, /\n/);
  for (const [k, t] of tinyWeights) assert.equal(entryData(w.tensors.get(k)!), t.data, `${k} equals tiny.weights.safetensors`);
  const cfg = weightsConfig(w, undefined, { imageSize: 32 });
  assert.equal(cfg, TINY_CFG, 'inferred config = tiny.json');
  const err = parityError(cfg, w);
  assert.ok(err < PARITY_TOL, `relative error ${err}`);
  w.close();
});

test('tiny.ckpt --prefix denoiser.: the online weights (different values, same names)', async () => {
  const w = await openWeights(`${CKPT_FIX}/tiny.ckpt`, { prefix: 'denoiser.' });
  assert.is(w.prefix, 'denoiser.');
  assert.match(w.summary, /ignored: ema_denoiser\.\* \(\d+ tensors\), diffusion_trainer\.\*/);
  const name = 'blocks.0.attn.qkv.weight';
  assert.equal(w.tensors.get(name)!.shape, tinyWeights.get(name)!.shape);
  assert.ok(maxAbsDiff(entryData(w.tensors.get(name)!), tinyWeights.get(name)!.data) > 0, 'denoiser.* differ from ema_denoiser.*');
  w.close();
  await rejects(openWeights(`${CKPT_FIX}/tiny.ckpt`, { prefix: 'model.' }), /no tensors under prefix "model\." \(the state dict has denoiser\.\* \(\d+ tensors\), ema_denoiser\.\* \(\d+ tensors\), diffusion_trainer\.\* \(\d+ tensors\)\)/);
});

test('a given config that disagrees with the shapes names the first mismatch', async () => {
  const w = await openWeights(`${CKPT_FIX}/tiny.ckpt`);
  assert.is(weightsConfig(w, TINY_CFG), TINY_CFG);
  const wrong = resolveModelConfig({ ...meta.model_config, image_size: 32, hidden_size: 128, num_classes: 5 });
  assert.throws(() => weightsConfig(w, wrong), /config disagrees with .*tiny\.ckpt: hiddenSize is 128 in the config but 64 in the weights \(t_embedder\.mlp\.0\.weight \[64, 256\]\)/);
  const wrongK = resolveModelConfig({ ...meta.model_config, image_size: 32, num_classes: 5 });
  assert.throws(() => weightsConfig(w, wrongK), /numClasses is 5 in the config but 10 in the weights \(y_embedder\.embedding_table\.weight \[11, 64\]: K \+ 1 rows\)/);
  w.close();
});

test('unused subtrees are never read: corrupt optimizer and denoiser storages do not matter', async () => {
  const broken = (s: SaveValue): SaveValue => {
    const t = s as { storage: StorageToSave };
    return { ...(s as object), storage: { ...t.storage, data: new Uint8Array(4) } } as SaveValue; // far shorter than needed
  };
  const sd = new Map<string, SaveValue>([...tinyStateDict('ema_denoiser.'), ...[...tinyStateDict('denoiser.')].map(([k, v]): [string, SaveValue] => [k, broken(v)])]);
  const optim = new Map<string, SaveValue>([['state', new Map<number, SaveValue>([[0, new Map([['exp_avg', broken(tensorToSave('float32', [1000], new Float32Array(1000)))]])]])]]);
  const path = join(dir, 'lazy.ckpt');
  saveTorchCheckpoint(path, new Map<string, SaveValue>([['state_dict', sd], ['optimizer_states', [optim]]]));
  const w = await openWeights(path);
  assert.ok(parityError(weightsConfig(w, undefined, { imageSize: 32 }), w) < PARITY_TOL);
  w.close();
  await rejects(openWeights(path, { prefix: 'denoiser.' }), /storage data\/\d+ is shorter than its tensors need: 4 bytes, but tensor "denoiser\./);
});

test('a denoiser-only file saved by path (folder = stem), and one with bare reference names', async () => {
  const path = join(dir, 'rect-denoiser-only.pt');
  saveTorchCheckpoint(path, tinyStateDict('denoiser.'), { folder: stemFolder(path) });
  const w = await openWeights(path);
  assert.is(w.prefix, 'denoiser.');
  assert.match(w.summary, /ignored: nothing$/);
  assert.ok(parityError(weightsConfig(w, undefined, { imageSize: 32 }), w) < PARITY_TOL);
  w.close();
  const bare = join(dir, 'bare.pth');
  saveTorchCheckpoint(bare, tinyStateDict(''), { folder: stemFolder(bare) });
  const wb = await openWeights(bare);
  assert.is(wb.prefix, '');
  assert.ok(parityError(weightsConfig(wb, TINY_CFG), wb) < PARITY_TOL);
  wb.close();
});

test('float16 and bfloat16 weights are widened to float32 exactly and still give the reference output closely', async () => {
  for (const [dtype, tol] of [['float16', 2e-3], ['bfloat16', 2e-2]] as const) {
    const path = join(dir, `${dtype}.ckpt`);
    saveTorchCheckpoint(path, new Map([['state_dict', tinyStateDict('ema_denoiser.', dtype)]]));
    const w = await openWeights(path);
    assert.match(w.summary, dtype === 'float16' ? /\(F16,/ : /\(BF16,/);
    const name = 'blocks.0.attn.qkv.weight';
    const got = entryData(w.tensors.get(name)!);
    assert.instance(got, Float32Array);
    const src = tinyWeights.get(name)!.data;
    const relStep = dtype === 'float16' ? 2 ** -11 : 2 ** -8; // half a unit in the last place
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - src[i]!) <= Math.abs(src[i]!) * relStep + 1e-7, `${dtype} rounding at ${i}`);
    const err = parityError(weightsConfig(w, undefined, { imageSize: 32 }), w);
    assert.ok(err < tol, `${dtype}: relative error ${err}`);
    w.close();
  }
});

test('a diffusers folder loads the same way, with its config.json (checked against the shapes)', async () => {
  const folder = join(dir, 'PixNerd-tiny-diffusers');
  mkdirSync(join(folder, 'transformer'), { recursive: true });
  const both = new Map<string, SafeTensor>();
  for (const [k, t] of tinyWeights) both.set(`denoiser.${k}`, { ...t, data: t.data.map((v) => v * 2) as Float32Array });
  for (const [k, t] of tinyWeights) both.set(`ema_denoiser.${k}`, t);
  writeSafetensors(join(folder, 'transformer', 'diffusion_pytorch_model.safetensors'), both as Map<string, { shape: number[]; data: Float32Array }>);
  const config = { _class_name: 'PixNerDiT', _diffusers_version: '0.35.0', ...meta.model_config, learn_sigma: false, use_ema: true };
  writeFileSync(join(folder, 'transformer', 'config.json'), JSON.stringify(config));
  const w = await openWeights(folder);
  assert.is(w.format, 'diffusers');
  assert.is(w.prefix, 'ema_denoiser.');
  const cfg = weightsConfig(w, undefined, { imageSize: 32 });
  assert.equal(cfg, TINY_CFG);
  assert.ok(parityError(cfg, w) < PARITY_TOL);
  w.close();
  writeFileSync(join(folder, 'transformer', 'config.json'), JSON.stringify({ ...config, hidden_size_x: 32 }));
  const w2 = await openWeights(folder);
  assert.throws(() => weightsConfig(w2), /config disagrees with .*: head\.width is 32 in the config but 16 in the weights/);
  w2.close();
  await rejects(openWeights(join(dir)), /not a diffusers export \(no transformer\/config\.json\)/);
});

test('a safetensors file opens lazily through the same entry point', async () => {
  const w = await openWeights(`${REF}/tiny.weights.safetensors`);
  assert.is(w.format, 'safetensors');
  assert.is(w.prefix, '');
  assert.ok(parityError(weightsConfig(w, undefined, { imageSize: 32 }), w) < PARITY_TOL);
  w.close();
  assert.throws(() => entryData(w.tensors.get('blocks.0.attn.qkv.weight')!), /read after close/);
});

test('convert: the chosen weights streamed to a reference-named safetensors file equal the reference weights', async () => {
  const w = await openWeights(`${CKPT_FIX}/tiny.ckpt`);
  const out = join(dir, 'tiny-converted.safetensors');
  writeSafetensorsStreamed(out, w.tensors, { source: 'tiny.ckpt', prefix: w.prefix });
  w.close();
  const back = readSafetensors(out);
  assert.equal(back.metadata, { source: 'tiny.ckpt', prefix: 'ema_denoiser.' });
  assert.equal([...back.tensors.keys()].sort(), [...tinyWeights.keys()].sort());
  for (const [k, t] of tinyWeights) assert.equal(back.tensors.get(k)!.data, t.data, k);
});

test.run();
