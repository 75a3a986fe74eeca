/**
 * The time of one classifier-free-guidance sampling step: one forward of the conditional and the
 * unconditional batch together (batch 2 per image), what every step of `pixnerd sample --cfg w`
 * costs. Random weights from a preset (the released XL/16 has the same shapes).
 *
 *   npx tsx bench/cfg-step.ts [--preset PixNerd-XL/16] [--size 256] [--batch 1] [--repeats 5]
 *
 * One warm-up step, then `repeats` timed ones (each until its result is read); prints every time,
 * the median, and the load average before and after (the machine may be shared).
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel-lib/backend/backend-ladder';
import { getPreset } from '../kernel-lib/config/presets';
import { disposeParams, initParams } from '../kernel-lib/model/params';
import { guidedVelocity } from '../kernel-lib/sampling/guidance';
import { modelVelocity } from '../kernel-lib/sampling/sample';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'PixNerd-XL/16' },
    size: { type: 'string', default: '256' },
    batch: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '5' },
  },
});
const size = Number(values.size);
const batch = Number(values.batch);
const repeats = Number(values.repeats);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const backend = await initBackend();
const cfg = { ...getPreset(values.preset!), imageSize: size };
const loadBefore = load();
const t0 = performance.now();
const params = initParams(cfg, 0);
console.log(`${values.preset}: ${(Object.values(params).reduce((n, p) => n + p.size, 0) / 1e6).toFixed(1)} M parameters built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const model = modelVelocity(params, cfg);
const x = tf.randomNormal([batch, size, size, cfg.inChannels], 0, 1, 'float32', 0) as tf.Tensor4D;
const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % cfg.numClasses), 'int32');
const g = { scale: 4, interval: [0.1, 1] as [number, number], nullLabel: cfg.numClasses };

async function step(): Promise<number> {
  const s = performance.now();
  const v = guidedVelocity(model, x, 0.5, y, g);
  await v.data();
  v.dispose();
  return (performance.now() - s) / 1000;
}

const warm = await step();
console.log(`warm-up: ${warm.toFixed(2)} s`);
const times: number[] = [];
for (let i = 0; i < repeats; i++) {
  times.push(await step());
  console.log(`step ${i + 1}: ${times.at(-1)!.toFixed(2)} s`);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    preset: values.preset,
    size,
    batch,
    forwardBatch: 2 * batch,
    backend: backend.backend,
    medianS: Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(3)),
    minS: Number(sorted[0]!.toFixed(3)),
    maxS: Number(sorted.at(-1)!.toFixed(3)),
    loadBefore,
    loadAfter: load(),
    date: new Date().toISOString(),
  }),
);
tf.dispose([x, y]);
disposeParams(params);
