/**
 * Coordinate encodings of a pixel's position inside its patch (paper.md 1.5; ablation (d)).
 *
 * Positions: u_x = linspace(0, 1, nw)[j], u_y = linspace(0, 1, nh)[i] for the pixel at row i,
 * column j of an nh x nw patch grid (pixel index i*nw + j). nh = nw = p normally; a denser
 * grid decodes the same continuous field at a higher resolution.
 *
 * - dct (reference): M frequencies fr = linspace(0, M, M) (not integers: 0, 8/7, ..., 8 for M = 8);
 *   feature a*M + b = cos(pi u_x fr_a) cos(pi u_y fr_b) / (1 + fr_a fr_b). M^2 features.
 * - sincos (NeRF positional encoding): for octave l < M:
 *   [sin(2^l pi u_x), cos(2^l pi u_x), sin(2^l pi u_y), cos(2^l pi u_y)]. 4M features.
 * - none: no features; the field sees only the noisy pixel values.
 */
import { coordFeatureCount, type CoordEncoding } from '../config/model-config';
import { linspace } from '../model/rope';

const cache = new Map<string, Float32Array>();

/** The encoding table [nh*nw, E] (row-major, pixel index i*nw + j). Memoised; pure. */
export function coordEncodingTable(kind: CoordEncoding, nh: number, nw: number, maxFreqs: number): Float32Array {
  const key = `${kind}:${nh}x${nw}:${maxFreqs}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const E = coordFeatureCount(kind, maxFreqs);
  const ux = linspace(0, 1, nw);
  const uy = linspace(0, 1, nh);
  const out = new Float32Array(nh * nw * E);
  for (let i = 0; i < nh; i++) {
    for (let j = 0; j < nw; j++) {
      const row = (i * nw + j) * E;
      switch (kind) {
        case 'dct': {
          const fr = linspace(0, maxFreqs, maxFreqs);
          for (let a = 0; a < maxFreqs; a++) {
            for (let b = 0; b < maxFreqs; b++) {
              out[row + a * maxFreqs + b] =
                (Math.cos(Math.PI * ux[j] * fr[a]) * Math.cos(Math.PI * uy[i] * fr[b])) / (1 + fr[a] * fr[b]);
            }
          }
          break;
        }
        case 'sincos': {
          for (let l = 0; l < maxFreqs; l++) {
            const w = Math.pow(2, l) * Math.PI;
            out[row + 4 * l] = Math.sin(w * ux[j]);
            out[row + 4 * l + 1] = Math.cos(w * ux[j]);
            out[row + 4 * l + 2] = Math.sin(w * uy[i]);
            out[row + 4 * l + 3] = Math.cos(w * uy[i]);
          }
          break;
        }
        case 'none':
          break;
        default: {
          const never: never = kind;
          throw new Error(`unknown coordinate encoding ${String(never)}`);
        }
      }
    }
  }
  if (cache.size > 64) cache.clear();
  cache.set(key, out);
  return out;
}
