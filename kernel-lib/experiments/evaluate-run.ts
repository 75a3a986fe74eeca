/**
 * Sample-based evaluation of a finished run (EMA weights): the metrics the ablation tables show.
 *
 * The run's EMA model draws `eval.samples` class-balanced images with the eval recipe (sampler,
 * steps, CFG and interval; noise seeded by the run's seed). They are compared with the same
 * number of real test-split images, and two disjoint real sets (test vs train) give the
 * real-vs-real FID floor, all through one feature network:
 * - MNIST / Fashion-MNIST: the project's small CNN for that dataset (kernel-lib/classifier,
 *   shipped weights), whose predictions also give the class accuracy of the samples;
 * - colour datasets (emoji, folder): the nsfwjs MobileNetV2's pooled features (no class accuracy).
 * `eval.classifier` overrides the choice (`mnist`, `fashion-mnist`, `mobilenet-v2`, `none`).
 * `eval.samples = 0` or `none` skip sampling: every metric is null.
 */
import type { RunSpec } from './experiment-config';
import { evaluate } from '../metrics/evaluate';
import type { FeatureMatrix } from '../metrics/feature-matrix';
import { defaultNetworkFor, loadNetwork } from '../classifier/networks';
import { datasetFromConfig } from '../../data-loaders/from-config';
import { ConfigError } from '../util/errors';

export interface RunMetrics {
  fid: number | null;
  kid: number | null;
  kidStd: number | null;
  precision: number | null;
  recall: number | null;
  classAccuracy: number | null;
  /** FID of real vs real (two disjoint sets of the same size): the floor for this sample count. */
  realFid: number | null;
  /** The feature network the metrics used. */
  extractor: string | null;
  evalSamples: number;
  evalSeconds: number;
}

export const EVAL_EXTRACTORS = ['mnist', 'fashion-mnist', 'mobilenet-v2', 'none'] as const;
export type EvalExtractor = (typeof EVAL_EXTRACTORS)[number];

/** The feature network for a run: eval.classifier, else the dataset's own classifier, else MobileNetV2. */
export function evalExtractorFor(spec: Pick<RunSpec, 'data' | 'eval'>): EvalExtractor {
  const name = spec.eval.classifier ?? defaultNetworkFor(spec.data.dataset);
  if (!(EVAL_EXTRACTORS as readonly string[]).includes(name)) throw new ConfigError('eval.classifier', name, `must be one of ${EVAL_EXTRACTORS.join(', ')}`);
  return name as EvalExtractor;
}

const NO_METRICS: RunMetrics = { fid: null, kid: null, kidStd: null, precision: null, recall: null, classAccuracy: null, realFid: null, extractor: null, evalSamples: 0, evalSeconds: 0 };

/** Evaluates a run directory's EMA model as the spec's eval recipe says. */
export async function evaluateRun(
  runDir: string,
  spec: Pick<RunSpec, 'seed' | 'model' | 'data' | 'eval' | 'dir'>,
  opts: { quiet?: boolean; realFeatureCache?: Map<string, FeatureMatrix> } = {},
): Promise<RunMetrics> {
  const which = evalExtractorFor(spec);
  const n = spec.eval.samples;
  if (n === 0 || which === 'none') return NO_METRICS;
  const size = spec.model.imageSize;
  // MNIST / Fashion-MNIST: test split vs train split; datasets without splits (emoji, folder)
  // draw the baseline's n images from the same set
  const hasSplits = spec.data.dataset === 'mnist' || spec.data.dataset === 'fashion-mnist';
  const real = await datasetFromConfig({ ...spec.data, split: 'test' }, size);
  const realBaseline = hasSplits ? await datasetFromConfig({ ...spec.data, split: 'train' }, size) : undefined;
  const extractor = await loadNetwork(which);
  let last = 0;
  const t0 = performance.now();
  try {
    const r = await evaluate({
      source: {
        kind: 'run',
        runDir,
        sampler: { sampler: spec.eval.sampler, steps: spec.eval.steps, order: spec.eval.order, cfg: spec.eval.cfg, interval: spec.eval.interval, seed: spec.seed },
      },
      real,
      realBaseline,
      extractor,
      n,
      seed: spec.seed,
      realFeatureCache: opts.realFeatureCache,
      onProgress: opts.quiet
        ? undefined
        : (done, total) => {
            const now = performance.now();
            if (done < total && now - last < 5000) return;
            last = now;
            const s = (now - t0) / 1000;
            console.log(`  eval ${spec.dir}: ${done}/${total} images featurised, ${s.toFixed(0)} s, ETA ${done ? ((s * (total - done)) / done).toFixed(0) : '?'} s`);
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
      extractor: r.extractor,
      evalSamples: r.n,
      evalSeconds: Math.round(r.seconds * 10) / 10,
    };
  } finally {
    extractor.dispose();
  }
}
