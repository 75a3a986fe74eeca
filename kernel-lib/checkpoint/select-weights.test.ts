import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectWeights } from './select-weights';
import type { LazyTensor } from './tensor-entry';

const t = (n: number, dtype: LazyTensor['dtype'] = 'F32'): LazyTensor => ({ dtype, shape: [n], read: () => { throw new Error('read'); } });
const sd = (keys: string[]) => new Map(keys.map((k) => [k, t(250_000)]));

test('default order: ema_denoiser., then denoiser., then bare names; nothing is read', () => {
  const all = sd(['denoiser.a', 'denoiser.b', 'ema_denoiser.a', 'ema_denoiser.b', 'diffusion_trainer.proj.0.weight']);
  const s = selectWeights(all, { source: 'x.ckpt', ignoredTopLevel: ['loops', 'optimizer_states'] });
  assert.is(s.prefix, 'ema_denoiser.');
  assert.equal([...s.tensors.keys()], ['a', 'b']);
  assert.is(s.summary, 'x.ckpt: using 2 tensors under "ema_denoiser." (F32, 2.00 MB as float32); ignored: denoiser.* (2 tensors), diffusion_trainer.* (1 tensor), loops, optimizer_states');
  assert.is(selectWeights(sd(['denoiser.a', 'diffusion_trainer.p'])).prefix, 'denoiser.');
  const bare = selectWeights(sd(['blocks.0.w', 'diffusion_trainer.p']));
  assert.is(bare.prefix, '');
  assert.equal([...bare.tensors.keys()], ['blocks.0.w']);
  assert.match(bare.summary, /with bare reference names .* ignored: diffusion_trainer\.\* \(1 tensor\)$/);
});

test('explicit prefix; mixed dtypes are counted; no weights is an error listing the groups', () => {
  const mixed = new Map([['denoiser.a', t(4000, 'BF16')], ['denoiser.b', t(4000, 'BF16')], ['ema_denoiser.a', t(4)]]);
  const s = selectWeights(mixed, { prefix: 'denoiser.' });
  assert.match(s.summary, /\(BF16, 32\.0 kB as float32\); ignored: ema_denoiser\.\* \(1 tensor\)$/);
  assert.throws(() => selectWeights(mixed, { prefix: 'x.' }), /no tensors under prefix "x\." \(the state dict has denoiser\.\* \(2 tensors\), ema_denoiser\.\* \(1 tensor\)\)/);
  assert.throws(() => selectWeights(sd(['diffusion_trainer.p'])), /no model weights \(the state dict has diffusion_trainer\.\* \(1 tensor\)\)/);
});

test.run();
