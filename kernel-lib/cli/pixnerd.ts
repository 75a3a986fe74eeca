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
import { basename } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend-ladder';
import { PRESETS, PRESET_NAMES, getPreset, resolveModelConfig } from '../config/presets';
import { derive, type ModelConfig } from '../config/model-config';
import { forwardFlops } from '../model/flops';
import { disposeParams, initParams, parameterCount } from '../model/params';
import { pixnerdForward } from '../model/pixnerd';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../checkpoint/safetensors';
import { assignParams, fromReferenceTensors } from '../checkpoint/reference-checkpoint';
import { trainCommand } from './train-command';
import { loadRun, sampleClasses, sampleCommand } from './sample-command';
import { experimentCommand } from './experiment-command';
import { fidBaselineCommand, trainClassifierCommand } from './classifier-command';
import { samplerSweep, SAMPLER_SWEEP_DEFAULTS } from '../experiments/sampler-sweep';
import { readExperiment, runExperiment } from './train-command';
import { disposeTrainState } from '../training/train';
import { readMetrics } from '../training/run-dir';
import { imageGridPng } from '../viz/image-grid';
import { writeFigure } from '../viz/vega';
import { curvesFromRecords, lossPlotSpec } from '../viz/loss-plot';

const USAGE = `usage: npm run pixnerd -- <command> [options]
commands:
  info                                   backend and presets
  build   --preset NAME [--seed S]       build a model in memory (parameters, bytes, time)
  forward --config C.json --weights W.safetensors --inputs I.safetensors --out O.safetensors [--prefix P]
  train   --config experiments/<name>.json [--run DIR] [--resume] [--steps N]
  sample  --run DIR --classes 0,1,2 --per-class 8 --steps 50 --sampler euler|heun|adams --cfg 3.5 --out figures/x.png
  experiment experiments/<name>.json [--smoke] [--status] [--report] [--executor local|slurm] [--resume] [--wait] [--cancel]
                                         ablation grid: train + evaluate every variant x seed (README: cluster options)
  demo                                   the main job: train tiny-32/8 on MNIST, write samples and the loss curve
  train-classifier --dataset mnist|fashion-mnist [--steps N]   train the metrics/REPA classifier, write its weights
  fid-baseline --dataset mnist|fashion-mnist|emoji [--n 1000]   real-vs-real FID/KID/precision/recall
  sampler-sweep --run DIR [--out experiments/results/sampler-sweep] [--samples 500] [--steps 5,10,20,50] [--cfg-scales 1,1.5,2,3]
                                         Euler/Heun/Adams-2/3 by steps and a CFG x interval grid, with FID`;

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

/**
 * The main job: train tiny-32/8 on the embedded MNIST (experiments/mnist-tiny.json; resumes a
 * killed run), then write a class-labelled sample grid and the loss curve under figures/.
 * PIXNERD_DEMO_STEPS overrides the step budget.
 */
async function demo(): Promise<void> {
  await info();
  const steps = process.env.PIXNERD_DEMO_STEPS ? Number(process.env.PIXNERD_DEMO_STEPS) : undefined;
  const exp = readExperiment('experiments/mnist-tiny.json', { steps });
  const runDir = 'runs/mnist-tiny';
  console.log(`\ntraining ${runDir}: tiny-32/8 (${(parameterCount(exp.model) / 1e6).toFixed(2)} M params) on MNIST, ${exp.train.steps} steps of ${exp.train.batchSize}`);
  disposeTrainState(await runExperiment(exp, runDir, { resume: true }));
  const metrics = readMetrics(runDir);
  const curves = curvesFromRecords(metrics.map(({ step, total, fm, repa }) => ({ step: step!, loss: total, fm, repa })));
  await writeFigure(lossPlotSpec(curves, { title: 'tiny-32/8 on MNIST: flow-matching loss', logY: true }), 'figures/mnist-tiny-loss');
  const run = loadRun(runDir, 'ema');
  const classes = Array.from({ length: 10 }, (_, i) => i);
  const t0 = performance.now();
  const x = sampleClasses(run, { classes, perClass: 4, steps: 20, sampler: 'euler', cfg: 2, interval: [0.1, 1], seed: 0 });
  writeFileSync('figures/mnist-tiny-samples.png', await imageGridPng(x, { cols: 4, rowLabels: classes.map(String), scale: 3 }));
  console.log(`sampled 40 images (Euler 20 steps, CFG 2 on (0.1, 1)) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const last = metrics.slice(-5);
  console.log(`final loss (mean of the last ${last.length} logged steps): ${(last.reduce((a, r) => a + r.total!, 0) / last.length).toFixed(4)}`);
  console.log('wrote figures/mnist-tiny-samples.png, figures/mnist-tiny-loss.svg, figures/mnist-tiny-loss.png');
  x.dispose();
  disposeParams(run.params);
}

async function samplerSweepCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { run: { type: 'string' }, out: { type: 'string' }, samples: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' }, 'cfg-scales': { type: 'string' } } });
  if (!values.run) throw new Error(`sampler-sweep needs --run DIR\n${USAGE}`);
  const out = values.out ?? 'experiments/results/sampler-sweep';
  const ints = (flag: string, v: string) => v.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: "${x}" is not a positive integer`);
    return n;
  });
  await initBackend();
  const t0 = performance.now();
  const points = await samplerSweep({
    ...SAMPLER_SWEEP_DEFAULTS,
    runDir: values.run,
    out,
    figures: `figures/${basename(out)}`,
    ...(values.samples ? { samples: ints('samples', values.samples)[0]! } : {}),
    ...(values.steps ? { steps: ints('steps', values.steps) } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
    ...(values['cfg-scales'] ? { cfgScales: values['cfg-scales'].split(',').map(Number) } : {}),
  });
  console.log(`${points.length} points in ${((performance.now() - t0) / 60000).toFixed(1)} min; ${out}/summary.md, figures/${basename(out)}-{steps,cfg}.{svg,png}`);
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = { info, build, forward, train: trainCommand, sample: sampleCommand, experiment: experimentCommand, demo,
  'train-classifier': trainClassifierCommand, 'fid-baseline': fidBaselineCommand, 'sampler-sweep': samplerSweepCommand };

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
