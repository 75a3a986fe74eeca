/**
 * The neural-field head: PixNerd's idea (paper.md 1.4-1.6).
 *
 * Each patch's final hidden state generates the weights of a small per-patch MLP that maps
 * (noisy pixel value, coordinate encoding) to the pixel's velocity.
 *
 * Legend: N = B*L patches, P = ph*pw pixels per patch (p*p normally), C channels,
 * E coordinate features, hx field width, r field ratio, D trunk width.
 */
import * as tf from '@tensorflow/tfjs';
import type { NerfHeadConfig } from '../config/model-config';
import { coordEncodingTable } from '../encodings/coord-encoding';
import { dim, scoped } from '../util/scope';
import { fusedOp, l2Normalize, linear, linearNd, param, RMS_EPS, rmsNorm, runFused, silu, type Params } from '../model/ops';
import { FUSED_KERNELS, fusedKernel, type NerfBlockAttrs } from '../backend/native-kernels';

/** The generated weights of one NerfBlock for every patch. */
export interface FieldWeights {
  /** [N, hx, hx*r], laid out (in, out), normalised as configured. */
  fc1: tf.Tensor3D;
  /** [N, hx*r, hx]. */
  fc2: tf.Tensor3D;
}

/**
 * NerfEmbedder: Linear(C + E -> hx) on [pixel values, coordinate encoding]. The weight is split
 * so the encoding half is one shared [P, E] x [E, hx] product instead of N copies. With
 * `pixelInput` false (an ablation) the pixel rows are skipped: every patch starts from the same
 * encoding.  pixels [N, P, C] -> z [N, P, hx]
 */
export function nerfEmbed(params: Params, pixels: tf.Tensor3D, enc: Float32Array, E: number, pixelInput = true): tf.Tensor3D {
  const [N, P, C] = pixels.shape;
  return tf.tidy(() => {
    const w = param(params, 'x_embedder.embedder.0.weight'); // [C + E, hx]
    const b = param(params, 'x_embedder.embedder.0.bias'); //   [hx]
    const hx = dim(w, 1);
    const zEnc = E > 0 ? linear(tf.tensor2d(enc, [P, E]), w.slice([C, 0], [E, hx]), b) : b.reshape([1, hx]); // [P, hx]
    // an add, not tf.broadcastTo: Tile's gradient is a slice-and-add per repeat (N of them)
    if (!pixelInput) return tf.add(tf.zeros([N, P, hx]), zEnc) as tf.Tensor3D;
    const zPix = linear(pixels.reshape([N * P, C]), w.slice([0, 0], [C, hx])).reshape([N, P, hx]);
    return tf.add(zPix, zEnc) as tf.Tensor3D; // [N, P, hx]
  });
}

/**
 * The weights NerfBlock `j` generates from every patch's hidden state:
 * Linear(D -> 2 hx hx r)(s); first half viewed fc1 [hx, hx*r], second fc2 [hx*r, hx];
 * each L2-normalised along its input axis when the switch says so.  s [N, D] -> FieldWeights
 */
export function fieldWeights(params: Params, j: number, s: tf.Tensor2D, head: NerfHeadConfig): FieldWeights {
  const N = s.shape[0];
  const hx = head.width;
  const hr = hx * head.mlpRatio;
  return scoped(() => {
    const gen = linear(s, param(params, `blocks.${j}.param_generator1.0.weight`), param(params, `blocks.${j}.param_generator1.0.bias`)); // [N, 2 hx hr]
    let fc1: tf.Tensor = gen.slice([0, 0], [N, hx * hr]).reshape([N, hx, hr]); //     [N, hx, hr]
    let fc2: tf.Tensor = gen.slice([0, hx * hr], [N, hr * hx]).reshape([N, hr, hx]); // [N, hr, hx]
    if (head.weightNorm === 'fc1' || head.weightNorm === 'fc1+fc2') fc1 = l2Normalize(fc1, 1);
    if (head.weightNorm === 'fc1+fc2') fc2 = l2Normalize(fc2, 1);
    return { fc1: fc1 as tf.Tensor3D, fc2: fc2 as tf.Tensor3D };
  });
}

/** NerfBlock j: z + SiLU(RMSNorm(z) @ fc1) @ fc2 (a batched matMul per patch).  z [N, P, hx] -> [N, P, hx] */
export function nerfBlock(params: Params, j: number, z: tf.Tensor3D, w: FieldWeights): tf.Tensor3D {
  return tf.tidy(() => {
    const h = silu(tf.matMul(rmsNorm(z, param(params, `blocks.${j}.norm.weight`)) as tf.Tensor3D, w.fc1)); // [N, P, hr]
    return tf.add(z, tf.matMul(h, w.fc2)) as tf.Tensor3D; //                                                   [N, P, hx]
  });
}

