/**
 * The linear head (DiT final layer), for comparison: its output filters.
 * Overview and legend: ./index.ts.
 */
import type { ModelConfig } from '../../config/model-config';
import { param, type Params } from '../../model/ops';
import { panelsPng, type Panel, type PanelsOptions } from '../heatmap';

/** The linear head's output filters: row d of final_layer.linear.weight as a p x p x C image. */
export interface LinearFilters {
  p: number;
  C: number;
  /** [D, p, p, C] (un-patchified from the channel-major token order). */
  filters: Float32Array;
  /** L2 norm of each filter, [D]. */
  norms: Float32Array;
}

/** The linear head's D output filters (every patch is sum_d coef_d(patch) * filter_d + bias). */
export function linearHeadFilters(params: Params, cfg: ModelConfig): LinearFilters {
  if (cfg.head.kind !== 'linear') throw new Error(`linearHeadFilters needs the linear head; this model has the ${cfg.head.kind} head`);
  const { patchSize: p, inChannels: C, hiddenSize: D } = cfg;
  const w = param(params, 'final_layer.linear.weight').dataSync() as Float32Array; // [D, C*p*p], index c*p*p + i*p + j
  const filters = new Float32Array(D * p * p * C);
  const norms = new Float32Array(D);
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < p * p; k++) {
        const v = w[d * C * p * p + c * p * p + k]!;
        filters[(d * p * p + k) * C + c] = v;
        s += v * v;
      }
    }
    norms[d] = Math.sqrt(s);
  }
  return { p, C, filters, norms };
}

/**
 * The `count` largest linear-head filters (by norm), each p x p: a diverging heatmap with its own
 * symmetric range for grey models, an image scaled to [-1, 1] by its max |w| for RGB.
 */
export function linearFiltersPng(params: Params, cfg: ModelConfig, opts: PanelsOptions & { count?: number } = {}): Promise<Buffer> {
  const { count = 32, ...layout } = opts;
  const { p, C, filters, norms } = linearHeadFilters(params, cfg);
  const order = Array.from(norms.keys()).sort((a, b) => norms[b]! - norms[a]!).slice(0, count);
  const n = p * p * C;
  const panels: Panel[] = order.map((d) => {
    const f = filters.subarray(d * n, (d + 1) * n);
    if (C === 1) return { kind: 'heatmap', data: f, rows: p, cols: p, colormap: 'diverging', colorbar: false };
    const m = f.reduce((a, v) => Math.max(a, Math.abs(v)), 0) || 1;
    return { kind: 'image', data: f.map((v) => v / m), rows: p, cols: p, channels: C as 1 | 3 };
  });
  return panelsPng(panels, { cols: 8, size: 48, gap: 3, title: `linear head: the ${order.length} largest of ${norms.length} output filters (${p} x ${p})`, ...layout });
}
