/**
 * Where a step's time goes, kernel by kernel:
 *
 *   npx tsx bench/profile-step.ts [--case tiny-32/8|bench-S-cfg|bench-S-train] [--steps 20] [--top 25] [--shapes] [--plain]
 *
 * - `tiny-32/8`: one training step of the main job (experiments/mnist-tiny.json: MNIST batch,
 *   REPA teacher, loss and gradients, AdamW, EMA), timed by phase too.
 * - `bench-S-cfg`: one CFG sampling forward of bench-S (batch 16, doubled), random weights.
 * - `bench-S-train`: one bench-S training step as `npm run bench` times it (batch 16, random
 *   images, no REPA: loss, gradients, AdamW), timed by phase too.
 *
 * Wraps every kernel registered on the tfjs backend in a timer (wall time of the synchronous call,
 * so native GEMMs and wasm element-wise kernels both count), runs `steps` steps after two warm-ups
 * and prints per kernel: calls per step, ms per step and share of the step; the rest of the step is
 * outside kernels (tfjs dispatch and tape bookkeeping, gradient functions, JS). `--shapes` splits
 * the matMuls by operand shapes; `--plain` times the steps without the wrappers (the timers add
 * ~1 us a call).
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel-lib/backend/backend-ladder';
import { PRESETS } from '../kernel-lib/config/presets';
import { initParams } from '../kernel-lib/model/params';
import { guidedVelocity } from '../kernel-lib/sampling/guidance';
import { modelVelocity } from '../kernel-lib/sampling/sample';
import { experimentFromJson } from '../kernel-lib/runs/experiment';
import { plainTrainStep, recipeTrainStep } from './train-steps';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'tiny-32/8' },
    steps: { type: 'string', default: '20' },
    top: { type: 'string', default: '25' },
    shapes: { type: 'boolean', default: false },
    plain: { type: 'boolean', default: false },
  },
});
const info = await initBackend();

/** Time per kernel (or per matMul shape with --shapes), summed over the timed steps. */
const spent = new Map<string, { ms: number; calls: number }>();
const keyOf = (name: string, args: Parameters<tf.KernelFunc>[0]) => {
  if (!values.shapes || !/MatMul/.test(name)) return name;
  const shapes = Object.values(args.inputs).filter(Boolean).map((t) => JSON.stringify((t as tf.TensorInfo).shape)).join(' x ');
  const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  return `${name} ${shapes}${transposeA ? ' tA' : ''}${transposeB ? ' tB' : ''}`;
};
if (!values.plain) {
  for (const k of tf.getKernelsForBackend(info.backend)) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, info.backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const t0 = performance.now();
        const out = f(args);
        const key = keyOf(k.kernelName, args);
        const e = spent.get(key) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        spent.set(key, e);
        return out;
      },
    });
  }
}

/** Time per phase of a training step, summed over the timed steps. */
const phases = new Map<string, number>();

async function makeStep(): Promise<() => Promise<void>> {
  if (values.case === 'bench-S-cfg') {
    const model = PRESETS['bench-S'];
    const params = initParams(model, 0);
    const x = tf.randomNormal([16, model.imageSize, model.imageSize, model.inChannels], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % model.numClasses), 'int32');
    const vm = modelVelocity(params, model, 'v');
    return async () => tf.dispose(guidedVelocity(vm, x, 0.5, y, { scale: 3.5, interval: [0.1, 1], nullLabel: model.numClasses }).dataSync() && []);
  }
  const lapper = () => {
    let t = performance.now();
    return (name: string) => {
      const now = performance.now();
      phases.set(name, (phases.get(name) ?? 0) + now - t);
      t = now;
    };
  };
  if (values.case === 'bench-S-train') {
    const s = plainTrainStep(PRESETS['bench-S'], 16);
    return async () => void (await s.step(lapper()));
  }
  if (values.case !== 'tiny-32/8') throw new Error(`--case ${values.case}: tiny-32/8, bench-S-cfg or bench-S-train`);
  const file = 'experiments/mnist-tiny.json';
  const s = await recipeTrainStep(experimentFromJson(JSON.parse(readFileSync(file, 'utf8')), {}, file));
  return async () => void (await s.step(lapper()));
}

const step = await makeStep();
await step();
await step();
spent.clear();
phases.clear();
const n = Number(values.steps);
const t0 = performance.now();
for (let i = 0; i < n; i++) await step();
const total = (performance.now() - t0) / n;
const rows = [...spent.entries()].map(([name, e]) => ({ name, calls: e.calls / n, ms: e.ms / n })).sort((a, b) => b.ms - a.ms);
const inKernels = rows.reduce((s, r) => s + r.ms, 0);
const calls = rows.reduce((s, r) => s + r.calls, 0);
console.log(`${values.case}: ${total.toFixed(1)} ms a step (${n} steps)` + (values.plain ? '' : `, ${inKernels.toFixed(1)} ms in ${calls.toFixed(0)} kernel calls, ${(total - inKernels).toFixed(1)} ms outside them`));
if (phases.size) console.log(`phases: ${[...phases.entries()].map(([k, v]) => `${k} ${(v / n).toFixed(1)} ms`).join(', ')}`);
const pad = Math.max(28, ...rows.slice(0, Number(values.top)).map((r) => r.name.length + 2));
for (const r of rows.slice(0, Number(values.top))) {
  console.log(`${r.name.padEnd(pad)} ${r.calls.toFixed(0).padStart(5)} calls ${r.ms.toFixed(2).padStart(8)} ms ${((100 * r.ms) / total).toFixed(1).padStart(5)} %`);
}
