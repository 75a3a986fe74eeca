/**
 * The coordinate basis the field reads (DCT or sin-cos features, one map per feature).
 * Overview and legend: ./index.ts.
 */
import type { CoordEncoding, ModelConfig } from '../../config/model-config';
import { coordEncodingTable } from '../../encodings/coord-encoding';
import { panelsPng, type HeatmapData, type Panel, type PanelsOptions } from '../heatmap';
import { nerfHead } from './internal';

/** Every coordinate feature as an nh x nw map (E maps, feature e = the e-th column of the encoding table). */
export function coordBasis(kind: CoordEncoding, nh: number, nw: number, maxFreqs: number): HeatmapData[] {
  const table = coordEncodingTable(kind, nh, nw, maxFreqs); // [nh*nw, E]
  const P = nh * nw;
  const E = table.length / P;
  return Array.from({ length: E }, (_, e) => ({ data: Float32Array.from({ length: P }, (_, k) => table[k * E + e]!), rows: nh, cols: nw }));
}

/**
 * The field's coordinate basis as a grid of small images (diverging: blue < 0 < red): DCT
 * feature a*M + b (x frequency a, y frequency b) at row a, column b; sin-cos octave l on row l
 * as [sin x, cos x, sin y, cos y]. `factor` evaluates each on a factor x denser grid. `range`:
 * 'each' (default) scales every feature to its own max |value| to show its shape; 'shared'
 * uses [-1, 1] for all, showing the DCT's 1 / (1 + f_a f_b) damping of high frequencies.
 */
export function coordBasisPng(cfg: ModelConfig, opts: PanelsOptions & { factor?: number; range?: 'each' | 'shared' } = {}): Promise<Buffer> {
  const head = nerfHead(cfg, 'coordBasisPng');
  const { factor = 1, range = 'each', ...layout } = opts;
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`factor must be an integer >= 1, got ${factor}`);
  if (head.coordEncoding === 'none') throw new Error("coordBasisPng: coordEncoding is 'none': the field has no coordinate features");
  const n = cfg.patchSize * factor;
  const maps = coordBasis(head.coordEncoding, n, n, head.maxFreqs);
  const cols = head.coordEncoding === 'dct' ? head.maxFreqs : 4;
  const panels: Panel[] = maps.map((m) => ({ kind: 'heatmap', ...m, colormap: 'diverging', range: range === 'shared' ? [-1, 1] : undefined, colorbar: false }));
  const scaleNote = range === 'shared' ? 'blue -1, red +1' : 'each scaled to its max |value|';
  return panelsPng(panels, { cols, size: Math.max(48, 2 * n), gap: 3, title: `${head.coordEncoding} basis: ${maps.length} features on a ${n} x ${n} grid (${scaleNote})`, ...layout });
}
