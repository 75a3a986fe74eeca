/**
 * Eigendecomposition of a real symmetric matrix in Float64: Householder reduction to
 * tridiagonal form, then the implicit QL algorithm (EISPACK tred2 / tql2, as in JAMA,
 * public domain). A = V diag(lambda) V^T with V orthogonal.
 *
 * Legend: n the matrix size; matrices are row-major Float64Array [n, n].
 * Storage trick: the working matrix W holds V transposed, so that the column sweeps of the
 * textbook algorithm (V[k][j] over k) run along contiguous memory; at the end row j of W is
 * the eigenvector of eigenvalue j.
 */
import { ShapeError } from '../util/errors';

/** Eigenvalues ascending and, when asked for, the eigenvectors as rows. */
export interface SymmetricEigen {
  /** [n], ascending. */
  readonly values: Float64Array;
  /** [n, n] row-major: row j is the unit eigenvector of values[j]. Only when `vectors` was true. */
  readonly vectors?: Float64Array;
}

/** QL sweeps allowed per eigenvalue before giving up (converges in 1-3 in practice). */
const MAX_QL_ITERATIONS = 60;
const EPS = 2 ** -52;

/**
 * Eigenvalues (ascending) and optionally eigenvectors of the symmetric [n, n] matrix `a`
 * (only its lower triangle is read; `a` is not modified).
 *
 *   const { values, vectors } = symmetricEigen(cov, F, { vectors: true });
 *
 * Cost ~ (4/3) n^3 flops for values only, ~ 9 n^3 with vectors.
 */
export function symmetricEigen(a: Float64Array, n: number, opts: { vectors?: boolean } = {}): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`symmetricEigen: size n = ${n} must be a positive integer`);
  if (a.length !== n * n) throw new ShapeError(`symmetricEigen: matrix has ${a.length} values, [${n}, ${n}] needs ${n * n}`);
  const wantVectors = opts.vectors ?? false;
  // W[c*n + r] = V[r][c]; start from V = A (A symmetric, so W = A's lower triangle transposed).
  const w = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c <= r; c++) w[c * n + r] = a[r * n + c]!;
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(w, d, e, n, wantVectors);
  tridiagonalQl(w, d, e, n, wantVectors);
  return sortAscending(d, wantVectors ? w : undefined, n);
}

// ---------------------------------------------------------------------------------------------
// Householder tridiagonalisation (tred2). On return d is the diagonal, e[1..n-1] the
// sub-diagonal (e[0] = 0) and, with vectors, W = V^T the accumulated orthogonal transform.
// ---------------------------------------------------------------------------------------------

function tridiagonalize(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  // V[r][c] is w[c*n + r] throughout.
  for (let j = 0; j < n; j++) d[j] = w[j * n + (n - 1)]!;
  for (let i = n - 1; i > 0; i--) {
    // Scale to avoid under/overflow.
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + (i - 1)]!;
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      // Householder vector.
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // Similarity transform of the remaining columns.
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        w[i * n + j] = f; // V[j][i]
        const col = j * n;
        g = e[j]! + w[col + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = w[col + k]!;
          g += vkj * d[k]!;
          e[k]! += vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const col = j * n;
        for (let k = j; k <= i - 1; k++) w[col + k]! -= f * e[k]! + g * d[k]!;
        d[j] = w[col + (i - 1)]!;
        w[col + i] = 0; // V[i][j]
      }
    }
    d[i] = h;
  }

  if (!wantVectors) {
    // The tridiagonal's diagonal sits on W's diagonal (tred2 copies it into V[n-1][*] below).
    for (let j = 0; j < n; j++) d[j] = w[j * n + j]!;
    e[0] = 0;
    return;
  }

  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    w[i * n + (n - 1)] = w[i * n + i]!; // V[n-1][i] = V[i][i]
    w[i * n + i] = 1;
    const h = d[i + 1]!;
    const next = (i + 1) * n; // column i+1 of V
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[next + k]! / h;
      for (let j = 0; j <= i; j++) {
        const col = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += w[next + k]! * w[col + k]!;
        for (let k = 0; k <= i; k++) w[col + k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) w[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + (n - 1)]!;
    w[j * n + (n - 1)] = 0;
  }
  w[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

// ---------------------------------------------------------------------------------------------
// Implicit QL on the tridiagonal (tql2). On return d holds the eigenvalues (unsorted) and,
// with vectors, the rows of W the eigenvectors.
// ---------------------------------------------------------------------------------------------

function tridiagonalQl(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    // Find a small sub-diagonal element.
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= EPS * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > MAX_QL_ITERATIONS)
          throw new Error(`symmetricEigen: QL did not converge for eigenvalue ${l} of ${n} after ${MAX_QL_ITERATIONS} iterations (non-finite input?)`);
        // Implicit shift.
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        // Implicit QL transformation.
        p = d[m]!;
        let c = 1, c2 = 1, c3 = 1;
        const el1 = e[l + 1]!;
        let s = 0, s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (wantVectors) {
            // Rotate rows i and i+1 of W (columns of V).
            const ri = i * n, ri1 = ri + n;
            for (let k = 0; k < n; k++) {
              const vk1 = w[ri1 + k]!, vk = w[ri + k]!;
              w[ri1 + k] = s * vk + c * vk1;
              w[ri + k] = c * vk - s * vk1;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

function sortAscending(d: Float64Array, w: Float64Array | undefined, n: number): SymmetricEigen {
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[i]! - d[j]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  if (!w) return { values };
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(w.subarray(src * n, src * n + n), dst * n));
  return { values, vectors };
}
