/**
 * The pixnerd command line:  npm run pixnerd -- <command> [options]
 *
 *   info                                   backend line and the presets
 *   build   --preset NAME [--seed S]       build a model in memory; parameters, bytes, time
 *   forward --config C.json --weights W.safetensors --inputs I.safetensors --out O.safetensors
 *           [--prefix ema_denoiser.]       one forward pass in the reference NCHW layout
 *   demo                                   the README's main job
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend-ladder';
import { PRESETS, PRESET_NAMES, getPreset, resolveModelConfig } from '../config/presets';
import { derive, type ModelConfig } from '../config/model-config';
import { forwardFlops } from '../model/flops';
import { disposeParams, initParams, parameterCount } from '../model/params';
import { pixnerdForward } from '../model/pixnerd';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../checkpoint/safetensors';
import { assignParams, fromReferenceTensors } from '../checkpoint/reference-checkpoint';

const USAGE = `usage: npm run pixnerd -- <command> [options]
commands:
  info                                   backend and presets
  build   --preset NAME [--seed S]       build a model in memory (parameters, bytes, time)
  forward --config C.json --weights W.safetensors --inputs I.safetensors --out O.safetensors [--prefix P]
  demo                                   the main job: a forward pass of a CPU preset`;

/** One row of the presets table. */
export function describeConfig(name: string, cfg: ModelConfig): string {
  const d = derive(cfg);
  const head = cfg.head.kind === 'nerf' ? `nerf hx${cfg.head.width} r${cfg.head.mlpRatio} x${cfg.head.blocks} ${cfg.head.coordEncoding}` : 'linear';
  const gflops = forwardFlops(cfg, 1).total / 1e9;
  return `${name.padEnd(14)} ${`${cfg.imageSize}px C${cfg.inChannels} p${cfg.patchSize}`.padEnd(16)} D${cfg.hiddenSize} h${cfg.numHeads} depth ${cfg.depth} L${d.numTokens}  ${head.padEnd(22)} ${(parameterCount(cfg) / 1e6).toFixed(2).padStart(8)} M params  ${gflops.toFixed(2).padStart(7)} GFLOP/img`;
}

async function info(): Promise<void> {
  await initBackend();
  console.log('\npresets:');
  for (const name of PRESET_NAMES) console.log('  ' + describeConfig(name, PRESETS[name]));
}

async function build(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { preset: { type: 'string' }, seed: { type: 'string', default: '0' } } });
  if (!values.preset) throw new Error('build needs --preset NAME');
  const cfg = getPreset(values.preset);
  await initBackend();
  const t0 = performance.now();
  const params = initParams(cfg, Number(values.seed));
  const ms = performance.now() - t0;
  const count = Object.values(params).reduce((n, p) => n + p.size, 0);
  console.log(JSON.stringify({ preset: values.preset, parameters: count, expected: parameterCount(cfg), bytes: tf.memory().numBytes, ms: Math.round(ms) }));
  disposeParams(params);
}

/** A [B, C, H, W] safetensors entry as an NHWC tensor. */
function nchwToNhwc(name: string, t: SafeTensor | undefined): tf.Tensor4D {
  if (!t) throw new Error(`inputs: tensor "${name}" is missing`);
  if (t.shape.length !== 4) throw new Error(`inputs: "${name}" must be [B, C, H, W], got [${t.shape.join(', ')}]`);
  return tf.tidy(() => tf.tensor(Float32Array.from(t.data), t.shape).transpose([0, 2, 3, 1]) as tf.Tensor4D);
}

async function forward(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, weights: { type: 'string' }, inputs: { type: 'string' }, out: { type: 'string' }, prefix: { type: 'string', default: '' } },
  });
  for (const k of ['config', 'weights', 'inputs', 'out'] as const) if (!values[k]) throw new Error(`forward needs --${k}\n${USAGE}`);
  const cfg = resolveModelConfig(JSON.parse(readFileSync(values.config!, 'utf8')));
  await initBackend();
  const params = initParams(cfg, 0);
  assignParams(params, fromReferenceTensors(cfg, readSafetensors(values.weights!).tensors, values.prefix, values.weights));
  const io = readSafetensors(values.inputs!).tensors;
  const x = nchwToNhwc('x', io.get('x'));
  const B = x.shape[0];
  const tIn = io.get('t');
  const yIn = io.get('y');
  if (!tIn || tIn.shape.join() !== String(B)) throw new Error(`inputs: "t" must be float [${B}]`);
  if (!yIn || yIn.shape.join() !== String(B)) throw new Error(`inputs: "y" must be [${B}] class ids`);
  const labels = Array.from(yIn.data, (v) => Math.round(v));
  const bad = labels.filter((l) => !(l >= 0 && l <= cfg.numClasses));
  if (bad.length) throw new Error(`inputs: labels ${bad.join(', ')} outside 0..${cfg.numClasses} (${cfg.numClasses} = null label)`);
  const t0 = performance.now();
  const { v } = pixnerdForward(params, cfg, x, tf.tensor1d(Float32Array.from(tIn.data)), tf.tensor1d(labels, 'int32'));
  const vNchw = v.transpose([0, 3, 1, 2]);
  const data = (await vNchw.data()) as Float32Array;
  const ms = performance.now() - t0;
  writeSafetensors(values.out!, { v: { shape: vNchw.shape, data } });
  console.log(`forward: ${B} image(s) ${x.shape[1]}x${x.shape[2]} in ${ms.toFixed(0)} ms -> ${values.out} (v [${vNchw.shape.join(', ')}])`);
}

async function demo(): Promise<void> {
  await info();
  const name = 'tiny-32/8';
  const cfg = PRESETS[name];
  const params = initParams(cfg, 0);
  const B = 8;
  const x = tf.randomNormal([B, cfg.imageSize, cfg.imageSize, cfg.inChannels], 0, 1, 'float32', 1) as tf.Tensor4D;
  const t = tf.randomUniform([B], 0, 1, 'float32', 2) as tf.Tensor1D;
  const y = tf.tensor1d(Array.from({ length: B }, (_, i) => i % cfg.numClasses), 'int32');
  pixnerdForward(params, cfg, x, t, y).v.dispose(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const { v } = pixnerdForward(params, cfg, x, t, y);
    await v.data();
    times.push(performance.now() - t0);
    v.dispose();
  }
  times.sort((a, b) => a - b);
  const ms = times[2]!;
  const gflops = forwardFlops(cfg, B).total / 1e9;
  console.log(`\nforward ${name}, batch ${B}: ${ms.toFixed(1)} ms median of 5 (${(gflops / (ms / 1000)).toFixed(1)} GFLOP/s)`);
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = { info, build, forward, demo };

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  const run = cmd === undefined ? undefined : COMMANDS[cmd];
  if (!run) {
    console.error(cmd === undefined || cmd === 'help' || cmd === '--help' ? USAGE : `unknown command "${cmd}"\n${USAGE}`);
    process.exit(cmd === undefined || cmd === 'help' || cmd === '--help' ? 0 : 2);
  }
  await run(rest);
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
