/**
 * Feature matrices: the input of every metric in kernel-lib/metrics.
 *
 * Legend (all metric files): N samples, F features per sample, layout row-major [N, F]
 * (sample i is data[i*F .. (i+1)*F)). Arithmetic is Float64 whatever the storage.
 */
import { ShapeError } from '../util/errors';

export type FeatureArray = Float32Array | Float64Array;

/** N samples of F features, row-major [N, F]. */
export interface FeatureMatrix {
  readonly data: FeatureArray;
  /** [N, F] */
  readonly shape: readonly [number, number];
}

/**
 * Wraps a flat row-major array as a [N, F] feature matrix (no copy) and checks it.
 *
 *   const x = featureMatrix(tensor2d.dataSync() as Float32Array, N, F);
 */
export function featureMatrix(data: FeatureArray, n: number, f: number, what = 'features'): FeatureMatrix {
  const x: FeatureMatrix = { data, shape: [n, f] };
  checkFeatures(x, what);
  return x;
}

/** A Float64 [N, F] feature matrix built from N rows of F numbers (hand-built cases, tests). */
export function fromRows(rows: ReadonlyArray<ArrayLike<number>>, what = 'features'): FeatureMatrix {
  const n = rows.length;
  if (n === 0) throw new ShapeError(`${what}: no rows`);
  const f = rows[0]!.length;
  const data = new Float64Array(n * f);
  rows.forEach((r, i) => {
    if (r.length !== f) throw new ShapeError(`${what}: row ${i} has ${r.length} features, row 0 has ${f}`);
    for (let j = 0; j < f; j++) data[i * f + j] = r[j]!;
  });
  return featureMatrix(data, n, f, what);
}

/**
 * Throws a ShapeError unless `x` is a well-formed [N, F] matrix with N >= minRows, F >= 1
 * and finite values. The message names `what`, the shape and the rule broken.
 */
export function checkFeatures(x: FeatureMatrix, what: string, minRows = 1): void {
  const [n, f] = x.shape;
  if (!Number.isInteger(n) || !Number.isInteger(f) || n < 0 || f < 1)
    throw new ShapeError(`${what}: shape [${n}, ${f}] is not a [N, F] shape with F >= 1`);
  if (x.data.length !== n * f)
    throw new ShapeError(`${what}: data has ${x.data.length} values, shape [${n}, ${f}] needs ${n * f}`);
  if (n < minRows) throw new ShapeError(`${what}: N = ${n} samples, need N >= ${minRows}`);
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i]!)) {
      throw new ShapeError(`${what}: value ${x.data[i]} at sample ${Math.floor(i / f)}, feature ${i % f} is not finite`);
    }
  }
}

/** Throws a ShapeError unless the two matrices have the same feature width F. */
export function checkSameWidth(a: FeatureMatrix, b: FeatureMatrix, whatA: string, whatB: string): void {
  if (a.shape[1] !== b.shape[1])
    throw new ShapeError(`feature dims differ: ${whatA} have F = ${a.shape[1]}, ${whatB} have F = ${b.shape[1]}`);
}
