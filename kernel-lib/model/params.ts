/**
 * The parameter tree: every tensor's reference name, shape and initialisation in one list
 * (paper.md 1.7), so initialisation, counting and checkpoint IO share one source of truth.
 *
 * Names are the reference checkpoint names (`blocks.3.attn.qkv.weight`). Linear weights are
 * stored [in, out] here and [out, in] in reference checkpoints (`linear: true` marks them).
 */
import * as tf from '@tensorflow/tfjs';
import { derive, type ModelConfig } from '../config/model-config';
import { deriveSeed } from '../util/seed';
import { TIMESTEP_FEATURES } from './embedders';
import type { Params } from './ops';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  /** U(-bound, bound): PyTorch's default Linear init uses bound = 1/sqrt(fan_in). */
  | { kind: 'uniform'; bound: number };

export interface ParamSpec {
  name: string;
  /** Shape as stored here ([in, out] for linear weights). */
  shape: number[];
  /** A Linear weight: the reference stores the transpose. */
  linear: boolean;
  init: Init;
}

/** PyTorch default init of a Linear's weight and bias: U(+-1/sqrt(fan_in)). */
const torchDefault = (fanIn: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(fanIn) });

/** Specs of a Linear(in -> out): `<prefix>.weight` [in, out] and, with bias, `<prefix>.bias` [out]. */
function linearSpecs(prefix: string, inDim: number, outDim: number, opts: { bias?: boolean; weightInit?: Init; biasInit?: Init } = {}): ParamSpec[] {
  const specs: ParamSpec[] = [{ name: `${prefix}.weight`, shape: [inDim, outDim], linear: true, init: opts.weightInit ?? torchDefault(inDim) }];
  if (opts.bias ?? true) specs.push({ name: `${prefix}.bias`, shape: [outDim], linear: false, init: opts.biasInit ?? torchDefault(inDim) });
  return specs;
}

const norm = (name: string, n: number): ParamSpec => ({ name, shape: [n], linear: false, init: { kind: 'ones' } });

/** Every parameter of the model, in the reference's order. */
export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  const { hiddenSize: D, inChannels: C, patchSize: p, numClasses: K } = cfg;
  const { headDim: Dh, ffnHidden: F, patchDim, coordFeatures: E, fieldParamsPerBlock } = derive(cfg);
  const specs: ParamSpec[] = [];
  const head = cfg.head;
  if (head.kind === 'nerf') specs.push(...linearSpecs('x_embedder.embedder.0', C + E, head.width));
  // s_embedder: xavier_uniform weight, zero bias (reference initialize_weights).
  const xavier = Math.sqrt(6 / (patchDim + D));
  specs.push(...linearSpecs('s_embedder.proj', patchDim, D, { weightInit: { kind: 'uniform', bound: xavier }, biasInit: { kind: 'zeros' } }));
  // Timestep MLP: weights N(0, 0.02), biases keep the PyTorch default.
  specs.push(...linearSpecs('t_embedder.mlp.0', TIMESTEP_FEATURES, D, { weightInit: { kind: 'normal', std: 0.02 } }));
  specs.push(...linearSpecs('t_embedder.mlp.2', D, D, { weightInit: { kind: 'normal', std: 0.02 } }));
  // Label table with K + 1 rows (row K = null label), N(0, 0.02).
  specs.push({ name: 'y_embedder.embedding_table.weight', shape: [K + 1, D], linear: false, init: { kind: 'normal', std: 0.02 } });
  switch (head.kind) {
    case 'nerf':
      specs.push(norm('final_layer.norm.weight', head.width));
      // Zero-initialised output: the network predicts zero velocity at init.
      specs.push(...linearSpecs('final_layer.linear', head.width, C, { weightInit: { kind: 'zeros' }, biasInit: { kind: 'zeros' } }));
      break;
    case 'linear':
      // DiT final layer; adaLN keeps PixNerd's default init (not zeroed), the output linear is zeroed.
      specs.push(...linearSpecs('final_layer.adaLN_modulation.0', D, 2 * D));
      specs.push(...linearSpecs('final_layer.linear', D, p * p * C, { weightInit: { kind: 'zeros' }, biasInit: { kind: 'zeros' } }));
      break;
    default: {
      const never: never = head;
      throw new Error(`unknown head ${JSON.stringify(never)}`);
    }
  }
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}`;
    specs.push(norm(`${b}.norm1.weight`, D));
    specs.push(...linearSpecs(`${b}.attn.qkv`, D, 3 * D, { bias: false }));
    specs.push(norm(`${b}.attn.q_norm.weight`, Dh), norm(`${b}.attn.k_norm.weight`, Dh));
    specs.push(...linearSpecs(`${b}.attn.proj`, D, D));
    specs.push(norm(`${b}.norm2.weight`, D));
    specs.push(...linearSpecs(`${b}.mlp.w1`, D, F, { bias: false }));
    specs.push(...linearSpecs(`${b}.mlp.w3`, D, F, { bias: false }));
    specs.push(...linearSpecs(`${b}.mlp.w2`, F, D, { bias: false }));
    // adaLN is NOT zero-initialised in PixNerd (unlike DiT).
    specs.push(...linearSpecs(`${b}.adaLN_modulation.0`, D, 6 * D));
  }
  if (head.kind === 'nerf') {
    for (let k = 0; k < head.blocks; k++) {
      const b = `blocks.${cfg.depth + k}`;
      specs.push(...linearSpecs(`${b}.param_generator1.0`, D, fieldParamsPerBlock));
      specs.push(norm(`${b}.norm.weight`, head.width));
    }
  }
  return specs;
}

/** Number of trainable parameters (analytic, allocates nothing). */
export function parameterCount(cfg: ModelConfig): number {
  return paramSpecs(cfg).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** One tensor initialised as its spec says, seeded by (seed, name). */
export function initTensor(spec: ParamSpec, seed: number): tf.Tensor {
  const s = deriveSeed(seed, spec.name);
  switch (spec.init.kind) {
    case 'zeros':
      return tf.zeros(spec.shape);
    case 'ones':
      return tf.ones(spec.shape);
    case 'normal':
      return tf.randomNormal(spec.shape, 0, spec.init.std, 'float32', s);
    case 'uniform':
      return tf.randomUniform(spec.shape, -spec.init.bound, spec.init.bound, 'float32', s);
    default: {
      const never: never = spec.init;
      throw new Error(`unknown init ${JSON.stringify(never)}`);
    }
  }
}

/** Fresh trainable parameters, reproducible from `seed` (independent of the backend). */
export function initParams(cfg: ModelConfig, seed = 0): Record<string, tf.Variable> {
  const params: Record<string, tf.Variable> = {};
  for (const spec of paramSpecs(cfg)) {
    const t = initTensor(spec, seed);
    // No tfjs variable name: names are global in tfjs and would clash between two models.
    params[spec.name] = tf.variable(t, true);
    t.dispose();
  }
  return params;
}

/** Disposes every tensor of a parameter tree. */
export function disposeParams(params: Params): void {
  for (const t of Object.values(params)) t.dispose();
}
