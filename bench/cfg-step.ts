/**
 * The time of one classifier-free-guidance sampling step: one forward of the conditional and the
 * unconditional batch together (batch 2 per image), what every step of `pixnerd sample --cfg w`
 * costs. Random weights from a preset (the released XL/16 has the same shapes).
 *
 *   npx tsx bench/cfg-step.ts [--preset PixNerd-XL/16] [--size 256] [--batch 1] [--repeats 5] [--precision fp32|bf16|fp32,bf16]
 *
 * One warm-up step, then `repeats` timed ones (each until its result is read); prints every time,
 * the median, and the load average before and after (the machine may be shared).
 *
 * `--precision fp32,bf16` (an A/B of the matMul precision, kernel-lib/backend/precision.ts):
 * every repeat times one step of each, in alternating order (AB BA AB ...), in this process, so a
 * busy spell of a shared machine falls on both; prints each one's median and the ratio of the
 * first's time to the second's per repeat (median, min, max).
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel-lib/backend/backend-ladder';
import { getPreset } from '../kernel-lib/config/presets';
import { disposeParams, initParams } from '../kernel-lib/model/params';
import { guidedVelocity } from '../kernel-lib/sampling/guidance';
import { modelVelocity } from '../kernel-lib/sampling/sample';
import type { VelocityModel } from '../kernel-lib/sampling/guidance';
import { describePrecision, effectivePrecision, parsePrecision } from '../kernel-lib/backend/precision';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'PixNerd-XL/16' },
    size: { type: 'string', default: '256' },
    batch: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '5' },
    precision: { type: 'string', default: 'fp32' },
  },
});
const size = Number(values.size);
const batch = Number(values.batch);
const repeats = Number(values.repeats);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const precisions = values.precision!.split(',').map((p) => parsePrecision(p, '--precision'));

const backend = await initBackend();
for (const p of precisions) if (effectivePrecision(p) !== p) throw new Error(`--precision ${p} cannot run here (see the line above)`);
if (precisions.includes('bf16')) console.log(describePrecision('bf16'));
const cfg = { ...getPreset(values.preset!), imageSize: size };
const loadBefore = load();
const t0 = performance.now();
const params = initParams(cfg, 0);
console.log(`${values.preset}: ${(Object.values(params).reduce((n, p) => n + p.size, 0) / 1e6).toFixed(1)} M parameters built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const models = precisions.map((p) => modelVelocity(params, cfg, 'v', undefined, p));
const x = tf.randomNormal([batch, size, size, cfg.inChannels], 0, 1, 'float32', 0) as tf.Tensor4D;
const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % cfg.numClasses), 'int32');
const g = { scale: 4, interval: [0.1, 1] as [number, number], nullLabel: cfg.numClasses };

async function step(model: VelocityModel): Promise<number> {
  const s = performance.now();
  const v = guidedVelocity(model, x, 0.5, y, g);
  await v.data();
  v.dispose();
  return (performance.now() - s) / 1000;
}

for (const [i, m] of models.entries()) console.log(`warm-up ${precisions[i]}: ${(await step(m)).toFixed(2)} s`);
const times: number[][] = precisions.map(() => []);
for (let r = 0; r < repeats; r++) {
  const order = r % 2 === 0 ? precisions.map((_, i) => i) : precisions.map((_, i) => precisions.length - 1 - i);
  for (const i of order) times[i]!.push(await step(models[i]!));
  console.log(`step ${r + 1}: ${precisions.map((p, i) => `${p} ${times[i]!.at(-1)!.toFixed(3)} s`).join('  ')}`);
}
const sortedOf = (t: number[]) => [...t].sort((a, b) => a - b);
const median = (t: number[]) => sortedOf(t)[Math.floor(t.length / 2)]!;
const r3 = (v: number) => Number(v.toFixed(3));
const per = precisions.map((p, i) => ({ precision: p, medianS: r3(median(times[i]!)), minS: r3(sortedOf(times[i]!)[0]!), maxS: r3(sortedOf(times[i]!).at(-1)!) }));
const ratios = precisions.length === 2 ? times[0]!.map((t, k) => t / times[1]![k]!) : null;
console.log(
  JSON.stringify({
    preset: values.preset,
    size,
    batch,
    forwardBatch: 2 * batch,
    backend: backend.backend,
    ...(per.length === 1 ? per[0] : { precisions: per }),
    ...(ratios ? { ratio: `${precisions[0]}/${precisions[1]}`, ratioMedian: r3(median(ratios)), ratioMin: r3(sortedOf(ratios)[0]!), ratioMax: r3(sortedOf(ratios).at(-1)!) } : {}),
    loadBefore,
    loadAfter: load(),
    date: new Date().toISOString(),
  }),
);
tf.dispose([x, y]);
disposeParams(params);
