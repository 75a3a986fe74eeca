/**
 * PixNerd: the whole forward pass (paper.md section 1; architecture.md).
 *
 * Legend: B batch, H x W image, C channels, p patch, L = (H/p)(W/p) tokens, D width,
 * h heads, Dh = D/h, hx field width. Layout NHWC; tokens channel-major (torch unfold order).
 *
 *   s = s_embedder(patchify(x))                       [B, L, D]
 *   c = SiLU(t_emb + y_emb)                           [B, D]
 *   s = trunk blocks(s, c)                            [B, L, D]
 *   nerf head:   s = SiLU(t_emb + s); v = field(s, pixels of x)
 *   linear head: v = unpatchify(Linear(modulate(LN(s), c)))
 */
import * as tf from '@tensorflow/tfjs';
import { derive, type ModelConfig } from '../config/model-config';
import { linearHead } from '../heads/linear-head';
import { nerfField, type FieldWeights } from '../heads/nerf-head';
import { assertShape, check } from '../util/assert';
import { ditBlock } from './dit-block';
import { foldPatchPixels, labelEmbed, patchEmbed, patchify, patchPixels, timestepEmbed } from './embedders';
import { silu, type Params } from './ops';
import { scoped } from '../util/scope';
import { ropeTables } from './rope';

export interface ForwardOptions {
  /** 0-based trunk blocks whose outputs to return (REPA's align_layer L is block L - 1). */
  hiddenLayers?: number[];
  /** Also return the generated field weights of every NerfBlock (nerf head only). */
  returnFieldWeights?: boolean;
  /**
   * Arbitrary-resolution decoding (nerf head only; paper.md section 4): the trunk runs on
   * `x` resized (nearest) to trunkSize x trunkSize, so it sees its usual token grid, and the
   * field decodes each token's (H/gridH) x (W/gridW) pixels of the full-size `x` on a denser
   * (or sparser) coordinate grid.
   */
  trunkSize?: number;
}

export interface ForwardOutput {
  /** Predicted velocity (or clean image, for x-prediction), [B, H, W, C]. */
  v: tf.Tensor4D;
  /** Outputs of the requested trunk blocks, each [B, L, D], in the order asked. */
  hidden: tf.Tensor3D[];
  /** Per NerfBlock, the generated weights of every patch (empty unless asked). */
  fieldWeights: FieldWeights[];
}

/**
 * One forward pass.  x [B, H, W, C] noisy image, t [B] in [0, 1], y [B] int32 labels in
 * [0, K] (K = null label) -> ForwardOutput.
 */
export function pixnerdForward(params: Params, cfg: ModelConfig, x: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D, opts: ForwardOptions = {}): ForwardOutput {
  const [B, H, W, C] = x.shape;
  const p = cfg.patchSize;
  assertShape(x, [B, H, W, cfg.inChannels], 'x (NHWC image)');
  assertShape(t, [B], 't');
  assertShape(y, [B], 'y');
  check(y.dtype === 'int32', () => `y: labels must be int32, got ${y.dtype}`);
  const trunkSize = opts.trunkSize;
  if (trunkSize !== undefined) {
    check(cfg.head.kind === 'nerf', () => 'arbitrary-resolution decoding (trunkSize) needs the neural-field head; the linear head has a fixed patch size');
    check(trunkSize % p === 0, () => `trunkSize ${trunkSize} must be a multiple of the patch size ${p}`);
    check(H % (trunkSize / p) === 0 && W % (trunkSize / p) === 0, () => `output ${H}x${W} must divide into the ${trunkSize / p}x${trunkSize / p} token grid`);
  } else {
    check(H % p === 0 && W % p === 0, () => `x: image ${H}x${W} is not a multiple of the patch size ${p}`);
  }
  const hiddenLayers = opts.hiddenLayers ?? [];
  for (const l of hiddenLayers) check(Number.isInteger(l) && l >= 0 && l < cfg.depth, () => `hiddenLayers: ${l} is not a trunk block (0..${cfg.depth - 1})`);

  return scoped((): ForwardOutput => {
    const xTrunk = trunkSize === undefined ? x : (tf.image.resizeNearestNeighbor(x, [trunkSize, trunkSize]) as tf.Tensor4D);
    const th = xTrunk.shape[1];
    const tw = xTrunk.shape[2];
    const { gridH, gridW, headDim } = derive(cfg, th, tw);
    const rope = ropeTables(gridH, gridW, headDim);

    let s = patchEmbed(params, patchify(xTrunk, p)); //     [B, L, D]
    const tEmb = timestepEmbed(params, t); //               [B, D]
    const c = silu(tf.add(tEmb, labelEmbed(params, y))) as tf.Tensor2D; // [B, D]
    const hidden: tf.Tensor3D[] = new Array(hiddenLayers.length);
    for (let i = 0; i < cfg.depth; i++) {
      s = ditBlock(params, i, s, c, cfg.numHeads, rope); // [B, L, D]
      hiddenLayers.forEach((l, k) => {
        if (l === i) hidden[k] = s;
      });
    }

    const head = cfg.head;
    switch (head.kind) {
      case 'linear':
        return { v: linearHead(params, s, c, p, H, W, C), hidden, fieldWeights: [] as FieldWeights[] };
      case 'nerf': {
        const L = gridH * gridW;
        const D = cfg.hiddenSize;
        const sField = silu(tf.add(s, tEmb.expandDims(1))).reshape([B * L, D]) as tf.Tensor2D; // bridge: t only, [B*L, D]
        const ph = H / gridH;
        const pw = W / gridW;
        const k = head.pixelBlur ?? 1; // ablation: each pixel's k x k box average (zero padding not counted)
        const pixels = patchPixels(k > 1 ? (tf.avgPool(x, k, 1, 'same') as tf.Tensor4D) : x, ph, pw); // [B*L, ph*pw, C]
        const field = nerfField(params, head, cfg.depth, sField, pixels, ph, pw, opts.returnFieldWeights ?? false);
        return { v: foldPatchPixels(field.v, B, H, W, ph, pw), hidden, fieldWeights: field.weights }; // [B, H, W, C]
      }
      default: {
        const never: never = head;
        throw new Error(`unknown head ${JSON.stringify(never)}`);
      }
    }
  });
}
