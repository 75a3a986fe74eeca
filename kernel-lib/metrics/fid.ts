/**
 * Frechet distance between two Gaussians fitted to feature sets (FID when the features are
 * Inception pool3 activations, Heusel et al. 2017):
 *
 *   d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 sqrtm(S1 S2))
 *
 * Legend: N samples, F features; mu [F], S [F, F] the unbiased covariance (N - 1), as pytorch-fid.
 */
import { ShapeError } from '../util/errors';
import { checkFeatures, checkSameWidth, type FeatureMatrix } from './feature-matrix';
import { checkStats, featureStats, type FeatureStats } from './feature-stats';
import { FID_EPS, traceSqrtProduct } from './matrix-sqrt';

/** The distance and its two parts. */
export interface FidResult {
  /** max(meanTerm + traceTerm, 0): rounding can push a distance of ~0 slightly below 0. */
  readonly fid: number;
  /** ||mu1 - mu2||^2 */
  readonly meanTerm: number;
  /** tr S1 + tr S2 - 2 tr sqrtm(S1 S2) (before clipping). */
  readonly traceTerm: number;
  /** True when sqrt(S1) S2 sqrt(S1) was numerically singular (e.g. N < F). */
  readonly nearSingular: boolean;
  /** eps added to both diagonals inside the square root (pytorch-fid's fix for a singular product); 0 when none. */
  readonly offset: number;
}

export interface FidOptions {
  /** Diagonal offset used only when the product is near-singular; 0 turns it off. Default FID_EPS = 1e-6 (pytorch-fid). */
  eps?: number;
}

/**
 * Frechet distance from precomputed statistics (e.g. reference stats stored once).
 * As in pytorch-fid, the offset enters only the square root: the trace uses S1 and S2 as given.
 */
export function frechetDistance(a: FeatureStats, b: FeatureStats, opts: FidOptions = {}): FidResult {
  checkStats(a, 'frechetDistance: first stats');
  checkStats(b, 'frechetDistance: second stats');
  const f = a.mean.length;
  if (b.mean.length !== f) throw new ShapeError(`frechetDistance: feature dims differ: first stats have F = ${f}, second have F = ${b.mean.length}`);

  let meanTerm = 0;
  for (let j = 0; j < f; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  let traces = 0;
  for (let j = 0; j < f; j++) traces += a.cov[j * f + j]! + b.cov[j * f + j]!;
  const root = traceSqrtProduct(a.cov, b.cov, f, { eps: opts.eps ?? FID_EPS });
  const traceTerm = traces - 2 * root.trace;
  return { fid: Math.max(meanTerm + traceTerm, 0), meanTerm, traceTerm, nearSingular: root.nearSingular, offset: root.offset };
}

/**
 * Frechet distance between two feature sets [N1, F] and [N2, F] (N1, N2 >= 2).
 *
 *   const { fid } = fidFromFeatures(featureMatrix(real, N, F), featureMatrix(fake, M, F));
 */
export function fidFromFeatures(real: FeatureMatrix, generated: FeatureMatrix, opts: FidOptions = {}): FidResult {
  checkFeatures(real, 'fid: real features', 2);
  checkFeatures(generated, 'fid: generated features', 2);
  checkSameWidth(real, generated, 'fid: real features', 'generated features');
  return frechetDistance(featureStats(real), featureStats(generated), opts);
}
