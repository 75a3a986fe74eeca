/**
 * Decoding the same field on a denser coordinate grid, and comparing heads' outputs.
 * Overview and legend: ./index.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../config/model-config';
import { cleanEstimate, toVelocity } from '../../diffusion/flow-matching';
import { pixnerdForward } from '../../model/pixnerd';
import type { Params } from '../../model/ops';
import { panelsPng, type Panel, type PanelsOptions } from '../heatmap';
import type { ImageBatch } from '../image-grid';
import type { OutputProbe } from './probe';
import { patchOutputRms } from './patch-stats';
import { batchOf, readAll, nerfHead, imagePanel } from './internal';

/** The model's output at the training grid and on a factor x denser one, for the same x_t. */
export interface DenseDecode {
  factor: number;
  /** v and the clean-image estimate at the training resolution, [1, H, W, C]. */
  normal: { v: ImageBatch; xHat: ImageBatch };
  /** x_t upsampled (nearest) and the outputs on the dense grid, [1, factor H, factor W, C]. */
  dense: { xt: ImageBatch; v: ImageBatch; xHat: ImageBatch };
}

/**
 * Decodes the probe's x_t with the field evaluated on a factor x denser coordinate grid:
 * pixnerdForward with x_t upsampled (nearest) to factor x the size and trunkSize = imageSize.
 */
export function decodeDense(params: Params, cfg: ModelConfig, probe: OutputProbe, opts: { factor?: number } = {}): DenseDecode {
  nerfHead(cfg, 'decodeDense');
  const factor = opts.factor ?? 4;
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`factor must be an integer >= 1, got ${factor}`);
  const { H, W, C, t } = probe;
  const big = [1, factor * H, factor * W, C];
  const out = readAll(
    tf.tidy(() => {
      const xt = tf.tensor4d(probe.xt.data as Float32Array, [1, H, W, C]);
      const tt = tf.fill([1], t) as tf.Tensor1D;
      const y = tf.tensor1d([probe.label], 'int32');
      const v1 = toVelocity(pixnerdForward(params, cfg, xt, tt, y).v, xt, tt, probe.prediction);
      const xtBig = tf.image.resizeNearestNeighbor(xt, [factor * H, factor * W]) as tf.Tensor4D;
      const vBig = toVelocity(pixnerdForward(params, cfg, xtBig, tt, y, { trunkSize: cfg.imageSize }).v, xtBig, tt, probe.prediction);
      return { v1, xHat1: cleanEstimate(xt, v1, t), xtBig, vBig, xHatBig: cleanEstimate(xtBig, vBig, t) };
    }),
  );
  const small = [1, H, W, C];
  return {
    factor,
    normal: { v: batchOf(out.v1, small), xHat: batchOf(out.xHat1, small) },
    dense: { xt: batchOf(out.xtBig, big), v: batchOf(out.vBig, big), xHat: batchOf(out.xHatBig, big) },
  };
}

/** The size x size crop at (y0, x0) of an image [1, H, W, C], as [1, size, size, C]. */
export function cropImage(img: ImageBatch, y0: number, x0: number, size: number): ImageBatch {
  const [, H, W, C] = img.shape;
  if (y0 < 0 || x0 < 0 || y0 + size > H || x0 + size > W) throw new Error(`crop ${size} x ${size} at (${y0}, ${x0}) is outside ${H} x ${W}`);
  const out = new Float32Array(size * size * C);
  for (let y = 0; y < size; y++) for (let x = 0; x < size * C; x++) out[y * size * C + x] = img.data[((y0 + y) * W + x0) * C + x]!;
  return { data: out, shape: [1, size, size, C] };
}

/**
 * The clean-image estimates at 1x and on the dense grid, next to x_t: the whole image, or one
 * patch (`patch` = row * gridW + col) cropped at both resolutions. Panels share a display size.
 */
export function denseDecodePng(probe: OutputProbe, dense: DenseDecode, opts: PanelsOptions & { patch?: number } = {}): Promise<Buffer> {
  const { patch, ...layout } = opts;
  const f = dense.factor;
  let xt = probe.xt;
  let lo = dense.normal.xHat;
  let hi = dense.dense.xHat;
  let what = 'image';
  if (patch !== undefined) {
    const L = probe.gridH * probe.gridW;
    if (!(Number.isInteger(patch) && patch >= 0 && patch < L)) throw new Error(`patch must be 0..${L - 1}, got ${patch}`);
    const r = Math.floor(patch / probe.gridW);
    const c = patch % probe.gridW;
    xt = cropImage(xt, r * probe.p, c * probe.p, probe.p);
    lo = cropImage(lo, r * probe.p, c * probe.p, probe.p);
    hi = cropImage(hi, r * f * probe.p, c * f * probe.p, f * probe.p);
    what = `patch ${patch} (row ${r}, col ${c})`;
  }
  const [, h, w] = lo.shape;
  // a display size that is a multiple of the dense side (so also of the normal one): every panel
  // is upscaled by an integer to the same size
  const big = f * Math.max(h!, w!);
  const size = big * Math.max(1, Math.round((patch === undefined ? 192 : 128) / big));
  return panelsPng(
    [imagePanel(xt, `x_t ${h} x ${w}`), imagePanel(lo, `field on ${h} x ${w}`), imagePanel(hi, `field on ${f * h!} x ${f * w!}`)],
    { size, title: `${what}: clean-image estimate decoded at 1x and ${f}x (t = ${probe.t})`, ...layout },
  );
}

/**
 * Several models on the same x_t (e.g. the neural-field and the linear head): x_t, then each
 * model's clean-image estimate, then each model's per-patch output RMS (patchOutputRms of v)
 * on one shared colour range, so the maps compare directly.
 */
export function outputComparisonPng(models: ReadonlyArray<{ name: string; probe: OutputProbe }>, opts: PanelsOptions = {}): Promise<Buffer> {
  if (models.length === 0) throw new Error('outputComparisonPng: no models');
  const first = models[0]!.probe;
  for (const { name, probe } of models) {
    if (probe.H !== first.H || probe.W !== first.W || probe.C !== first.C || probe.t !== first.t || probe.xt.data.length !== first.xt.data.length) {
      throw new Error(`outputComparisonPng: ${name} was probed on another input (${probe.H} x ${probe.W} x ${probe.C}, t = ${probe.t}) than ${models[0]!.name} (${first.H} x ${first.W} x ${first.C}, t = ${first.t})`);
    }
  }
  const maps = models.map(({ probe }) => patchOutputRms(probe.v, probe.p));
  const hi = Math.max(...maps.flatMap((m) => Array.from(m.data)));
  const range: [number, number] = [0, hi > 0 ? hi : 1];
  return panelsPng(
    [
      imagePanel(first.xt, `x_t (t = ${first.t})`),
      ...models.map(({ name, probe }) => imagePanel(probe.xHat, `${name}: estimate`)),
      ...models.map(({ name }, i): Panel => ({ kind: 'heatmap', ...maps[i]!, colormap: 'viridis', range, title: `${name}: RMS v per patch` })),
    ],
    { size: 160, ...opts },
  );
}
