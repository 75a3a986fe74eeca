/**
 * Improved precision and recall (Kynkaanniemi et al. 2019). Each set's manifold is the union
 * of balls around its samples, the radius of a ball being the distance to the sample's k-th
 * nearest neighbour within its own set (itself excluded). Then
 *
 *   precision = fraction of generated samples inside the real manifold   (fidelity),
 *   recall    = fraction of real samples inside the generated manifold   (coverage).
 *
 * A sample is inside when its distance to some ball centre is <= that ball's radius (the
 * reference's `<=`). Distances are Euclidean, summed in Float64 from the differences.
 *
 * Legend: N samples, F features, k neighbours; features row-major [N, F].
 */
import { ConfigError } from '../util/errors';
import { checkFeatures, checkSameWidth, type FeatureMatrix } from './feature-matrix';

/** The reference's neighbourhood size (`nhood_size = 3`). */
export const PR_DEFAULT_K = 3;

export interface PrecisionRecallResult {
  /** Fraction of generated samples inside the real manifold, in [0, 1]. */
  readonly precision: number;
  /** Fraction of real samples inside the generated manifold, in [0, 1]. */
  readonly recall: number;
  readonly k: number;
}

/**
 * Precision and recall of generated [N2, F] against real [N1, F] features; k < min(N1, N2).
 *
 *   const { precision, recall } = precisionRecall(real, fake, { k: 3 });
 *
 * Cost: up to (N1^2 + N2^2) / 2 + 2 N1 N2 distance evaluations of F features (fewer in practice:
 * a membership test stops at the first ball that holds the sample).
 */
export function precisionRecall(real: FeatureMatrix, generated: FeatureMatrix, opts: { k?: number } = {}): PrecisionRecallResult {
  checkFeatures(real, 'precisionRecall: real features', 2);
  checkFeatures(generated, 'precisionRecall: generated features', 2);
  checkSameWidth(real, generated, 'precisionRecall: real features', 'generated features');
  const k = opts.k ?? PR_DEFAULT_K;
  const nMin = Math.min(real.shape[0], generated.shape[0]);
  if (!Number.isInteger(k) || k < 1 || k >= nMin)
    throw new ConfigError('precisionRecall.k', k, `must be an integer in [1, min(N_real, N_generated) - 1 = ${nMin - 1}]`);

  const realRadii = kthNeighbourSqDistances(real, k);
  const genRadii = kthNeighbourSqDistances(generated, k);
  return {
    precision: fractionInside(generated, real, realRadii),
    recall: fractionInside(real, generated, genRadii),
    k,
  };
}

/** Squared distance from each sample to its k-th nearest neighbour in the same set (itself excluded). [N, F] -> [N] */
export function kthNeighbourSqDistances(x: FeatureMatrix, k: number): Float64Array {
  const [n, f] = x.shape;
  const best = new Float64Array(n * k).fill(Infinity); // per sample, the k smallest, ascending
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const bound = Math.max(best[i * k + k - 1]!, best[j * k + k - 1]!);
      const d = sqDistanceUpTo(x.data, i * f, x.data, j * f, f, bound);
      if (d < best[i * k + k - 1]!) insertSorted(best, i * k, k, d);
      if (d < best[j * k + k - 1]!) insertSorted(best, j * k, k, d);
    }
  }
  const radii = new Float64Array(n);
  for (let i = 0; i < n; i++) radii[i] = best[i * k + k - 1]!;
  return radii;
}

/** Fraction of the rows of `probe` within sqrt(sqRadii[i]) of some row i of `centres`. */
function fractionInside(probe: FeatureMatrix, centres: FeatureMatrix, sqRadii: Float64Array): number {
  const [np, f] = probe.shape;
  const nc = centres.shape[0];
  // Large balls first: most inside samples are found after a few tries.
  const order = Array.from({ length: nc }, (_, i) => i).sort((a, b) => sqRadii[b]! - sqRadii[a]!);
  let inside = 0;
  for (let p = 0; p < np; p++) {
    for (const c of order) {
      const r2 = sqRadii[c]!;
      if (sqDistanceUpTo(probe.data, p * f, centres.data, c * f, f, r2) <= r2) {
        inside++;
        break;
      }
    }
  }
  return inside / np;
}

/**
 * ||a_i - b_j||^2, exact when it is <= bound; otherwise some value > bound (the sum stops early).
 */
function sqDistanceUpTo(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, f: number, bound: number): number {
  let s = 0;
  let k = 0;
  while (k < f) {
    const end = Math.min(k + 32, f);
    for (; k < end; k++) {
      const t = a[ao + k]! - b[bo + k]!;
      s += t * t;
    }
    if (s > bound) return s;
  }
  return s;
}

/** Inserts v into the ascending list best[o .. o+k), dropping the largest. */
function insertSorted(best: Float64Array, o: number, k: number, v: number): void {
  let p = o + k - 1;
  while (p > o && best[p - 1]! > v) {
    best[p] = best[p - 1]!;
    p--;
  }
  best[p] = v;
}
