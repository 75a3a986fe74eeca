/**
 * Kernel Inception Distance (Binkowski et al. 2018): the unbiased MMD^2 between two feature
 * sets under the cubic polynomial kernel
 *
 *   k(x, y) = (x . y / F + 1)^3,
 *
 * averaged over random subsets, as torch-fidelity's `kid_subsets` / `kid_subset_size`.
 * For subsets X, Y of m samples each,
 *
 *   MMD^2 = sum_{i != j} k(x_i, x_j) / (m(m-1)) + sum_{i != j} k(y_i, y_j) / (m(m-1))
 *           - 2 sum_{i, j} k(x_i, y_j) / m^2.
 *
 * Legend: N samples, F features, m the subset size; features row-major [N, F].
 */
import { ConfigError } from '../util/errors';
import { mulberry32 } from '../util/seed';
import { checkFeatures, checkSameWidth, type FeatureArray, type FeatureMatrix } from './feature-matrix';

export interface KidOptions {
  /** Number of subset pairs averaged. Default 100 (torch-fidelity, clean-fid). */
  subsets?: number;
  /** Samples per subset, drawn without replacement; must be <= min(N_real, N_generated). Default 1000. */
  subsetSize?: number;
  /** Seed of the subset draws (mulberry32). Default 0. */
  seed?: number;
  /**
   * How kernel values are obtained; the estimates agree to rounding (~1e-15 relative).
   * 'per-subset': evaluate the m x m kernel blocks of each subset pair (2 m^2 F multiply-adds each).
   * 'full': evaluate the whole N x N kernel matrices once ((N1^2 + N2^2) / 2 + N1 N2 dot products,
   *   (N1^2 + N2^2 + N1 N2) Float64 values) and look subsets up in them.
   * 'auto' (default): 'full' when it costs fewer dot products and fits KID_FULL_KERNEL_MAX_VALUES.
   */
  strategy?: 'auto' | 'full' | 'per-subset';
}

export interface KidResult {
  /** Mean of the per-subset MMD^2 estimates (can be slightly negative: the estimate is unbiased). */
  readonly mean: number;
  /** Population std (ddof 0, as torch-fidelity) of the per-subset estimates. */
  readonly std: number;
  /** [subsets] the per-subset MMD^2 estimates. */
  readonly perSubset: Float64Array;
  readonly subsets: number;
  readonly subsetSize: number;
  /** The strategy used ('auto' resolved). */
  readonly strategy: 'full' | 'per-subset';
}

export const KID_DEFAULTS: Required<KidOptions> = { subsets: 100, subsetSize: 1000, seed: 0, strategy: 'auto' };

/** Most Float64 kernel values 'auto' will hold for the 'full' strategy: 2^24 (128 MiB; N1 = N2 = 2364). */
export const KID_FULL_KERNEL_MAX_VALUES = 2 ** 24;

/**
 * KID between real [N1, F] and generated [N2, F] features.
 *
 *   const { mean, std } = kid(real, fake, { subsets: 100, subsetSize: 1000, seed: 0 });
 */
