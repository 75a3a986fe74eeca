import { tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from './lazy-safetensors';
import { encodeSafetensors, readSafetensors } from './safetensors';

const dir = tempDir('pixnerd-lazy-st-');

/** Hand-built safetensors bytes with the given tensors (dtype, shape, raw bytes). */
function handBuilt(tensors: Record<string, [string, number[], Uint8Array]>): Uint8Array {
  let off = 0;
  const header: Record<string, unknown> = {};
  for (const [k, [dtype, shape, b]] of Object.entries(tensors)) {
    header[k] = { dtype, shape, data_offsets: [off, off + b.length] };
    off += b.length;
  }
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let p = 8 + h.length;
  for (const [, , b] of Object.values(tensors)) out.set(b, (p += b.length) - b.length);
  return out;
}

test('lazy reads equal the eager reader for every dtype (F16, BF16, F64, I64, U8, BOOL)', () => {
  const b = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const path = join(dir, 'dtypes.safetensors');
  writeFileSync(path, handBuilt({
    h: ['F16', [2], b(new Uint16Array([0x3c00, 0xc000]))],
    bf: ['BF16', [2], b(new Uint16Array([0x3fc0, 0xbf80]))],
    d: ['F64', [1], b(new Float64Array([0.1]))],
    l: ['I64', [2], b(new BigInt64Array([-3n, 7n]))],
    u: ['U8', [2], Uint8Array.from([0, 255])],
    z: ['BOOL', [0], new Uint8Array(0)],
  }));
  const lazy = openSafetensors(path);
  const eager = readSafetensors(path).tensors;
  for (const [k, t] of lazy.tensors) {
    assert.equal(t.shape, eager.get(k)!.shape, k);
    assert.equal(t.read(), eager.get(k)!.data, k);
  }
  assert.equal(Array.from(lazy.tensors.get('h')!.read()), [1, -2]);
  assert.equal(Array.from(lazy.tensors.get('bf')!.read()), [1.5, -1]);
  lazy.close();
});

test('a truncated file or a bad header is a clear error before any tensor is read', () => {
  const path = join(dir, 't.safetensors');
  writeFileSync(path, encodeSafetensors({ a: { shape: [1000], data: new Float32Array(1000) } }));
  truncateSync(path, 2000);
  assert.throws(() => openSafetensors(path), /truncated: tensor "a" needs bytes \[0, 4000\)/);
  writeFileSync(path, Uint8Array.from([4, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b, 0x7b, 0x7b]));
  assert.throws(() => openSafetensors(path), /bad header \(not JSON/);
  writeFileSync(path, Uint8Array.from([1, 2, 3]));
  assert.throws(() => openSafetensors(path), /truncated \(3 bytes, less than the 8-byte header length\)/);
});

test.run();
