/**
 * The README's main job (`npm start`): train the experiments/mnist-tiny.json run (resuming a
 * killed one), then write its loss curve and a class-labelled sample grid from the EMA weights.
 *
 * Example:
 *   const r = await mainJob({ steps: 200 });
 *   console.log(r.finalLoss, r.files);
 */
import { writeFileSync } from 'node:fs';
import { parameterCount } from '../model/params';
import { disposeTrainState } from '../training/train';
import { imageGridPng } from '../viz/image-grid';
import { writeFigure } from '../viz/vega';
import { curvesFromRecords, lossPlotSpec } from '../viz/loss-plot';
import { disposeParams } from '../model/params';
import { readExperiment } from './experiment';
import { trainRun } from './train-run';
import { readMetrics } from './run-dir';
import { loadRun } from './load-run';
import { sampleClasses, type SampleGridOptions } from './sample-classes';
import type { FinalAverageSpec } from '../sampling/sample';

/**
 * The main job's sampler, chosen in the recipe study (experiments/RESULTS.md): Heun, 10 steps
 * (19 model evaluations, the cost of Euler 20), classifier-free guidance 2.5 on t in (0.2, 0.55),
 * then the final average of the clean estimate over 8 (unguided) re-noisings at t = 0.55. Seventh
 * round: a final average takes the speckle to the real digits' rate; eighth round: re-noising
 * deeper (t 0.55, 45 % noise) takes the stray marks (flecks beside the digit) from 8.7x the real
 * digits' rate to 2.7x, and guidance that starts at 0.2 keeps the FID (18.1, was 20.5).
 * `evaluate`'s defaults are this recipe; experiment files' eval defaults (EVAL_DEFAULTS) keep the
 * earlier one (CFG 2 on (0.1, 1), no final average), so the finished runs' config hashes stay.
 */
export const MAIN_JOB_SAMPLING: Required<Pick<SampleGridOptions, 'sampler' | 'steps' | 'cfg' | 'interval' | 'finalAverage'>> = {
  sampler: 'heun',
  steps: 10,
  cfg: 2.5,
  interval: [0.2, 0.55],
  finalAverage: { t: 0.55, draws: 8 },
};

/** `final average of 8 at t = 0.55`: a final average in words. */
export function describeFinalAverage(a: FinalAverageSpec): string {
  return `final average of ${a.draws} at t = ${a.t}`;
}

/** `Heun 10 steps, CFG 2 on (0.1, 1)`: a sampling recipe in words. */
export function describeSampling(s: Pick<SampleGridOptions, 'steps'> & Partial<Pick<SampleGridOptions, 'sampler' | 'cfg' | 'interval' | 'finalAverage'>>): string {
  const name = { euler: 'Euler', heun: 'Heun', adams: 'Adams' }[s.sampler ?? 'euler'] ?? s.sampler;
  const interval = s.interval ? ` on (${s.interval.join(', ')})` : '';
  const average = s.finalAverage ? `, ${describeFinalAverage(s.finalAverage)}` : '';
  return `${name} ${s.steps} steps, CFG ${s.cfg ?? 1}${interval}${average}`;
}

export interface MainJobOptions {
  /** Step budget (default: the experiment file's). */
  steps?: number;
  experiment?: string;
  runDir?: string;
  figuresPrefix?: string;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

export interface MainJobResult {
  runDir: string;
  steps: number;
  /** Mean total loss of the last 5 logged steps. */
  finalLoss: number;
  sampleSeconds: number;
  files: string[];
}

/** Trains, plots and samples the main job. */
export async function mainJob(o: MainJobOptions = {}): Promise<MainJobResult> {
  const log = o.log ?? console.log;
  const exp = readExperiment(o.experiment ?? 'experiments/mnist-tiny.json', { steps: o.steps });
  const runDir = o.runDir ?? 'runs/mnist-tiny';
  const prefix = o.figuresPrefix ?? 'figures/mnist-tiny';
  log(`\ntraining ${runDir}: ${exp.model.patchSize}px patches, ${(parameterCount(exp.model) / 1e6).toFixed(2)} M params, on ${exp.data.dataset}, ${exp.train.steps} steps of ${exp.train.batchSize}`);
  disposeTrainState(await trainRun(exp, runDir, { resume: true }));
  const metrics = readMetrics(runDir);
  const curves = curvesFromRecords(metrics.map(({ step, total, fm, repa }) => ({ step: step!, loss: total, fm, repa })));
  await writeFigure(lossPlotSpec(curves, { title: `${exp.data.dataset}: flow-matching loss`, logY: true }), `${prefix}-loss`);
  const run = loadRun(runDir, 'ema');
  const classes = Array.from({ length: Math.min(10, run.model.numClasses) }, (_, i) => i);
  const t0 = performance.now();
  const x = sampleClasses(run, { classes, perClass: 4, ...MAIN_JOB_SAMPLING, seed: 0 });
  const sampleSeconds = (performance.now() - t0) / 1000;
  writeFileSync(`${prefix}-samples.png`, await imageGridPng(x, { cols: 4, rowLabels: classes.map((c) => run.classNames?.[c] ?? String(c)), scale: 3 }));
  log(`sampled ${x.shape[0]} images (${describeSampling(MAIN_JOB_SAMPLING)}) in ${sampleSeconds.toFixed(1)} s`);
  x.dispose();
  disposeParams(run.params);
  const last = metrics.slice(-5);
  const finalLoss = last.reduce((a, r) => a + r.total!, 0) / last.length;
  const files = [`${prefix}-samples.png`, `${prefix}-loss.svg`, `${prefix}-loss.png`];
  return { runDir, steps: exp.train.steps, finalLoss, sampleSeconds, files };
}
