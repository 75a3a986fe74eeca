/**
 * `evaluate`: a run's model (EMA weights by default) against its dataset: FID, KID,
 * precision/recall and class accuracy, with the real-vs-real floor at the same n and the wall
 * time. `--json` prints exactly one JSON object line. Reads the run without its lock.
 */
import { Command, Option } from 'commander';
import { initBackend } from '../backend/backend-ladder';
import { describePrecision, effectivePrecision, MATMUL_PRECISIONS, resolvePrecision } from '../backend/precision';
import { SAMPLER_KINDS, type FinalAverageSpec, type SamplerKind } from '../sampling/sample';
import { evaluateRun } from '../runs/evaluate-run';
import { finalAverage, int, interval, num } from './options';
import { describeFinalAverage, MAIN_JOB_SAMPLING } from '../runs/main-job';

interface EvaluateOptions {
  run: string;
  samples: number;
  sampler: SamplerKind;
  steps: number;
  order: number;
  cfg: number;
  interval: [number, number];
  shift: number;
  lastStep?: number;
  finalAverage: FinalAverageSpec | null;
  seed?: number;
  weights: 'ema' | 'model';
  classifier?: string;
  json: boolean;
  precision?: string;
}

const f = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));
const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)} %`);

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description("evaluate a run's samples against its dataset: FID, KID, precision/recall, class accuracy, real-vs-real floor")
    .requiredOption('--run <dir>', 'run directory')
    .option('--samples <n>', 'generated (and real) images', int(1), 1000)
    .addOption(new Option('--sampler <kind>', 'sampler').choices(SAMPLER_KINDS).default(MAIN_JOB_SAMPLING.sampler))
    .option('--steps <n>', 'sampling steps', int(1), MAIN_JOB_SAMPLING.steps)
    .option('--order <k>', 'Adams order', int(1), 2)
    .option('--cfg <scale>', 'classifier-free guidance scale', num, MAIN_JOB_SAMPLING.cfg)
    .option('--interval <a,b>', 'guidance interval in t', interval, MAIN_JOB_SAMPLING.interval)
    .option('--shift <s>', 'time-grid shift t / (t + (1 - t) s); > 1 spends more steps near the noise', num, 1)
    .option('--last-step <d>', "the time grid's last jump: linspace(0, 1 - d, steps) then 1 (default 1 / steps)", num)
    .option('--final-average <t,k>', "end each sample with the mean clean estimate over k re-noisings at time t (none: off)", finalAverage, MAIN_JOB_SAMPLING.finalAverage ?? null)
    .option('--seed <s>', "noise and real-set seed (default: the run's train.seed)", int(0))
    .addOption(new Option('--weights <which>', 'EMA or online weights').choices(['ema', 'model']).default('ema'))
    .addOption(new Option('--classifier <net>', "feature network (default: the dataset's own classifier)").choices(['mnist', 'fashion-mnist', 'mobilenet-v2']))
    .addOption(new Option('--precision <p>', "the sampled model's matMuls: bf16 products with fp32 sums where the CPU has AVX512_BF16 and oneDNN is installed, else fp32 with a line saying what is missing; the feature network stays fp32 (default: PIXNERD_PRECISION, else fp32)").choices(MATMUL_PRECISIONS))
    .option('--json', 'print one JSON object line: fid, realFid, classAccuracy, kid, precision, recall, speckle, realSpeckle, strayMarks, realStrayMarks, samples, seconds, matmulPrecision', false)
    .addHelpText('after', '\nExample:\n  npm run -s pixnerd -- evaluate --run runs/mnist-tiny --samples 1000 --json')
    .action(async (o: EvaluateOptions) => {
      const asked = resolvePrecision(o.precision);
      await initBackend({ quiet: o.json });
      const precision = effectivePrecision(asked);
      if (precision === 'bf16' && !o.json) console.log(describePrecision(precision));
      const t0 = performance.now();
      const m = await evaluateRun(o.run, {
        eval: { samples: o.samples, sampler: o.sampler, steps: o.steps, order: o.order, cfg: o.cfg, interval: o.interval, ...(o.shift !== 1 ? { shift: o.shift } : {}), ...(o.lastStep !== undefined ? { lastStep: o.lastStep } : {}), ...(o.finalAverage ? { finalAverage: o.finalAverage } : {}), ...(o.classifier ? { classifier: o.classifier } : {}) },
        seed: o.seed,
        weights: o.weights,
        quiet: o.json,
        precision,
      });
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      if (o.json) {
        console.log(JSON.stringify({ fid: m.fid, realFid: m.realFid, classAccuracy: m.classAccuracy, kid: m.kid, precision: m.precision, recall: m.recall, speckle: m.speckle, realSpeckle: m.realSpeckle, strayMarks: m.strayMarks, realStrayMarks: m.realStrayMarks, samples: m.evalSamples, seconds, matmulPrecision: precision }));
        return;
      }
      console.log(`${o.run}: ${m.evalSamples} samples (${o.sampler} ${o.steps} steps, CFG ${o.cfg} on (${o.interval.join(', ')})${o.shift !== 1 ? `, shift ${o.shift}` : ''}${o.lastStep !== undefined ? `, last step ${o.lastStep}` : ''}${o.finalAverage ? `, ${describeFinalAverage(o.finalAverage)}` : ''}), features ${m.extractor}`);
      console.log(`  FID ${f(m.fid, 2)}   real-vs-real floor ${f(m.realFid, 2)}   ratio ${m.fid !== null && m.realFid ? (m.fid / m.realFid).toFixed(2) : '-'}x`);
      console.log(`  KID ${f(m.kid, 4)} ± ${f(m.kidStd, 4)}   precision ${f(m.precision, 3)}   recall ${f(m.recall, 3)}   class accuracy ${f(m.classAccuracy, 3)}`);
      console.log(`  speckle ${f(m.speckle, 2)} isolated pixels per 1,000 (real images ${f(m.realSpeckle, 2)})   stray marks in ${pct(m.strayMarks)} of images (real images ${pct(m.realStrayMarks)})`);
      console.log(`  ${seconds} s`);
    });
}