export function kid(real: FeatureMatrix, generated: FeatureMatrix, opts: KidOptions = {}): KidResult {
  checkFeatures(real, 'kid: real features', 2);
  checkFeatures(generated, 'kid: generated features', 2);
  checkSameWidth(real, generated, 'kid: real features', 'generated features');
  const subsets = opts.subsets ?? KID_DEFAULTS.subsets;
  const m = opts.subsetSize ?? KID_DEFAULTS.subsetSize;
  const seed = opts.seed ?? KID_DEFAULTS.seed;
  const [n1, f] = real.shape;
  const n2 = generated.shape[0];
  const nMax = Math.min(n1, n2);
  if (!Number.isInteger(subsets) || subsets < 1) throw new ConfigError('kid.subsets', subsets, 'must be an integer >= 1');
  if (!Number.isInteger(m) || m < 2 || m > nMax)
    throw new ConfigError('kid.subsetSize', m, `must be an integer in [2, min(N_real, N_generated) = ${nMax}]`);
  const strategy = resolveStrategy(opts.strategy ?? KID_DEFAULTS.strategy, n1, n2, m, subsets);

  const rand = mulberry32(seed);
  const perSubset = new Float64Array(subsets);
  const mmd = (kxx: number, kyy: number, kxy: number) => (kxx + kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
  switch (strategy) {
    case 'full': {
      const x = toFloat64(real.data), y = toFloat64(generated.data);
      const kXX = kernelMatrix(x, n1, x, n1, f, true); // [N1, N1]
      const kYY = kernelMatrix(y, n2, y, n2, f, true); // [N2, N2]
      const kXY = kernelMatrix(x, n1, y, n2, f, false); // [N1, N2]
      for (let s = 0; s < subsets; s++) {
        const ix = sampleWithoutReplacement(n1, m, rand);
        const iy = sampleWithoutReplacement(n2, m, rand);
        perSubset[s] = mmd(sumOffDiagonal(kXX, n1, ix), sumOffDiagonal(kYY, n2, iy), sumCross(kXY, n2, ix, iy));
      }
      break;
    }
    case 'per-subset': {
      const xs = new Float64Array(m * f); // [m, F] current real subset
      const ys = new Float64Array(m * f); // [m, F] current generated subset
      const all = Uint32Array.from({ length: m }, (_, i) => i);
      for (let s = 0; s < subsets; s++) {
        gatherRows(real, sampleWithoutReplacement(n1, m, rand), xs);
        gatherRows(generated, sampleWithoutReplacement(n2, m, rand), ys);
        const kxx = sumOffDiagonal(kernelMatrix(xs, m, xs, m, f, true), m, all);
        const kyy = sumOffDiagonal(kernelMatrix(ys, m, ys, m, f, true), m, all);
        perSubset[s] = mmd(kxx, kyy, sumCross(kernelMatrix(xs, m, ys, m, f, false), m, all, all));
      }
      break;
    }
    default: {
      const never: never = strategy;
      throw new ConfigError('kid.strategy', never, "must be 'auto', 'full' or 'per-subset'");
    }
  }
  let mean = 0;
  for (const v of perSubset) mean += v;
  mean /= subsets;
  let variance = 0;
  for (const v of perSubset) variance += (v - mean) ** 2;
  return { mean, std: Math.sqrt(variance / subsets), perSubset, subsets, subsetSize: m, strategy };
}

function resolveStrategy(s: 'auto' | 'full' | 'per-subset', n1: number, n2: number, m: number, subsets: number): 'full' | 'per-subset' {
  switch (s) {
    case 'full':
    case 'per-subset':
      return s;
    case 'auto': {
      const fullDots = (n1 * n1 + n2 * n2) / 2 + n1 * n2;
      const subsetDots = subsets * 2 * m * m;
      return fullDots < subsetDots && n1 * n1 + n2 * n2 + n1 * n2 <= KID_FULL_KERNEL_MAX_VALUES ? 'full' : 'per-subset';
    }
    default: {
      const never: never = s;
      throw new ConfigError('kid.strategy', never, "must be 'auto', 'full' or 'per-subset'");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Kernel matrices and their sums
// ---------------------------------------------------------------------------------------------

/**
 * K[i][j] = (a_i . b_j / F + 1)^3 for rows of a [na, F] and b [nb, F]. With `symmetric` (a = b)
 * only j > i is evaluated and mirrored; the diagonal is left 0 (never read). [na, nb]
 */
function kernelMatrix(a: Float64Array, na: number, b: Float64Array, nb: number, f: number, symmetric: boolean): Float64Array {
  // Dot products as a b^T in axpy form: row i of the result += a[i][k] * b^T[k][:], four k per pass.
  const bt = new Float64Array(f * nb); // [F, nb]
  for (let j = 0; j < nb; j++) for (let k = 0; k < f; k++) bt[k * nb + j] = b[j * f + k]!;
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    const oi = i * nb, ai = i * f;
    const j0 = symmetric ? i + 1 : 0;
    let k = 0;
    for (; k + 4 <= f; k += 4) {
      const c0 = a[ai + k]!, c1 = a[ai + k + 1]!, c2 = a[ai + k + 2]!, c3 = a[ai + k + 3]!;
      const r0 = k * nb, r1 = r0 + nb, r2 = r1 + nb, r3 = r2 + nb;
      for (let j = j0; j < nb; j++) out[oi + j]! += c0 * bt[r0 + j]! + c1 * bt[r1 + j]! + c2 * bt[r2 + j]! + c3 * bt[r3 + j]!;
    }
    for (; k < f; k++) {
      const c = a[ai + k]!, r = k * nb;
      for (let j = j0; j < nb; j++) out[oi + j]! += c * bt[r + j]!;
    }
    for (let j = j0; j < nb; j++) {
      const base = out[oi + j]! / f + 1;
      out[oi + j] = base * base * base;
    }
  }
  if (symmetric) for (let i = 0; i < na; i++) for (let j = i + 1; j < nb; j++) out[j * nb + i] = out[i * nb + j]!;
  return out;
}

/** sum_{p != q} K[idx_p][idx_q] for a symmetric kernel matrix K [n, n] and distinct indices. */
function sumOffDiagonal(k: Float64Array, n: number, idx: Uint32Array): number {
  let total = 0;
  for (let p = 0; p < idx.length; p++) {
    const row = idx[p]! * n;
    for (let q = p + 1; q < idx.length; q++) total += k[row + idx[q]!]!;
  }
  return 2 * total;
}

/** sum_{p, q} K[ix_p][iy_q] for a kernel matrix K [*, n2]. */
function sumCross(k: Float64Array, n2: number, ix: Uint32Array, iy: Uint32Array): number {
  let total = 0;
  for (const i of ix) {
    const row = i * n2;
    for (const j of iy) total += k[row + j]!;
  }
  return total;
}

function toFloat64(a: FeatureArray): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

// ---------------------------------------------------------------------------------------------
// Subsets
// ---------------------------------------------------------------------------------------------

/** m distinct indices from [0, n), uniformly (partial Fisher-Yates). */
function sampleWithoutReplacement(n: number, m: number, rand: () => number): Uint32Array {
  const pool = new Uint32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.subarray(0, m);
}

/** Copies rows `idx` of x into out [m, F] as Float64. */
function gatherRows(x: FeatureMatrix, idx: Uint32Array, out: Float64Array): void {
  const f = x.shape[1];
  idx.forEach((r, i) => {
    for (let j = 0; j < f; j++) out[i * f + j] = x.data[r * f + j]!;
  });
}
