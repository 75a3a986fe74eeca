import { maxAbsDiff, tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConfig } from '../config/model-config';
import { PRESETS } from '../config/presets';
import { disposeParams, initParams } from '../model/params';
import { pixnerdForward } from '../model/pixnerd';
import { CheckpointError } from '../util/errors';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from './safetensors';
import { assignParams, CHECKPOINT_PREFIX, fromReferenceTensors, toReferenceTensors } from './reference-checkpoint';

const dir = tempDir('pixnerd-ckpt-');

/** Hand-built safetensors bytes with one tensor of the given dtype and raw bytes. */
function handBuilt(dtype: string, shape: number[], bytes: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ t: { dtype, shape, data_offsets: [0, bytes.length] } }));
  const out = new Uint8Array(8 + header.length + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(bytes, 8 + header.length);
  return out;
}

test('F32 / I32 round trip with metadata', () => {
  const f = Float32Array.from([1.5, -2, 3.25, 0, 1e-8, 7]);
  const i = Int32Array.from([3, -1, 10]);
  const path = join(dir, 'rt.safetensors');
  writeSafetensors(path, { a: { shape: [2, 3], data: f }, b: { shape: [3], data: i } }, { step: '12' });
  const r = readSafetensors(path);
  assert.equal(r.metadata, { step: '12' });
  assert.equal([...r.tensors.keys()], ['a', 'b']);
  assert.equal(r.tensors.get('a'), { dtype: 'F32', shape: [2, 3], data: f });
  assert.equal(r.tensors.get('b'), { dtype: 'I32', shape: [3], data: i });
  const bytes = readFileSync(path);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true)); // a Buffer may be a view into a pooled ArrayBuffer
  assert.is((8 + headerLen) % 8, 0, 'data section is 8-byte aligned');
});

test('reads F16, BF16 and I64', () => {
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800 ; BF16: 1.0 = 0x3f80, -3.0 = 0xc040
  const f16 = parseSafetensors(handBuilt('F16', [3], Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38])));
  assert.equal(Array.from(f16.tensors.get('t')!.data), [1, -2, 0.5]);
  const bf16 = parseSafetensors(handBuilt('BF16', [2], Uint8Array.from([0x80, 0x3f, 0x40, 0xc0])));
  assert.equal(Array.from(bf16.tensors.get('t')!.data), [1, -3]);
  const i64 = new Uint8Array(16);
  new DataView(i64.buffer).setBigInt64(0, 7n, true);
  new DataView(i64.buffer).setBigInt64(8, -2n, true);
  const r = parseSafetensors(handBuilt('I64', [2], i64)).tensors.get('t')!;
  assert.ok(r.data instanceof Int32Array);
  assert.equal(Array.from(r.data), [7, -2]);
});

test('corrupt files give errors that name the problem', () => {
  const good = encodeSafetensors({ w: { shape: [4], data: Float32Array.from([1, 2, 3, 4]) } });
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 5), /less than the 8-byte header length/],
    [good.subarray(0, good.length - 4), /truncated: tensor "w" needs bytes \[0, 16\)/],
    [Uint8Array.from([...good.subarray(0, 8), ...new TextEncoder().encode('{"w": nope'.padEnd(Number(new DataView(good.buffer).getBigUint64(0, true)))), ...good.subarray(8 + Number(new DataView(good.buffer).getBigUint64(0, true)))]), /bad header/],
    [handBuilt('F32', [3], new Uint8Array(8)), /holds 8 bytes, but F32 \[3\] needs 12/],
    [handBuilt('Q4', [2], new Uint8Array(2)), /unsupported dtype "Q4"/],
  ];
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 1000n, true);
  cases.push([huge, /header length 1000 exceeds/]);
  for (const [bytes, re] of cases) {
    assert.throws(() => parseSafetensors(bytes, 'f.safetensors'), (e: Error) => e instanceof CheckpointError && re.test(e.message), re.source);
  }
  assert.throws(() => readSafetensors(join(dir, 'absent.safetensors')), /cannot read/);
});

test('save in reference naming, load into a fresh model: identical outputs', () => {
  const cfg = PRESETS['tiny-32/8'];
  const a = initParams(cfg, 1);
  a['final_layer.linear.weight']!.assign(tf.randomNormal([32, 1], 0, 1, 'float32', 9));
  const path = join(dir, 'model.safetensors');
  writeSafetensors(path, toReferenceTensors(cfg, a, CHECKPOINT_PREFIX.ema));
  const file = readSafetensors(path);
  // reference layout: Linear weights are [out, in]
  assert.equal(file.tensors.get('ema_denoiser.blocks.0.mlp.w1.weight')!.shape, [341, 128]);
  const b = initParams(cfg, 2);
  assignParams(b, fromReferenceTensors(cfg, file.tensors, CHECKPOINT_PREFIX.ema));
  const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const t = tf.tensor1d([0.2, 0.9]);
  const y = tf.tensor1d([1, 10], 'int32');
  const va = pixnerdForward(a, cfg, x, t, y).v.dataSync();
  const vb = pixnerdForward(b, cfg, x, t, y).v.dataSync();
  assert.ok(maxAbsDiff(va, new Float32Array(va.length)) > 0);
  assert.is(maxAbsDiff(va, vb), 0);
  disposeParams(a);
  disposeParams(b);
});

test('mismatched checkpoints list the missing, unexpected and mis-shaped tensors', () => {
  const cfg = PRESETS['tiny-32/8'];
  const params = initParams(cfg, 0);
  const tensors = toReferenceTensors(cfg, params);
  disposeParams(params);
  const file = parseSafetensors(encodeSafetensors(tensors));
  // wrong model: the linear head has other tensors
  const lin = createConfig({ head: { kind: 'linear' } }, cfg);
  assert.throws(() => fromReferenceTensors(lin, file.tensors), (e: Error) =>
    e instanceof CheckpointError && /missing 2: final_layer.adaLN_modulation.0.weight/.test(e.message) && /unexpected .*x_embedder/.test(e.message) && /wrong shape .*final_layer.linear.weight/.test(e.message));
  // wrong width
  const wide = createConfig({ hiddenSize: 256 }, cfg);
  assert.throws(() => fromReferenceTensors(wide, file.tensors), /wrong shape \d+: s_embedder.proj.weight: file \[128, 64\] vs model \[256, 64\]/);
  // a prefixed training checkpoint loaded without its prefix
  const prefixed = parseSafetensors(encodeSafetensors(toReferenceTensors(cfg, initParams(cfg, 0), 'denoiser.')));
  assert.throws(() => fromReferenceTensors(cfg, prefixed.tensors), /pass that prefix/);
});

test.run();
