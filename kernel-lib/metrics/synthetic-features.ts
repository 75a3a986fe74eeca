/**
 * Seeded Gaussian feature sets with known parameters, for checking the metrics against their
 * closed forms (tests, notebook sanity checks). Box-Muller on mulberry32: no Math.random.
 */
import { ConfigError } from '../util/errors';
import { mulberry32 } from '../util/seed';
import type { FeatureMatrix } from './feature-matrix';

/**
 * N samples of x = mean + std * z with z ~ N(0, I) per feature (diagonal covariance std^2).
 * `mean` and `std` have length F. Returns a Float64 [N, F] matrix.
 */
export function gaussianFeatures(n: number, mean: ArrayLike<number>, std: ArrayLike<number>, seed: number): FeatureMatrix {
  const f = mean.length;
  if (std.length !== f) throw new ConfigError('gaussianFeatures.std', std.length, `needs one entry per feature (F = ${f})`);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError('gaussianFeatures.n', n, 'must be a positive integer');
  const z = standardNormals(n * f, seed);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) z[i * f + j] = mean[j]! + std[j]! * z[i * f + j]!;
  return { data: z, shape: [n, f] };
}

/** `count` independent N(0, 1) draws (Box-Muller, both outputs used). */
export function standardNormals(count: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = 1 - rand(); // (0, 1]: log stays finite
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
