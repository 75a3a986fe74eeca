/**
 * Sample-based evaluation of a run directory (EMA weights by default): the metrics the ablation
 * tables and `pixnerd evaluate` show.
 *
 * The run's model draws `eval.samples` class-balanced images with the eval recipe (sampler,
 * steps, CFG and interval; noise seeded by `seed`). They are compared with the same number of
 * real test-split images, and two disjoint real sets (test vs train) give the real-vs-real FID
 * floor, all through one feature network:
 * - MNIST / Fashion-MNIST: the project's small CNN for that dataset (kernel-lib/classifier,
 *   shipped weights), whose predictions also give the class accuracy of the samples;
 * - colour datasets (emoji, folder): the nsfwjs MobileNetV2's pooled features (no class accuracy).
 * `eval.classifier` overrides the choice (`mnist`, `fashion-mnist`, `mobilenet-v2`, `none`).
 * `eval.samples = 0` or `none` skip sampling: every metric is null.
 *
 * Example:
 *   const m = await evaluateRun('runs/mnist-tiny', { eval: { ...EVAL_DEFAULTS, samples: 1000, cfg: 2 } });
 *   console.log(m.fid, m.realFid, m.classAccuracy);
 */
import type { ModelConfig } from '../config/model-config';
import { resolveModelConfig } from '../config/presets';
import { evaluate } from '../metrics/evaluate';
import type { FeatureMatrix } from '../metrics/feature-matrix';
import { defaultNetworkFor, loadNetwork } from '../classifier/networks';
import { checkFinalAverage, SAMPLER_KINDS, type FinalAverageSpec, type SamplerKind } from '../sampling/sample';
import { datasetFromConfig, type DataConfig } from '../../data-loaders/from-config';
import { ConfigError } from '../util/errors';
import { readRunConfig } from './run-dir';
import type { MatmulPrecision } from '../backend/precision';

/** How a run is evaluated: sample count, sampler recipe, feature network. */
export interface EvalConfig {
  /** Generated samples per run for the metrics (0: losses only). */
  samples: number;
  sampler: SamplerKind;
  steps: number;
  order?: number;
  cfg: number;
  interval: [number, number];
  /** Sampling time-grid shift t / (t + (1 - t) shift); > 1 spends more steps near the noise (default 1: none). */
  shift?: number;
  /** The sampling grid's last jump (sample-classes.ts; default 1 / steps). */
  lastStep?: number;
  /** End each sample with the mean clean estimate over `draws` re-noisings at `t` (sampling/sample.ts FinalAverage). */
  finalAverage?: FinalAverageSpec;
  /** Feature network: the project's classifier for this dataset (default: the data's dataset). */
  classifier?: string;
}

/**
 * Defaults of an experiment file's "eval": Heun 10 steps, CFG 2 on (0.1, 1) (the recipe study's
 * third-round sampler), 500 samples. The `evaluate` command defaults to the main job's sampler
 * instead (MAIN_JOB_SAMPLING); these stay so that finished runs keep their config hashes.
 */
export const EVAL_DEFAULTS: EvalConfig = { samples: 500, sampler: 'heun', steps: 10, cfg: 2, interval: [0.1, 1] };

/** Checks an eval recipe; throws ConfigError naming the field. */
export function validateEvalConfig(ev: EvalConfig): EvalConfig {
  for (const k of Object.keys(ev)) if (!(k in EVAL_DEFAULTS) && k !== 'order' && k !== 'classifier' && k !== 'shift' && k !== 'lastStep' && k !== 'finalAverage') throw new ConfigError(`eval.${k}`, (ev as unknown as Record<string, unknown>)[k], 'unknown field');
  if (!Number.isInteger(ev.samples) || ev.samples < 0) throw new ConfigError('eval.samples', ev.samples, 'must be an integer >= 0');
  if (!SAMPLER_KINDS.includes(ev.sampler)) throw new ConfigError('eval.sampler', ev.sampler, `must be one of ${SAMPLER_KINDS.join(', ')}`);
  if (!Number.isInteger(ev.steps) || ev.steps < 1) throw new ConfigError('eval.steps', ev.steps, 'must be a positive integer');
  if (!Number.isFinite(ev.cfg) || ev.cfg < 0) throw new ConfigError('eval.cfg', ev.cfg, 'must be a number >= 0');
  if (!Array.isArray(ev.interval) || ev.interval.length !== 2 || !(ev.interval[0] >= 0 && ev.interval[0] <= ev.interval[1] && ev.interval[1] <= 1)) {
    throw new ConfigError('eval.interval', ev.interval, 'must be [a, b] with 0 <= a <= b <= 1');
  }
  if (ev.shift !== undefined && !(Number.isFinite(ev.shift) && ev.shift > 0)) throw new ConfigError('eval.shift', ev.shift, 'must be a number > 0 (1 = no shift)');
  if (ev.finalAverage !== undefined) {
    try {
      checkFinalAverage(ev.finalAverage);
    } catch (e) {
      throw new ConfigError('eval.finalAverage', ev.finalAverage, (e as Error).message.replace(/^finalAverage\./, ''));
    }
  }
  if (ev.lastStep !== undefined && !(Number.isFinite(ev.lastStep) && ev.lastStep > 0 && ev.lastStep <= 1)) throw new ConfigError('eval.lastStep', ev.lastStep, 'must be a number in (0, 1]');
  return ev;
}