/** F.normalize's epsilon (the field weights' L2 normalisation). */
const L2_EPS = 1e-12;

/**
 * NerfBlock j straight from the generator output, as one fused kernel (wasm with the nativeblas
 * add-on; see `fusedKernel('nerfBlock')`): the same math as fieldWeights + nerfBlock, patch by
 * patch in cache, and one backward kernel that returns d z, d norm.weight and d gen.
 * z [N, P, hx], gen [N, 2 hx hr] -> [N, P, hx]
 */
function nerfBlockFused(params: Params, j: number, z: tf.Tensor3D, gen: tf.Tensor2D, head: NerfHeadConfig): tf.Tensor3D {
  const attrs: NerfBlockAttrs = {
    hx: head.width,
    hr: head.width * head.mlpRatio,
    norm1: head.weightNorm === 'fc1' || head.weightNorm === 'fc1+fc2',
    norm2: head.weightNorm === 'fc1+fc2',
    rmsEps: RMS_EPS,
    l2Eps: L2_EPS,
  };
  const a = attrs as unknown as tf.NamedAttrMap;
  return fusedOp(
    ([z, g, gen]) => ({ value: runFused(FUSED_KERNELS.nerfBlock, { z: z!, g: g!, gen: gen! }, a)[0]!, save: [z!, g!, gen!] }),
    (dy, [z, g, gen]) => runFused(FUSED_KERNELS.nerfBlockGrad, { z: z!, g: g!, gen: gen!, dy }, a),
  )(z, param(params, `blocks.${j}.norm.weight`), gen) as tf.Tensor3D;
}

/**
 * NerfFinalLayer: RMSNorm(hx) -> Linear(hx -> C), zero-initialised.  z [N, P, hx] -> [N, P, C]
 * One fused kernel pair per call where the wasm backend has them (kernel-lib/native/field-output.cc).
 */
export function nerfFinal(params: Params, z: tf.Tensor3D): tf.Tensor3D {
  const [g, W, b] = ['final_layer.norm.weight', 'final_layer.linear.weight', 'final_layer.linear.bias'].map((n) => param(params, n));
  if (fusedKernel('nerfFinal') && [z, g!, W!, b!].every((t) => t.dtype === 'float32')) {
    const attrs = { eps: RMS_EPS };
    return fusedOp(
      ([z, g, W, b]) => {
        const [out, rstd] = runFused(FUSED_KERNELS.nerfFinal, { z: z!, g: g!, W: W!, b: b! }, attrs);
        return { value: out!, save: [z!, g!, W!, rstd!] };
      },
      (dy, [z, g, W, rstd]) => runFused(FUSED_KERNELS.nerfFinalGrad, { z: z!, g: g!, W: W!, rstd: rstd!, dy }),
    )(z, g!, W!, b!) as tf.Tensor3D;
  }
  return tf.tidy(
    () =>
      linearNd(rmsNorm(z, param(params, 'final_layer.norm.weight')), param(params, 'final_layer.linear.weight'), param(params, 'final_layer.linear.bias')) as tf.Tensor3D,
  );
}

/**
 * The whole field: embed every pixel, run the NerfBlocks with generated weights, project.
 * s [N, D] (after the SiLU(t + s) bridge), pixels [N, P, C] on an nh x nw grid -> v [N, P, C].
 * `firstBlock` is the index of the first field block (= trunk depth).
 */
export function nerfField(
  params: Params,
  head: NerfHeadConfig,
  firstBlock: number,
  s: tf.Tensor2D,
  pixels: tf.Tensor3D,
  nh: number,
  nw: number,
  keepWeights = false,
): { v: tf.Tensor3D; weights: FieldWeights[] } {
  const enc = coordEncodingTable(head.coordEncoding, nh, nw, head.maxFreqs);
  return scoped(() => {
    let z = nerfEmbed(params, pixels, enc, enc.length / (nh * nw), head.pixelInput ?? true); // [N, P, hx]
    const weights: FieldWeights[] = [];
    const fused = !keepWeights && z.dtype === 'float32' && s.dtype === 'float32' && fusedKernel('nerfBlock') !== null && fusedKernel('nerfBlockGrad') !== null;
    for (let k = 0; k < head.blocks; k++) {
      if (fused) {
        const j = firstBlock + k;
        const gen = linear(s, param(params, `blocks.${j}.param_generator1.0.weight`), param(params, `blocks.${j}.param_generator1.0.bias`)); // [N, 2 hx hr]
        z = nerfBlockFused(params, j, z, gen, head);
        continue;
      }
      const w = fieldWeights(params, firstBlock + k, s, head);
      z = nerfBlock(params, firstBlock + k, z, w); //                 [N, P, hx]
      if (keepWeights) weights.push(w);
    }
    return { v: nerfFinal(params, z), weights }; //                   [N, P, C]
  });
}
