/**
 * Probing the model at one (image, t, label): the output of either head, and every patch's generated field weights.
 * Overview and legend: ./index.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { derive, type ModelConfig, type NerfHeadConfig } from '../../config/model-config';
import { cleanEstimate, interpolate, toVelocity, type PredictionTarget } from '../../diffusion/flow-matching';
import { pixnerdForward } from '../../model/pixnerd';
import type { Params } from '../../model/ops';
import type { ImageBatch, ImageInput } from '../image-grid';
import { batchOf, readAll, nerfHead } from './internal';
import { tfSeed } from '../../util/seed';

export interface ProbeOptions {
  /** Flow time in [0, 1] (0 = pure noise, 1 = the clean image). */
  t: number;
  /** Class label, or numClasses for the null (unconditional) label. */
  label: number;
  /** Seed of the noise eps in x_t = t x + (1 - t) eps. */
  seed: number;
  /** What the network predicts (default 'v'); x-prediction outputs are turned into velocities. */
  prediction?: PredictionTarget;
}

/** The model's output for one noisy image (either head). Images are [1, H, W, C]. */
export interface OutputProbe {
  t: number;
  label: number;
  prediction: PredictionTarget;
  H: number;
  W: number;
  C: number;
  p: number;
  gridH: number;
  gridW: number;
  /** The noisy input x_t. */
  xt: ImageBatch;
  /** The predicted velocity v at (x_t, t). */
  v: ImageBatch;
  /** The clean-image estimate x_t + (1 - t) v. */
  xHat: ImageBatch;
}

/** One NerfBlock's generated weights for every patch, row-major per patch. */
export interface BlockWeights {
  /** W1 as used (normalised as configured), [L, hx, hr]. */
  fc1: Float32Array;
  /** W2 as used, [L, hr, hx]. */
  fc2: Float32Array;
  /** W1 as generated, before L2 normalisation, [L, hx, hr]. */
  fc1Raw: Float32Array;
  /** W2 as generated, [L, hr, hx]. */
  fc2Raw: Float32Array;
}

/** An OutputProbe of a neural-field model plus every patch's generated field weights. */
export interface FieldProbe extends OutputProbe {
  head: NerfHeadConfig;
  hx: number;
  hr: number;
  /** One entry per NerfBlock. */
  weights: BlockWeights[];
}

function imageTensor(image: ImageInput, cfg: ModelConfig): tf.Tensor4D {
  const shape = image instanceof tf.Tensor ? image.shape : [...image.shape];
  const S = cfg.imageSize;
  if (shape.length !== 4 || shape[0] !== 1 || shape[1] !== S || shape[2] !== S || shape[3] !== cfg.inChannels) {
    throw new Error(`probe: expected one image [1, ${S}, ${S}, ${cfg.inChannels}], got [${shape.join(', ')}]`);
  }
  return image instanceof tf.Tensor ? (image.clone() as tf.Tensor4D) : tf.tensor4d(Float32Array.from(image.data), [1, S, S, cfg.inChannels]);
}

function checkProbeOptions(cfg: ModelConfig, o: ProbeOptions): void {
  if (!(o.t >= 0 && o.t <= 1)) throw new Error(`probe: t must be in [0, 1], got ${o.t}`);
  if (!(Number.isInteger(o.label) && o.label >= 0 && o.label <= cfg.numClasses)) {
    throw new Error(`probe: label must be an integer in [0, ${cfg.numClasses}] (${cfg.numClasses} = null), got ${o.label}`);
  }
}

/**
 * Runs the model once on x_t = t x + (1 - t) eps for the clean image `image` [1, H, W, C]
 * (a tensor is read, not disposed) and returns x_t, v and the clean-image estimate.
 */
export function probeOutput(params: Params, cfg: ModelConfig, image: ImageInput, o: ProbeOptions): OutputProbe {
  checkProbeOptions(cfg, o);
  const prediction = o.prediction ?? 'v';
  const S = cfg.imageSize;
  const shape: [number, number, number, number] = [1, S, S, cfg.inChannels];
  const out = readAll(
    tf.tidy(() => {
      const x = imageTensor(image, cfg); //                                                         [1, H, W, C]
      const t = tf.fill([1], o.t) as tf.Tensor1D;
      const xt = interpolate(x, tf.randomNormal(shape, 0, 1, 'float32', tfSeed(o.seed)) as tf.Tensor4D, t); // [1, H, W, C]
      const v = toVelocity(pixnerdForward(params, cfg, xt, t, tf.tensor1d([o.label], 'int32')).v, xt, t, prediction);
      return { xt, v, xHat: cleanEstimate(xt, v, o.t) };
    }),
  );
  const { gridH, gridW } = derive(cfg);
  return {
    t: o.t,
    label: o.label,
    prediction,
    H: S,
    W: S,
    C: cfg.inChannels,
    p: cfg.patchSize,
    gridH,
    gridW,
    xt: batchOf(out.xt, shape),
    v: batchOf(out.v, shape),
    xHat: batchOf(out.xHat, shape),
  };
}

/**
 * probeOutput plus the generated field weights of every patch and NerfBlock, as used and raw
 * (the raw ones come from a second forward pass with weightNorm 'none').
 */
export function probeField(params: Params, cfg: ModelConfig, image: ImageInput, o: ProbeOptions): FieldProbe {
  const head = nerfHead(cfg, 'probeField');
  const base = probeOutput(params, cfg, image, o);
  const rawCfg: ModelConfig = { ...cfg, head: { ...head, weightNorm: 'none' } };
  const perBlock = tf.tidy(() => {
    const xt = tf.tensor4d(base.xt.data as Float32Array, [1, base.H, base.W, base.C]);
    const t = tf.fill([1], o.t) as tf.Tensor1D;
    const y = tf.tensor1d([o.label], 'int32');
    const used = pixnerdForward(params, cfg, xt, t, y, { returnFieldWeights: true }).fieldWeights;
    const raw = pixnerdForward(params, rawCfg, xt, t, y, { returnFieldWeights: true }).fieldWeights;
    return used.map((u, k) => ({ fc1: u.fc1, fc2: u.fc2, fc1Raw: raw[k]!.fc1, fc2Raw: raw[k]!.fc2 }));
  });
  let weights: BlockWeights[];
  try {
    weights = perBlock.map((b) => ({ fc1: b.fc1.dataSync() as Float32Array, fc2: b.fc2.dataSync() as Float32Array, fc1Raw: b.fc1Raw.dataSync() as Float32Array, fc2Raw: b.fc2Raw.dataSync() as Float32Array }));
  } finally {
    tf.dispose(perBlock.flatMap((b) => [b.fc1, b.fc2, b.fc1Raw, b.fc2Raw]));
  }
  return { ...base, head, hx: head.width, hr: head.width * head.mlpRatio, weights };
}