export interface RunMetrics {
  fid: number | null;
  kid: number | null;
  kidStd: number | null;
  precision: number | null;
  recall: number | null;
  classAccuracy: number | null;
  /** FID of real vs real (two disjoint sets of the same size): the floor for this sample count. */
  realFid: number | null;
  /** Isolated pixels per 1,000 in the samples (metrics/speckle.ts), and in the real images they were compared with. */
  speckle: number | null;
  realSpeckle: number | null;
  /** The fraction of images with a stray mark (metrics/stray-marks.ts), samples and real images. */
  strayMarks: number | null;
  realStrayMarks: number | null;
  /** The feature network the metrics used. */
  extractor: string | null;
  evalSamples: number;
  evalSeconds: number;
}

export const EVAL_EXTRACTORS = ['mnist', 'fashion-mnist', 'mobilenet-v2', 'none'] as const;
export type EvalExtractor = (typeof EVAL_EXTRACTORS)[number];

/** The feature network for a run: eval.classifier, else the dataset's own classifier, else MobileNetV2. */
export function evalExtractorFor(spec: { data: DataConfig; eval: EvalConfig }): EvalExtractor {
  const name = spec.eval.classifier ?? defaultNetworkFor(spec.data.dataset);
  if (!(EVAL_EXTRACTORS as readonly string[]).includes(name)) throw new ConfigError('eval.classifier', name, `must be one of ${EVAL_EXTRACTORS.join(', ')}`);
  return name as EvalExtractor;
}

const NO_METRICS: RunMetrics = { fid: null, kid: null, kidStd: null, precision: null, recall: null, classAccuracy: null, realFid: null, speckle: null, realSpeckle: null, strayMarks: null, realStrayMarks: null, extractor: null, evalSamples: 0, evalSeconds: 0 };

export interface EvaluateRunOptions {
  eval: EvalConfig;
  /** Noise and real-set seed (default: the run's train.seed). */
  seed?: number;
  /** The run's model and data configs (default: read from the run's config.json). */
  model?: ModelConfig;
  data?: DataConfig;
  /** Which weights: EMA (default) or the online model. */
  weights?: 'ema' | 'model';
  /** Label for progress lines (default: the run directory). */
  label?: string;
  quiet?: boolean;
  /** Reuses the real sets' features across calls (sampler sweeps). */
  realFeatureCache?: Map<string, FeatureMatrix>;
  /** The model forward's matMul precision (default PIXNERD_PRECISION, else fp32); the feature network stays fp32. */
  precision?: MatmulPrecision;
}

/** Evaluates a run directory's model as the eval recipe says. Reads the run without its lock. */
export async function evaluateRun(runDir: string, o: EvaluateRunOptions): Promise<RunMetrics> {
  const needsConfig = !o.model || !o.data || o.seed === undefined;
  const cfg = needsConfig ? (readRunConfig(runDir) as { model?: unknown; data?: DataConfig; train?: { seed?: number } }) : {};
  const model = o.model ?? resolveModelConfig(cfg.model);
  const data = o.data ?? cfg.data;
  if (!data?.dataset) throw new Error(`${runDir}/config.json names no dataset ("data": {"dataset": ...}); evaluate needs one`);
  const seed = o.seed ?? cfg.train?.seed ?? 0;
  const ev = validateEvalConfig(o.eval);
  const which = evalExtractorFor({ data, eval: ev });
  const n = ev.samples;
  if (n === 0 || which === 'none') return NO_METRICS;
  const size = model.imageSize;
  // MNIST / Fashion-MNIST: test split vs train split; datasets without splits (emoji, folder)
  // draw the baseline's n images from the same set
  const hasSplits = data.dataset === 'mnist' || data.dataset === 'fashion-mnist';
  const real = await datasetFromConfig({ ...data, split: 'test' }, size);
  const realBaseline = hasSplits ? await datasetFromConfig({ ...data, split: 'train' }, size) : undefined;
  const extractor = await loadNetwork(which);
  const label = o.label ?? runDir;
  let last = 0;
  const t0 = performance.now();
  try {
    const r = await evaluate({
      source: { kind: 'run', runDir, weights: o.weights, sampler: { sampler: ev.sampler, steps: ev.steps, order: ev.order, cfg: ev.cfg, interval: ev.interval, shift: ev.shift, lastStep: ev.lastStep, finalAverage: ev.finalAverage, seed, precision: o.precision } },
      real,
      realBaseline,
      extractor,
      n,
      seed,
      realFeatureCache: o.realFeatureCache,
      onProgress: o.quiet
        ? undefined
        : (done, total) => {
            const now = performance.now();
            if (done < total && now - last < 5000) return;
            last = now;
            const s = (now - t0) / 1000;
            console.log(`  eval ${label}: ${done}/${total} images featurised, ${s.toFixed(0)} s, ETA ${done ? ((s * (total - done)) / done).toFixed(0) : '?'} s`);
          },
    });
    return {
      fid: r.fid,
      kid: r.kid.mean,
      kidStd: r.kid.std,
      precision: r.precision,
      recall: r.recall,
      classAccuracy: r.classAccuracy,
      realFid: r.realVsRealFid,
      speckle: r.speckle,
      realSpeckle: r.realSpeckle,
      strayMarks: r.strayMarks,
      realStrayMarks: r.realStrayMarks,
      extractor: r.extractor,
      evalSamples: r.n,
      evalSeconds: Math.round(r.seconds * 10) / 10,
    };
  } finally {
    extractor.dispose();
  }
}
