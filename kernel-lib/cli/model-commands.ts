/**
 * Model commands: `info` (backend line and presets), `build` (a preset in memory) and `forward`
 * (one forward pass in the reference NCHW layout).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend-ladder';
import { PRESETS, PRESET_NAMES, getPreset, resolveModelConfig } from '../config/presets';
import { describeConfig } from '../config/describe-config';
import { disposeParams, initParams, parameterCount } from '../model/params';
import { referenceForward } from '../model/reference-io';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import { assignParams, fromReferenceTensors } from '../checkpoint/reference-checkpoint';
import { int } from './options';

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
    .requiredOption('--config <file>', 'model config JSON (reference field names plus image_size, or project fields)')
    .requiredOption('--weights <file>', 'checkpoint with reference tensor names (.safetensors)')
    .requiredOption('--inputs <file>', 'safetensors file holding x, t and y')
    .requiredOption('--out <file>', 'safetensors file to write v to')
    .option('--prefix <p>', 'key prefix of the weights in the checkpoint (denoiser., ema_denoiser.)', '')
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- forward --config C.json --weights W.safetensors --inputs I.safetensors --out O.safetensors --prefix ema_denoiser.')
    .action(async (o: { config: string; weights: string; inputs: string; out: string; prefix: string }) => {
      const cfg = resolveModelConfig(JSON.parse(readFileSync(o.config, 'utf8')));
      await initBackend();
      const params = initParams(cfg, 0);
      assignParams(params, fromReferenceTensors(cfg, readSafetensors(o.weights).tensors, o.prefix, o.weights));
      const t0 = performance.now();
      const v = await referenceForward(params, cfg, readSafetensors(o.inputs).tensors);
      const ms = performance.now() - t0;
      writeSafetensors(o.out, { v });
      console.log(`forward: ${v.shape[0]} image(s) ${v.shape[2]}x${v.shape[3]} in ${ms.toFixed(0)} ms -> ${o.out} (v [${v.shape.join(', ')}])`);
      disposeParams(params);
    });
}
