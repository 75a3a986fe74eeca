/**
 * The CLI on pretrained weights (issue 14): forward on a .ckpt, a diffusers folder and a converted
 * file; convert; sample --weights.
 */
import { maxAbs, maxAbsDiff, tempDir } from '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../checkpoint/safetensors';
import { registerModelCommands } from './model-commands';
import { registerSampleCommand } from './sample-command';

const REF = 'test/fixtures/reference';
const TINY_CKPT = '../shared/fixtures/checkpoints/tiny.ckpt';
/** The tolerance of the safetensors forward test (cli/pixnerd.test.ts). */
const PARITY_TOL = 1e-4;
const dir = tempDir('pixnerd-weights-cli-');

/** Runs the CLI in a child process, as `npm run pixnerd` does (stderr carries the progress lines). */
function spawnCli(...args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'kernel-lib/cli/pixnerd.ts', ...args], { encoding: 'utf8', env: { ...process.env, PIXNERD_BACKEND: 'wasm' } });
  assert.is(r.status, 0, `pixnerd ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The same commands in this process (a child costs seconds on 2 cores): what they print. */
async function cli(...args: string[]): Promise<{ stdout: string }> {
  const program = new Command('pixnerd').exitOverride();
  registerModelCommands(program);
  registerSampleCommand(program);
  let stdout = '';
  let stderr = '';
  for (const c of [program, ...program.commands]) c.exitOverride().configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  const log = console.log;
  console.log = (...a: unknown[]) => void (stdout += a.join(' ') + '\n');
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    throw new Error(`${(e as Error).message}${stderr ? `\n${stderr}` : ''}`);
  } finally {
    console.log = log;
  }
  return { stdout };
}
/** A command that must fail: its message. */
async function cliError(...args: string[]): Promise<string> {
  try {
    await cli(...args);
  } catch (e) {
    return (e as Error).message;
  }
  assert.unreachable(`accepted: pixnerd ${args.join(' ')}`);
  return '';
}

const meta = JSON.parse(readFileSync(`${REF}/tiny.json`, 'utf8'));
const config = join(dir, 'tiny.json');
writeFileSync(config, JSON.stringify({ ...meta.model_config, image_size: 32 }));
const reference = readSafetensors(`${REF}/tiny.io.safetensors`).tensors.get('out')!.data;

let outputs = 0;
/** forward's v for the tiny inputs from `weights` (+ extra args); `spawn`: in a child process. */
async function forward(weights: string, extra: string[] = [], spawn = false): Promise<{ v: Float32Array; log: string }> {
  const out = join(dir, `v-${outputs++}.safetensors`);
  const args = ['forward', '--weights', weights, '--inputs', `${REF}/tiny.io.safetensors`, '--out', out, ...extra];
  const { stdout } = spawn ? spawnCli(...args) : await cli(...args);
  const v = readSafetensors(out).tensors.get('v')!;
  assert.equal(v.shape, [2, 3, 32, 32]);
  return { v: v.data as Float32Array, log: stdout };
}
const relErr = (v: ArrayLike<number>) => maxAbsDiff(v, reference) / maxAbs(reference);

let ckptV: Float32Array;
let onlineV: Float32Array;

test('forward on tiny.ckpt (ema_denoiser.* by default) reproduces tiny.io.safetensors, with or without --config', async () => {
  const r = await forward(TINY_CKPT, ['--config', config], true);
  assert.ok(relErr(r.v) < PARITY_TOL, `relative error ${relErr(r.v)}`);
  assert.match(r.log, /tiny\.ckpt: using 51 tensors under "ema_denoiser\."[^\n]*; ignored: denoiser\.\* \(51 tensors\), diffusion_trainer\.\* \(\d+ tensors\), epoch, global_step, pytorch-lightning_version, loops, optimizer_states, lr_schedulers\n/);
  assert.match(r.log, /forward: 2 image\(s\) 32x32/);
  ckptV = r.v;
  const inferred = await forward(TINY_CKPT);
  assert.equal(inferred.v, ckptV, 'the config read off the shapes is the same model');
});

test('forward --prefix denoiser. uses the online weights: another output', async () => {
  const r = await forward(TINY_CKPT, ['--config', config, '--prefix', 'denoiser.']);
  assert.match(r.log, /using 51 tensors under "denoiser\."[^\n]*ignored: ema_denoiser\.\* \(51 tensors\)/);
  assert.ok(relErr(r.v) > 1e-2, `the online weights gave the EMA output (relative difference ${relErr(r.v)})`);
  onlineV = r.v;
  assert.match(await cliError('forward', '--weights', TINY_CKPT, '--inputs', `${REF}/tiny.io.safetensors`, '--out', join(dir, 'x.safetensors'), '--prefix', 'model.'), /no tensors under prefix "model\." \(the state dict has denoiser\.\* \(51 tensors\), ema_denoiser\.\* \(51 tensors\)/);
});

test('forward on a diffusers folder (transformer/config.json + safetensors under both prefixes)', async () => {
  const folder = join(dir, 'PixNerd-tiny-diffusers');
  mkdirSync(join(folder, 'transformer'), { recursive: true });
  const both = new Map<string, SafeTensor>();
  for (const [k, t] of readSafetensors(`${REF}/tiny.weights.safetensors`).tensors) {
    both.set(`denoiser.${k}`, { ...t, data: (t.data as Float32Array).map((x) => x * 0.5) });
    both.set(`ema_denoiser.${k}`, t);
  }
  writeSafetensors(join(folder, 'transformer', 'diffusion_pytorch_model.safetensors'), both as Map<string, { shape: number[]; data: Float32Array }>);
  writeFileSync(join(folder, 'transformer', 'config.json'), JSON.stringify({ _class_name: 'PixNerDiT', ...meta.model_config, learn_sigma: false, use_ema: true }));
  const r = await forward(folder);
  assert.ok(relErr(r.v) < PARITY_TOL, `relative error ${relErr(r.v)}`);
  assert.match(r.log, /using 51 tensors under "ema_denoiser\."/);
});

test('convert tiny.ckpt: one summary line, then forward on the converted file gives the same output', async () => {
  const out = join(dir, 'tiny-ema.safetensors');
  const { stdout } = await cli('convert', '--weights', TINY_CKPT, '--out', out);
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^\.\.\/shared\/fixtures\/checkpoints\/tiny\.ckpt: using 51 tensors under "ema_denoiser\." \(F32, [\d.]+ MB as float32\); ignored: denoiser\.\* \(51 tensors\), diffusion_trainer\.\* \(\d+ tensors\), epoch, global_step, pytorch-lightning_version, loops, optimizer_states, lr_schedulers$/);
  assert.match(lines[1]!, /^convert: 51 tensors \(PixNerd: 64 wide, 3 blocks, patch 16, 10 classes\) -> .*tiny-ema\.safetensors \([\d.]+ MB\) in [\d.]+ s$/);
  const file = readSafetensors(out);
  assert.is(file.tensors.size, 51);
  assert.ok(file.tensors.has('blocks.0.attn.qkv.weight'), 'bare reference names');
  assert.equal(file.metadata?.prefix, 'ema_denoiser.');
  const r = await forward(out, ['--config', config]);
  assert.equal(r.v, ckptV);
  assert.match(r.log, /using 51 tensors with bare reference names/);
  const online = join(dir, 'tiny-online.safetensors');
  await cli('convert', '--weights', TINY_CKPT, '--out', online, '--prefix', 'denoiser.');
  assert.equal((await forward(online, ['--config', config])).v, onlineV);
});

test('convert refuses to overwrite without --force; the existing file is left as it was', async () => {
  const out = join(dir, 'keep.safetensors');
  writeFileSync(out, 'precious');
  assert.match(await cliError('convert', '--weights', TINY_CKPT, '--out', out), /keep\.safetensors exists: pass --force to replace it, or choose another --out/);
  assert.is(readFileSync(out, 'utf8'), 'precious');
  assert.match(await cliError('convert', '--weights', out, '--out', out, '--force'), /is the --weights file itself/);
  assert.match(await cliError('convert', '--weights', TINY_CKPT, '--out', join(dir, 'x.bin')), /the output is a \.safetensors file/);
  // a failed conversion leaves the old file: the new one is written to a temp file first
  assert.match(await cliError('convert', '--weights', TINY_CKPT, '--out', out, '--force', '--prefix', 'nothing.'), /no tensors under prefix "nothing\."/);
  assert.is(readFileSync(out, 'utf8'), 'precious');
  await cli('convert', '--weights', TINY_CKPT, '--out', out, '--force');
  assert.is(readSafetensors(out).tensors.size, 51);
});

test('sample --weights tiny.ckpt: a labelled PNG grid, progress with s/step and ETA', async () => {
  const png = join(dir, 'figures', 'tiny-grid.png');
  const { stdout, stderr } = spawnCli('sample', '--weights', TINY_CKPT, '--native-size', '32', '--classes', '0,9', '--per-class', '3', '--steps', '3', '--cfg', '4', '--interval', '0.1,1', '--out', png);
  assert.match(stderr, /sample 6 images 3\/3 100\.0% \| s\/step [\d.e-]+ \| [\d.]+ it\/s \| \d\d:\d\d \| ETA 00:00/);
  assert.match(stdout, /model: 64 wide, 3 blocks, patch 16, 10 classes; native 32 px, as given/);
  assert.match(stdout, /classes: 0, 9; 32 px; median [\d.]+ s\/step \(forward batch 12\)/);
  assert.match(stdout, /sampled 6 images \(euler, 3 steps, cfg 4\)/);
  const sharp = (await import('sharp')).default;
  const m = await sharp(png).metadata();
  assert.ok(m.width! > 3 * 96 && m.height! > 2 * 96, `${m.width}x${m.height}`);
});

test('sample --weights: raw images at another size; refused classes and flags', async () => {
  const out = join(dir, 'tiny-64.safetensors');
  const args = ['sample', '--weights', TINY_CKPT, '--native-size', '32', '--classes', '3', '--per-class', '2', '--steps', '2', '--size', '64', '--seed', '7', '--out', out];
  const r = await cli(...args);
  assert.match(r.stdout, /64 px \(trunk at the native 32 px, the field decoding 32 px per token\)/);
  const f = readSafetensors(out);
  assert.equal(f.tensors.get('images')!.shape, [2, 64, 64, 3]);
  assert.equal(Array.from(f.tensors.get('labels')!.data), [3, 3]);
  assert.is(f.metadata?.weights, TINY_CKPT);
  const png = join(dir, 'never.png');
  assert.match(await cliError('sample', '--weights', TINY_CKPT, '--classes', '0,12', '--out', png), /class 12 is out of range: this model has 10 classes, ids 0\.\.9/);
  assert.match(await cliError('sample', '--weights', TINY_CKPT, '--classes', 'golden retriever', '--out', png), /class "golden retriever" is not an id, and this model's classes have no names: give ids 0\.\.9/);
  assert.match(await cliError('sample', '--weights', TINY_CKPT, '--native-size', '32', '--size', '33', '--classes', '1', '--out', png), /size 33 px: the neural field decodes the 2 x 2 token grid of the native 32 px model, so the size must be a multiple of 2/);
  assert.match(await cliError('sample', '--run', dir, '--weights', TINY_CKPT, '--out', png), /--weights with --run is ema or model/);
  assert.match(await cliError('sample', '--out', png), /give --run <dir> \(a run directory\) or --weights <file\|dir> \(a checkpoint\)/);
  assert.match(await cliError('sample', '--weights', TINY_CKPT, '--size', '64', '--scale', '2', '--out', png), /give --size or --scale, not both/);
  assert.match(await cliError('sample', '--weights', TINY_CKPT, '--classes', '1,,2', '--out', png), /--classes <list>' argument '1,,2' is invalid\. class list "1,,2": item 2 is empty/);
  assert.throws(() => statSync(png), /ENOENT/, 'nothing written');
});

test.run();
