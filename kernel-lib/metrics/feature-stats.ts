/**
 * Gaussian statistics of a feature matrix: the mean mu [F] and the unbiased covariance
 * Sigma [F, F] = Xc^T Xc / (N - 1), Xc the centred features. These are what FID compares
 * (and what pytorch-fid stores in its .npz files as `mu`, `sigma`).
 */
import { ShapeError } from '../util/errors';
import { checkFeatures, type FeatureMatrix } from './feature-matrix';

/** Mean and covariance of N samples of F features. */
export interface FeatureStats {
  /** [F] */
  readonly mean: Float64Array;
  /** [F, F], row-major, symmetric. */
  readonly cov: Float64Array;
  /** N, the number of samples the stats came from (informational). */
  readonly count: number;
}

/** Per-feature mean, Float64. [N, F] -> [F] */
export function featureMean(x: FeatureMatrix): Float64Array {
  checkFeatures(x, 'featureMean', 1);
  const [n, f] = x.shape;
  const d = x.data;
  const mean = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    const o = i * f;
    for (let j = 0; j < f; j++) mean[j]! += d[o + j]!;
  }
  for (let j = 0; j < f; j++) mean[j]! /= n;
  return mean;
}

/**
 * Unbiased covariance (divides by N - 1) around `mean` (computed when not given). Needs N >= 2.
 * The features are centred in Float64 first, so a large common offset costs no precision.
 * [N, F] -> [F, F]
 */
export function featureCovariance(x: FeatureMatrix, mean: Float64Array = featureMean(x)): Float64Array {
  checkFeatures(x, 'featureCovariance', 2);
  const [n, f] = x.shape;
  if (mean.length !== f) throw new ShapeError(`featureCovariance: mean has ${mean.length} entries, features have F = ${f}`);
  const xc = new Float64Array(n * f); // [N, F] centred
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) xc[i * f + j] = x.data[i * f + j]! - mean[j]!;

  // Upper triangle of Xc^T Xc, four samples per pass over the [F, F] accumulator.
  const cov = new Float64Array(f * f);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = i * f, o1 = o0 + f, o2 = o1 + f, o3 = o2 + f;
    for (let a = 0; a < f; a++) {
      const a0 = xc[o0 + a]!, a1 = xc[o1 + a]!, a2 = xc[o2 + a]!, a3 = xc[o3 + a]!;
      const row = a * f;
      for (let b = a; b < f; b++) cov[row + b]! += a0 * xc[o0 + b]! + a1 * xc[o1 + b]! + a2 * xc[o2 + b]! + a3 * xc[o3 + b]!;
    }
  }
  for (; i < n; i++) {
    const o = i * f;
    for (let a = 0; a < f; a++) {
      const xa = xc[o + a]!;
      const row = a * f;
      for (let b = a; b < f; b++) cov[row + b]! += xa * xc[o + b]!;
    }
  }
  for (let a = 0; a < f; a++) {
    for (let b = a; b < f; b++) {
      const v = cov[a * f + b]! / (n - 1);
      cov[a * f + b] = v;
      cov[b * f + a] = v;
    }
  }
  return cov;
}

/** Mean [F] and unbiased covariance [F, F] of a [N, F] feature matrix (N >= 2). */
export function featureStats(x: FeatureMatrix): FeatureStats {
  checkFeatures(x, 'featureStats', 2);
  const mean = featureMean(x);
  return { mean, cov: featureCovariance(x, mean), count: x.shape[0] };
}

/** Throws a ShapeError unless `s` is a mean [F] with a square covariance [F, F] of finite values. */
export function checkStats(s: FeatureStats, what: string): void {
  const f = s.mean.length;
  if (f < 1) throw new ShapeError(`${what}: mean has no entries`);
  if (s.cov.length !== f * f)
    throw new ShapeError(`${what}: covariance has ${s.cov.length} values, mean has F = ${f} so it needs F*F = ${f * f}`);
  for (const [name, a] of [['mean', s.mean], ['covariance', s.cov]] as const) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new ShapeError(`${what}: ${name} value ${a[i]} at index ${i} is not finite`);
  }
}
