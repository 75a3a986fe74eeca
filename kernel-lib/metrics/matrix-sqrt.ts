/**
 * Square roots of symmetric positive semi-definite (PSD) matrices, and the trace
 * tr sqrtm(S1 S2) that the Frechet distance needs, in Float64 via symmetric eigendecomposition.
 *
 * Legend: n the matrix size (F for covariances); matrices row-major Float64Array [n, n].
 *
 * Why eigen and not a general sqrtm: S1 S2 is not symmetric, but with S1 = U diag(d) U^T,
 *   sqrt(S1) S2 sqrt(S1) = U D^1/2 (U^T S2 U) D^1/2 U^T
 * is symmetric PSD and similar to S1 S2, so
 *   tr sqrtm(S1 S2) = sum_i sqrt(lambda_i(M)),   M = D^1/2 (U^T S2 U) D^1/2   [n, n].
 * Eigenvalues that rounding pushes below 0 are clipped at 0, so a singular S1 or S2 (N < F
 * samples) gives a finite, real answer instead of scipy's complex or NaN sqrtm.
 */
import { ShapeError } from '../util/errors';
import { symmetricEigen } from './symmetric-eigen';

/** pytorch-fid's default diagonal offset for a near-singular product (`calculate_frechet_distance(eps=1e-6)`). */
export const FID_EPS = 1e-6;
const EPS = 2 ** -52;

/** tr sqrtm(S1 S2) and how it was obtained. */
export interface TraceSqrtProduct {
  /** tr sqrtm(S1 S2), computed with the offset below when one was applied. */
  readonly trace: number;
  /** True when M = sqrt(S1) S2 sqrt(S1) is numerically singular: lambda_min <= n * 2^-52 * lambda_max (numpy's matrix_rank rule). */
  readonly nearSingular: boolean;
  /** eps added to the diagonals of S1 and S2 inside the square root (pytorch-fid's fix); 0 when none was added. */
  readonly offset: number;
  /**
   * Most negative eigenvalue of M (before any offset) relative to the largest, clipped to 0:
   * ~1e-16 is rounding; a large value means a "covariance" was not PSD.
   */
  readonly clippedNegative: number;
}

/**
 * Symmetric PSD square root R = U diag(sqrt(max(d, 0))) U^T, so that R R = S and R = R^T.
 * [n, n] -> [n, n]
 */
export function sqrtmPsd(s: Float64Array, n: number): Float64Array {
  checkSquare(s, n, 'sqrtmPsd');
  const { values, vectors } = symmetricEigen(s, n, { vectors: true });
  const u = vectors!; // row i = eigenvector i
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const root = Math.sqrt(Math.max(values[i]!, 0));
    if (root === 0) continue;
    const ui = i * n;
    for (let a = 0; a < n; a++) {
      const ca = root * u[ui + a]!;
      const row = a * n;
      for (let b = a; b < n; b++) r[row + b]! += ca * u[ui + b]!;
    }
  }
  mirrorUpper(r, n);
  return r;
}

