/**
 * The sampler ablation (paper.md 5.4 e, f) on one trained run: every sampler x step count, then
 * a CFG scale x guidance interval grid, each point evaluated with the same metrics as the
 * experiment runner (evaluate-run.ts: FID, KID, precision/recall, class accuracy).
 *
 *   npm run pixnerd -- sampler-sweep --run runs/ablation-head/nerf-p8/seed-0 --out experiments/results/sampler-sweep
 *
 * Writes `<out>/results.jsonl` (one line per point, appended as each finishes, so a killed sweep
 * resumes where it stopped), `<out>/summary.md`, and `figures/<id>-steps.{svg,png}` (FID by steps,
 * one line per sampler) and `figures/<id>-cfg.{svg,png}` (FID by CFG scale, one line per interval).
 * Every point uses the same noise seed, so differences come from the sampler settings only.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { modelEvaluations, type SamplerKind } from '../sampling/sample';
import type { DataConfig } from '../../data-loaders/from-config';
import type { EvalConfig } from '../runs/evaluate-run';
import { evaluateRun, type RunMetrics } from '../runs/evaluate-run';
import type { FeatureMatrix } from '../metrics/feature-matrix';
import { resolveModelConfig } from '../config/presets';
import { tableMarkdown } from '../viz/table';
import { writeFigure, type VegaLiteSpec } from '../viz/vega';
import { ConfigError } from '../util/errors';

/** One sampler of the sweep: `adams` with its order. */
export interface SweepSampler {
  sampler: SamplerKind;
  order?: number;
}

export interface SamplerSweepOptions {
  runDir: string;
  /** Results folder (results.jsonl, summary.md). */
  out: string;
  /** Figure path prefix, e.g. figures/sampler-sweep. */
  figures: string;
  samples: number;
  seed: number;
  samplers: SweepSampler[];
  steps: number[];
  /** CFG and interval used in the steps sweep. */
  cfg: number;
  interval: [number, number];
  /** The CFG grid, at `cfgSteps` steps with the first sampler. */
  cfgScales: number[];
  intervals: [number, number][];
  cfgSteps: number;
  quiet?: boolean;
}

export const SAMPLER_SWEEP_DEFAULTS: Omit<SamplerSweepOptions, 'runDir' | 'out' | 'figures'> = {
  samples: 500,
  seed: 0,
  samplers: [{ sampler: 'euler' }, { sampler: 'heun' }, { sampler: 'adams', order: 2 }, { sampler: 'adams', order: 3 }],
  steps: [5, 10, 20, 50],
  cfg: 1.5,
  interval: [0.1, 1],
  cfgScales: [1, 1.5, 2, 3],
  intervals: [[0, 1], [0.1, 1], [0.3, 1]],
  cfgSteps: 20,
};

export interface SweepPoint extends RunMetrics {
  study: 'steps' | 'cfg';
  sampler: string;
  steps: number;
  cfg: number;
  interval: string;
  /** Model evaluations per image (Heun: 2 per step but the last; CFG doubles the batch, not counted). */
  nfe: number;
}

export const samplerLabel = (s: SweepSampler): string => (s.sampler === 'adams' ? `adams-${s.order ?? 2}` : s.sampler);
const key = (p: Pick<SweepPoint, 'study' | 'sampler' | 'steps' | 'cfg' | 'interval'>) => `${p.study}|${p.sampler}|${p.steps}|${p.cfg}|${p.interval}`;

/** The points of a sweep, in order (steps study first, then the CFG grid). */
export function sweepPlan(o: Pick<SamplerSweepOptions, 'samplers' | 'steps' | 'cfg' | 'interval' | 'cfgScales' | 'intervals' | 'cfgSteps'>): { study: 'steps' | 'cfg'; s: SweepSampler; steps: number; cfg: number; interval: [number, number] }[] {
  if (!o.samplers.length || !o.steps.length) throw new ConfigError('sampler-sweep', o.samplers.length ? o.steps : o.samplers, 'needs at least one sampler and one step count');
  const plan: ReturnType<typeof sweepPlan> = [];
  for (const s of o.samplers) for (const steps of o.steps) plan.push({ study: 'steps', s, steps, cfg: o.cfg, interval: o.interval });
  for (const interval of o.intervals) for (const cfg of o.cfgScales) plan.push({ study: 'cfg', s: o.samplers[0]!, steps: o.cfgSteps, cfg, interval });
  return plan;
}

