/**
 * REPA: representation alignment (paper.md 2.4). The output of trunk block align_layer
 * (1-based) goes through a projector MLP and is pulled, token by token, toward a frozen
 * teacher's features of the clean image:
 *
 *   proj = Linear(D->D) SiLU Linear(D->D) SiLU Linear(D->E)   (trained with the model)
 *   loss_repa = mean over tokens of (1 - cos(proj(h), teacher))
 *
 * Legend: B batch, L = gh*gw tokens, D width, E teacher feature width.
 */
import * as tf from '@tensorflow/tfjs';
import { initTensor, type ParamSpec } from '../model/params';
import { linear, param, silu, type Params } from '../model/ops';
import { scoped } from '../util/scope';
import { tfSeed } from '../util/seed';

/** Projector parameter prefix in reference training checkpoints. */
export const PROJECTOR_PREFIX = 'diffusion_trainer.proj.';

/**
 * A frozen image encoder: clean images in [0, 1], [B, H, W, C] -> features [B, th, tw, E] on
 * its own token grid (resampled to the trunk's grid by REPA).
 */
export interface Teacher {
  name: string;
  /** E: feature width. */
  dim: number;
  features(raw: tf.Tensor4D): tf.Tensor4D;
}

/** Projector parameter specs: Sequential indices 0, 2, 4 as in the reference. */
export function projectorSpecs(D: number, E: number): ParamSpec[] {
  const lin = (i: number, inD: number, outD: number): ParamSpec[] => {
    const bound = 1 / Math.sqrt(inD);
    return [
      { name: `${i}.weight`, shape: [inD, outD], linear: true, init: { kind: 'uniform', bound } },
      { name: `${i}.bias`, shape: [outD], linear: false, init: { kind: 'uniform', bound } },
    ];
  };
  return [...lin(0, D, D), ...lin(2, D, D), ...lin(4, D, E)];
}

/** Fresh projector variables (keys `0.weight` ... `4.bias`), seeded. */
export function initProjector(D: number, E: number, seed: number): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const spec of projectorSpecs(D, E)) {
    const t = initTensor(spec, seed + 7919);
    out[spec.name] = tf.variable(t, true);
    t.dispose();
  }
  return out;
}

/** proj(h).  h [B, L, D] -> [B, L, E] */
export function project(proj: Params, h: tf.Tensor3D): tf.Tensor3D {
  const [B, L, D] = h.shape;
  return scoped(() => {
    let z = silu(linear(h.reshape([B * L, D]), param(proj, '0.weight'), param(proj, '0.bias')));
    z = silu(linear(z, param(proj, '2.weight'), param(proj, '2.bias')));
    return linear(z, param(proj, '4.weight'), param(proj, '4.bias')).reshape([B, L, -1]) as tf.Tensor3D;
  });
}

/** Teacher features resampled (bilinear) to the trunk's gh x gw grid.  -> [B, gh*gw, E] */
export function teacherTokens(teacher: Teacher, raw: tf.Tensor4D, gh: number, gw: number): tf.Tensor3D {
  return scoped(() => {
    const f = teacher.features(raw); // [B, th, tw, E]
    const [B, th, tw, E] = f.shape;
    const g = th === gh && tw === gw ? f : tf.image.resizeBilinear(f, [gh, gw], true);
    return g.reshape([B, gh * gw, E]) as tf.Tensor3D;
  });
}

/** mean(1 - cos(a, b)) over tokens.  a, b [B, L, E] -> scalar */
export function cosineAlignmentLoss(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  return scoped(() => {
    const dot = tf.sum(tf.mul(a, b), -1);
    const na = tf.sqrt(tf.maximum(tf.sum(tf.square(a), -1), 1e-16));
    const nb = tf.sqrt(tf.maximum(tf.sum(tf.square(b), -1), 1e-16));
    return tf.mean(tf.sub(1, tf.div(dot, tf.mul(na, nb)))) as tf.Scalar;
  });
}

/**
 * A frozen random teacher: average-pool the image to a g x g grid of cells, then a fixed random
 * 2-layer MLP (seeded). Any frozen network with the Teacher signature plugs in; this one exists
 * so REPA can be tested and ablated offline.
 */
export function randomTeacher(opts: { channels: number; cell: number; dim: number; seed: number }): Teacher & { dispose(): void } {
  const { channels, cell, dim, seed } = opts;
  const inDim = channels * cell * cell;
  const w1 = tf.randomNormal([inDim, 2 * dim], 0, 1 / Math.sqrt(inDim), 'float32', tfSeed(seed));
  const w2 = tf.randomNormal([2 * dim, dim], 0, 1 / Math.sqrt(2 * dim), 'float32', tfSeed(seed + 1));
  return {
    name: `random-${cell}px-${dim}`,
    dim,
    features(raw: tf.Tensor4D): tf.Tensor4D {
      return tf.tidy(() => {
        const [B, H, W, C] = raw.shape;
        const gh = H / cell, gw = W / cell;
        const cells = raw.reshape([B, gh, cell, gw, cell, C]).transpose([0, 1, 3, 2, 4, 5]).reshape([B * gh * gw, inDim]);
        const h = tf.relu(tf.matMul(tf.sub(cells, 0.5), w1));
        return tf.matMul(h, w2).reshape([B, gh, gw, dim]) as tf.Tensor4D;
      });
    },
    dispose() {
      tf.dispose([w1, w2]);
    },
  };
}
