import { maxAbs, maxAbsDiff, tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../checkpoint/safetensors';
import { nativeBf16Support } from '../backend/native-matmul';

const FIX = 'test/fixtures/reference';
const dir = tempDir('pixnerd-cli-');
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'kernel-lib/cli/pixnerd.ts', ...args], { encoding: 'utf8', env: { ...process.env, PIXNERD_BACKEND: 'wasm' }, stdio: ['ignore', 'pipe', 'pipe'] });

test('forward: reference config, weights and NCHW inputs reproduce the reference output', () => {
  const meta = JSON.parse(readFileSync(`${FIX}/tiny.json`, 'utf8'));
  const config = join(dir, 'tiny.json');
  writeFileSync(config, JSON.stringify({ ...meta.model_config, image_size: 32 }));
  const out = join(dir, 'out.safetensors');
  const log = cli('forward', '--config', config, '--weights', `${FIX}/tiny.weights.safetensors`, '--inputs', `${FIX}/tiny.io.safetensors`, '--out', out);
  assert.match(log, /forward: 2 image\(s\) 32x32/);
  const v = readSafetensors(out).tensors.get('v')!;
  assert.equal(v.shape, [2, 3, 32, 32]);
  const ref = readSafetensors(`${FIX}/tiny.io.safetensors`).tensors.get('out')!.data;
  assert.ok(maxAbsDiff(v.data, ref) / maxAbs(ref) < 1e-4);
});

test('forward: a bad label is a clear error', () => {
  const meta = JSON.parse(readFileSync(`${FIX}/tiny.json`, 'utf8'));
  const config = join(dir, 'tiny10.json');
  writeFileSync(config, JSON.stringify({ ...meta.model_config, image_size: 32, num_classes: 5 }));
  try {
    cli('forward', '--config', config, '--weights', `${FIX}/tiny.weights.safetensors`, '--inputs', `${FIX}/tiny.io.safetensors`, '--out', join(dir, 'o.safetensors'));
    assert.unreachable('accepted a 10-class checkpoint for a 5-class config');
  } catch (e) {
    assert.match(String((e as { stderr: string }).stderr), /wrong shape 1: y_embedder.embedding_table.weight: file \[11, 64\] vs model \[6, 64\]/);
  }
});

test('build: the reference XL/16 preset builds in memory with all 700,589,219 parameters (~2.8 GB)', () => {
  const line = cli('build', '--preset', 'PixNerd-XL/16').trim().split('\n').pop()!;
  const r = JSON.parse(line);
  assert.is(r.parameters, 700_589_219);
  assert.is(r.bytes, 4 * 700_589_219);
});

test('info lists every preset', () => {
  const out = cli('info');
  for (const name of ['PixNerd-L/16', 'PixNerd-XL/16', 'tiny-32/8', 'bench-S']) assert.match(out, name);
  assert.match(out, /452\.11 M params/);
});

test('train then sample: a run directory, a resumable checkpoint and a labelled PNG grid', async () => {
  const exp = join(dir, 'exp.json');
  writeFileSync(exp, JSON.stringify({
    model: { preset: 'tiny-32/8', hiddenSize: 32, numHeads: 2, depth: 1, head: { width: 8, blocks: 1 } },
    train: { steps: 3, batchSize: 4, logEvery: 1, checkpointEvery: 2 },
    data: { dataset: 'mnist', imageSize: 32 },
  }));
  const run = join(dir, 'run');
  cli('train', '--config', exp, '--run', run);
  assert.is(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 3);
  const again = cli('train', '--config', exp, '--run', run, '--resume', '--steps', '5');
  assert.match(again, /\(resume\)/);
  assert.is(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 5);
  const png = join(dir, 'grid.png');
  cli('sample', '--run', run, '--classes', '0,7', '--per-class', '3', '--steps', '2', '--cfg', '2', '--out', png);
  const sharp = (await import('sharp')).default;
  const meta = await sharp(png).metadata();
  assert.ok(meta.width! > 3 * 32 && meta.height! > 2 * 32, `${meta.width}x${meta.height}`);
  // --precision bf16: bf16 where this machine supports it, else fp32 (and one stderr line saying why)
  const st = join(dir, 'bf16.safetensors');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'kernel-lib/cli/pixnerd.ts', 'sample', '--run', run, '--classes', '3', '--per-class', '2', '--steps', '2', '--cfg', '2', '--precision', 'bf16', '--out', st], { encoding: 'utf8', env: { ...process.env, PIXNERD_BACKEND: 'wasm' } });
  assert.is(r.status, 0, r.stderr);
  const ran = nativeBf16Support().available ? 'bf16' : 'fp32';
  assert.is(readSafetensors(st).metadata.precision, ran);
  if (ran === 'bf16') assert.match(r.stdout, /matMul precision: bf16 products, fp32 sums/);
  else assert.match(r.stderr, /bf16 matMuls unavailable: missing .+; running fp32/);
});

const COMMANDS = ['info', 'build', 'forward', 'convert', 'train', 'demo', 'sample', 'evaluate', 'experiment', 'sampler-sweep', 'train-classifier', 'fid-baseline'];

test('every command answers --help with its usage, options with defaults, and an example', () => {
  const top = cli('--help');
  for (const c of COMMANDS) assert.match(top, new RegExp(`\\b${c}\\b`), `top-level help lists ${c}`);
  for (const c of COMMANDS) {
    const h = cli(c, '--help');
    assert.match(h, new RegExp(`Usage: pixnerd ${c}`), `${c} --help: ${h}`);
    assert.match(h, /Example/, `${c} --help has an example`);
  }
  assert.match(cli('sample', '--help'), /--steps <n>\s+sampling steps \(default: 50\)/);
  for (const c of ['sample', 'evaluate']) assert.match(cli(c, '--help'), /--precision <p>[^]*PIXNERD_PRECISION[^]*choices:\s+"fp32",\s+"bf16"/, `${c} --help: --precision`);
});

test('an unknown option is refused with the valid ones listed; a bad number names the option', () => {
  const err = (...args: string[]) => {
    try {
      cli(...args);
    } catch (e) {
      return String((e as { stderr: string }).stderr);
    }
    assert.unreachable(`accepted: ${args.join(' ')}`);
    return '';
  };
  const e1 = err('sample', '--run', 'x', '--out', 'y.png', '--bogus');
  assert.match(e1, /unknown option '--bogus'/);
  assert.match(e1, /--per-class <n>/);
  assert.match(err('sample', '--run', 'x', '--out', 'y.png', '--steps', 'ten'), /--steps <n>' argument 'ten' is invalid/);
  assert.match(err('sample', '--run', 'x', '--out', 'y.png', '--sampler', 'ddim'), /Allowed choices are euler, heun, adams/);
  assert.match(err('evaluate', '--run', 'x', '--precision', 'fp16'), /--precision <p>' argument 'fp16' is invalid. Allowed choices are fp32, bf16/);
});

test.run();
