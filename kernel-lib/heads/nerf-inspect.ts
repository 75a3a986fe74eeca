/**
 * What the trained field does with the pixel position: the NerfEmbedder's weights on the
 * coordinate features (x_embedder.embedder.0, Linear(C + E -> hx) on [pixel values, encoding]).
 *
 *   const fw = coordFeatureWeights(params, cfg);
 *   showPng(await panelsPng([{ kind: 'heatmap', ...fw.featureNorms, title: 'norm' }, { kind: 'heatmap', ...fw.effectiveNorms, title: 'x amplitude' }]));
 *
 * `featureNorms` is the L2 norm over the hx outputs of each feature's weight row, laid out as the
 * basis (coordBasisPng): DCT feature a*M + b (x frequency a, y frequency b) at row a, column b;
 * sin-cos octave l on row l as [sin x, cos x, sin y, cos y]. The DCT damps feature (a, b) by
 * 1 / (1 + f_a f_b), so `effectiveNorms` multiplies each norm by its feature's largest |value| on
 * the p x p pixel grid: how much that frequency can move the field's first layer.
 * Legend: C channels, E coordinate features, M maxFreqs, hx field width.
 */
import { derive, type ModelConfig } from '../config/model-config';
import { coordEncodingTable } from '../encodings/coord-encoding';
import { param, type Params } from '../model/ops';

/** A row-major matrix (the shape viz heatmaps take). */
export interface WeightMap {
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface CoordFeatureWeights {
  channels: number;
  features: number;
  /** The embedder weight in (in, out) layout: rows 0..C-1 the pixel values, then the E features; [C + E, hx]. */
  matrix: WeightMap;
  /** Norm over hx of each pixel-value row, [C]. */
  pixelNorms: Float32Array;
  /** Norm over hx of each coordinate feature's row, laid out as the basis (see the file comment). */
  featureNorms: WeightMap;
  /** featureNorms x each feature's largest |value| on the p x p grid. */
  effectiveNorms: WeightMap;
}

/** The NerfEmbedder's weights on the pixel values and the coordinate features (neural-field head only). */
export function coordFeatureWeights(params: Params, cfg: ModelConfig): CoordFeatureWeights {
  const head = cfg.head;
  if (head.kind !== 'nerf') throw new Error(`coordFeatureWeights needs the neural-field head; this model has the ${head.kind} head`);
  if (head.coordEncoding === 'none') throw new Error("coordFeatureWeights: coordEncoding is 'none': the field has no coordinate features");
  const C = cfg.inChannels;
  const E = derive(cfg).coordFeatures;
  const w = param(params, 'x_embedder.embedder.0.weight'); // [C + E, hx]
  const [rows, hx] = w.shape as [number, number];
  if (rows !== C + E) throw new Error(`x_embedder.embedder.0.weight is [${w.shape.join(', ')}], expected [${C + E}, hx] (C = ${C}, E = ${E})`);
  const data = Float32Array.from(w.dataSync());
  const rowNorm = (r: number) => {
    let s = 0;
    for (let j = 0; j < hx; j++) s += data[r * hx + j]! ** 2;
    return Math.sqrt(s);
  };
  const table = coordEncodingTable(head.coordEncoding, cfg.patchSize, cfg.patchSize, head.maxFreqs); // [p*p, E]
  const amplitude = new Float32Array(E);
  for (let k = 0; k < table.length; k++) amplitude[k % E] = Math.max(amplitude[k % E]!, Math.abs(table[k]!));
  const norms = Float32Array.from({ length: E }, (_, e) => rowNorm(C + e));
  const cols = head.coordEncoding === 'dct' ? head.maxFreqs : 4;
  const grid = (d: Float32Array): WeightMap => ({ data: d, rows: E / cols, cols });
  return {
    channels: C,
    features: E,
    matrix: { data, rows, cols: hx },
    pixelNorms: Float32Array.from({ length: C }, (_, c) => rowNorm(c)),
    featureNorms: grid(norms),
    effectiveNorms: grid(norms.map((n, e) => n * amplitude[e]!)),
  };
}