/**
 * tr sqrtm(S1 S2) for symmetric PSD S1, S2 [n, n].
 *
 * If M = sqrt(S1) S2 sqrt(S1) is numerically singular (see `nearSingular`) and eps > 0, the value
 * is that of (S1 + eps I)(S2 + eps I), as pytorch-fid does when its sqrtm fails, and `offset`
 * says so. The offset reuses the eigenvectors of S1 (U^T (S2 + eps I) U = U^T S2 U + eps I), so it
 * costs one more eigenvalue pass. eps = 0 turns the offset off (clipping alone keeps it finite).
 *
 * Cost ~ 13 n^3 flops (eigen of S1 with vectors, U^T S2 U, eigenvalues of M).
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number, opts: { eps?: number } = {}): TraceSqrtProduct {
  checkSquare(s1, n, 'traceSqrtProduct: S1');
  checkSquare(s2, n, 'traceSqrtProduct: S2');
  const eps = opts.eps ?? FID_EPS;
  if (!(eps >= 0 && Number.isFinite(eps))) throw new ShapeError(`traceSqrtProduct: eps = ${eps} must be a finite number >= 0`);

  const { values: d, vectors } = symmetricEigen(s1, n, { vectors: true }); // S1 = U diag(d) U^T
  const b = congruence(vectors!, s2, n); // U^T S2 U  [n, n]

  const lambda = productEigenvalues(d, b, n, 0);
  const top = Math.max(lambda[n - 1]!, 0);
  const nearSingular = lambda[0]! <= n * EPS * top;
  const clippedNegative = top > 0 ? Math.max(-lambda[0]! / top, 0) : 0;
  if (!nearSingular || eps === 0) return { trace: sumSqrt(lambda), nearSingular, offset: 0, clippedNegative };

  for (let i = 0; i < n; i++) b[i * n + i]! += eps;
  return { trace: sumSqrt(productEigenvalues(d, b, n, eps)), nearSingular, offset: eps, clippedNegative };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Eigenvalues of M = D^1/2 B D^1/2 with D = diag(max(d, 0) + offset). */
function productEigenvalues(d: Float64Array, b: Float64Array, n: number, offset: number): Float64Array {
  const sd = Float64Array.from(d, (x) => Math.sqrt(Math.max(x, 0) + offset));
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = sd[i]! * b[i * n + j]! * sd[j]!;
  return symmetricEigen(m, n).values;
}

function sumSqrt(lambda: Float64Array): number {
  let t = 0;
  for (const l of lambda) t += Math.sqrt(Math.max(l, 0));
  return t;
}

/** U^T S U for U given by its columns as the rows of `u` (so this is u S u^T); symmetric result. [n, n] */
function congruence(u: Float64Array, s: Float64Array, n: number): Float64Array {
  // T = u S: row i of T = sum_l u[i][l] S[l][:], four l per pass over the row.
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ti = i * n;
    let l = 0;
    for (; l + 4 <= n; l += 4) {
      const c0 = u[ti + l]!, c1 = u[ti + l + 1]!, c2 = u[ti + l + 2]!, c3 = u[ti + l + 3]!;
      const s0 = l * n, s1 = s0 + n, s2 = s1 + n, s3 = s2 + n;
      for (let k = 0; k < n; k++) t[ti + k]! += c0 * s[s0 + k]! + c1 * s[s1 + k]! + c2 * s[s2 + k]! + c3 * s[s3 + k]!;
    }
    for (; l < n; l++) {
      const c = u[ti + l]!, sl = l * n;
      for (let k = 0; k < n; k++) t[ti + k]! += c * s[sl + k]!;
    }
  }
  // B = T u^T, upper triangle: row i of B (from column i on) = sum_k T[i][k] u^T[k][:].
  const ut = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) ut[k * n + i] = u[i * n + k]!;
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ti = i * n;
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      const c0 = t[ti + k]!, c1 = t[ti + k + 1]!, c2 = t[ti + k + 2]!, c3 = t[ti + k + 3]!;
      const r0 = k * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      for (let j = i; j < n; j++) b[ti + j]! += c0 * ut[r0 + j]! + c1 * ut[r1 + j]! + c2 * ut[r2 + j]! + c3 * ut[r3 + j]!;
    }
    for (; k < n; k++) {
      const c = t[ti + k]!, r = k * n;
      for (let j = i; j < n; j++) b[ti + j]! += c * ut[r + j]!;
    }
  }
  mirrorUpper(b, n);
  return b;
}

function mirrorUpper(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[j * n + i] = a[i * n + j]!;
}

function checkSquare(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`${what}: size n = ${n} must be a positive integer`);
  if (a.length !== n * n) throw new ShapeError(`${what}: matrix has ${a.length} values, [${n}, ${n}] needs ${n * n}`);
}