function readPoints(file: string): SweepPoint[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as SweepPoint);
}

/** Runs (or resumes) the sweep; returns every point. */
export async function samplerSweep(o: SamplerSweepOptions): Promise<SweepPoint[]> {
  const cfgPath = join(o.runDir, 'config.json');
  if (!existsSync(cfgPath)) throw new Error(`${o.runDir}: no config.json (not a run directory)`);
  const runCfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { model: unknown; data: DataConfig };
  const model = resolveModelConfig(runCfg.model);
  mkdirSync(o.out, { recursive: true });
  const file = join(o.out, 'results.jsonl');
  const points = readPoints(file);
  const done = new Set(points.map(key));
  const plan = sweepPlan(o);
  const realFeatureCache = new Map<string, FeatureMatrix>(); // every point compares with the same real images
  for (const [i, p] of plan.entries()) {
    const head = { study: p.study, sampler: samplerLabel(p.s), steps: p.steps, cfg: p.cfg, interval: `(${p.interval[0]}, ${p.interval[1]})` };
    if (done.has(key(head))) continue;
    if (!o.quiet) console.log(`[${i + 1}/${plan.length}] ${head.study}: ${head.sampler} ${head.steps} steps, CFG ${head.cfg} on ${head.interval}`);
    const ev: EvalConfig = { samples: o.samples, sampler: p.s.sampler, order: p.s.order, steps: p.steps, cfg: p.cfg, interval: p.interval };
    const m = await evaluateRun(o.runDir, { seed: o.seed, model, data: runCfg.data, eval: ev, label: basename(o.runDir), quiet: o.quiet, realFeatureCache });
    const point: SweepPoint = { ...head, nfe: modelEvaluations(p.s.sampler, p.steps), ...m };
    appendFileSync(file, JSON.stringify(point) + '\n');
    points.push(point);
  }
  await writeSweepReport(points, o);
  return points;
}

const round = (v: number | null, d: number) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);

/** summary.md and the two charts. */
export async function writeSweepReport(points: readonly SweepPoint[], o: Pick<SamplerSweepOptions, 'out' | 'figures' | 'runDir' | 'samples'>): Promise<void> {
  const rows = points.map((p) => ({ study: p.study, sampler: p.sampler, steps: p.steps, NFE: p.nfe, CFG: p.cfg, interval: p.interval, FID: round(p.fid, 2), KID: round(p.kid, 3), precision: round(p.precision, 3), recall: round(p.recall, 3), 'class accuracy': round(p.classAccuracy, 3) }));
  const floor = points.find((p) => p.realFid !== null)?.realFid;
  writeFileSync(
    join(o.out, 'summary.md'),
    `# Sampler sweep\n\nRun \`${o.runDir}\` (EMA weights), ${o.samples} class-balanced samples per point, one noise seed for all points; features: ${points[0]?.extractor ?? '-'}; real-vs-real FID floor ${floor?.toFixed(2) ?? '-'}.\n\n${tableMarkdown(rows)}\n`,
  );
  const steps = points.filter((p) => p.study === 'steps');
  const cfg = points.filter((p) => p.study === 'cfg');
  const line = (values: object[], x: string, xTitle: string, color: string, title: string, logX: boolean): VegaLiteSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 360,
    height: 240,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x, type: 'quantitative', title: xTitle, ...(logX ? { scale: { type: 'log' } } : {}) },
      y: { field: 'fid', type: 'quantitative', title: 'FID (lower is better)', scale: { zero: false } },
      color: { field: color, type: 'nominal' },
    },
  });
  if (steps.length) await writeFigure(line(steps, 'steps', 'sampling steps', 'sampler', `FID by steps (CFG ${steps[0]!.cfg} on ${steps[0]!.interval})`, true), `${o.figures}-steps`);
  if (cfg.length) await writeFigure(line(cfg, 'cfg', 'CFG scale', 'interval', `FID by CFG scale (${cfg[0]!.sampler}, ${cfg[0]!.steps} steps)`, false), `${o.figures}-cfg`);
}
