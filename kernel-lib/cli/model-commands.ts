/**
 * Model commands: `info` (backend line and presets), `build` (a preset in memory), `forward`
 * (one forward pass in the reference NCHW layout) and `convert` (any weights file to a
 * reference-named safetensors file).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend-ladder';
import { PRESETS, PRESET_NAMES, getPreset, resolveModelConfig } from '../config/presets';
import { describeConfig } from '../config/describe-config';
import { disposeParams, initParams, parameterCount } from '../model/params';
import { referenceForward } from '../model/reference-io';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import { referenceParams } from '../checkpoint/reference-checkpoint';
import { openWeights, weightsConfig } from '../checkpoint/open-weights';
import { writeSafetensorsStreamed } from '../checkpoint/safetensors-stream';
import { formatBytes } from '../checkpoint/select-weights';
import { int } from './options';

const WEIGHTS_HELP = 'weights: a PyTorch checkpoint (.ckpt, .pt), a diffusers export folder, or a .safetensors file, with reference tensor names';
const PREFIX_HELP = 'state-dict prefix to use (ema_denoiser., denoiser.; "" = bare names) (default: ema_denoiser., else denoiser., else bare names)';

/** `info`: the backend line and one row per preset. */
export async function info(): Promise<void> {
  await initBackend();
  console.log('\npresets:');
  for (const name of PRESET_NAMES) console.log('  ' + describeConfig(name, PRESETS[name]));
}

export function registerModelCommands(program: Command): void {
  program
    .command('info')
    .description('print the backend line and the presets')
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- info')
    .action(info);

  program
    .command('build')
    .description('build a preset in memory: parameters, bytes, time')
    .requiredOption('--preset <name>', `preset name (${PRESET_NAMES.join(', ')})`)
    .option('--seed <s>', 'initialisation seed', int(0), 0)
    .addHelpText('after', "\nExample:\n  npm run pixnerd -- build --preset 'PixNerd-XL/16'")
    .action(async (o: { preset: string; seed: number }) => {
      const cfg = getPreset(o.preset);
      await initBackend();
      const t0 = performance.now();
      const params = initParams(cfg, o.seed);
      const ms = performance.now() - t0;
      const count = Object.values(params).reduce((n, p) => n + p.size, 0);
      console.log(JSON.stringify({ preset: o.preset, parameters: count, expected: parameterCount(cfg), bytes: tf.memory().numBytes, ms: Math.round(ms) }));
      disposeParams(params);
    });

  program
    .command('forward')
    .description('one forward pass in the reference layout: x [B, C, H, W], t [B], y [B] in; v [B, C, H, W] out')
    .option('--config <file>', 'model config JSON (reference field names plus image_size, or project fields) (default: the diffusers config.json, else read off the weights\' shapes)')
    .requiredOption('--weights <file|dir>', WEIGHTS_HELP)
    .requiredOption('--inputs <file>', 'safetensors file holding x, t and y')
    .requiredOption('--out <file>', 'safetensors file to write v to')
    .option('--prefix <p>', PREFIX_HELP)
    .addHelpText('after', '\nExamples:\n  npm run pixnerd -- forward --config C.json --weights W.safetensors --inputs I.safetensors --out O.safetensors\n  npm run pixnerd -- forward --config C.json --weights epoch=319-step=1600000_emainit.ckpt --inputs I.safetensors --out O.safetensors --prefix denoiser.')
    .action(async (o: { config?: string; weights: string; inputs: string; out: string; prefix?: string }) => {
      const given = o.config === undefined ? undefined : resolveModelConfig(JSON.parse(readFileSync(o.config, 'utf8')));
      await initBackend();
      const w = await openWeights(o.weights, { prefix: o.prefix });
      let params;
      try {
        console.log(w.summary);
        // a given config is checked by referenceParams, which lists every missing and mis-shaped tensor
        const cfg = given ?? weightsConfig(w);
        params = referenceParams(cfg, w.tensors, '', o.weights);
        const t0 = performance.now();
        const v = await referenceForward(params, cfg, readSafetensors(o.inputs).tensors);
        const ms = performance.now() - t0;
        writeSafetensors(o.out, { v });
        console.log(`forward: ${v.shape[0]} image(s) ${v.shape[2]}x${v.shape[3]} in ${ms.toFixed(0)} ms -> ${o.out} (v [${v.shape.join(', ')}])`);
      } finally {
        w.close();
        if (params) disposeParams(params);
      }
    });

  program
    .command('convert')
    .description('write the chosen weights of a checkpoint as a reference-named safetensors file (float32), one tensor at a time')
    .requiredOption('--weights <file|dir>', WEIGHTS_HELP)
    .requiredOption('--out <file>', 'the .safetensors file to write (bare reference names, the prefix removed)')
    .option('--prefix <p>', PREFIX_HELP)
    .option('--force', 'replace --out if it exists (written to a temp file first: an existing file is replaced only once the new one is complete)', false)
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- convert --weights epoch=319-step=1600000_emainit.ckpt --out pixnerd-xl16-256.safetensors')
    .action(async (o: { weights: string; out: string; prefix?: string; force: boolean }) => {
      if (!o.out.endsWith('.safetensors')) throw new Error(`--out ${o.out}: the output is a .safetensors file`);
      if (existsSync(o.out)) {
        if (existsSync(o.weights) && realpathSync(o.out) === realpathSync(o.weights)) throw new Error(`--out ${o.out} is the --weights file itself: write to another file`);
        if (!o.force) throw new Error(`${o.out} exists: pass --force to replace it, or choose another --out`);
      }
      const t0 = performance.now();
      const w = await openWeights(o.weights, { prefix: o.prefix });
      try {
        console.log(w.summary);
        let model: string;
        try {
          const cfg = weightsConfig(w);
          model = `PixNerd: ${cfg.hiddenSize} wide, ${cfg.depth} blocks, patch ${cfg.patchSize}, ${cfg.numClasses} classes`;
        } catch (e) {
          model = `the shapes do not describe a PixNerd neural-field model: ${(e as Error).message}`;
        }
        mkdirSync(dirname(resolve(o.out)), { recursive: true });
        const bytes = writeSafetensorsStreamed(o.out, w.tensors, { format: 'pt', source: o.weights, prefix: w.prefix });
        console.log(`convert: ${w.tensors.size} tensors (${model}) -> ${o.out} (${formatBytes(bytes)}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        w.close();
      }
    });
}
