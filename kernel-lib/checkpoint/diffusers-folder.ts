/**
 * A diffusers export of PixNerd (checkpoints.md): `transformer/config.json` holds the nine
 * PixNerDiT constructor arguments (`in_channels`, `patch_size`, `num_groups`, `hidden_size`,
 * `hidden_size_x`, `num_blocks`, `num_cond_blocks`, `nerf_mlpratio`, `num_classes`) plus
 * `learn_sigma` and `use_ema`; `transformer/diffusion_pytorch_model.safetensors` holds the
 * reference names twice, under `denoiser.` and `ema_denoiser.`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createConfig, fromReferenceArgs, MODEL_DEFAULTS, type ModelConfig } from '../config/model-config';
import { CheckpointError } from '../util/errors';
import { openSafetensors, type LazySafetensors } from './lazy-safetensors';

export const DIFFUSERS_CONFIG = 'config.json';
export const DIFFUSERS_WEIGHTS = 'diffusion_pytorch_model.safetensors';

/** Keys of config.json that are not model-shape arguments. */
const NON_MODEL_KEYS = ['learn_sigma', 'use_ema'];

export interface DiffusersFolder {
  /** The folder holding config.json and the weights (`<dir>/transformer`, or `<dir>` itself). */
  dir: string;
  /** config.json as written (constructor arguments and `_class_name` etc.). */
  rawConfig: Record<string, unknown>;
  weights: LazySafetensors;
}

/** The transformer folder of a diffusers export (`dir/transformer` or `dir`), or undefined. */
export function findTransformerDir(dir: string): string | undefined {
  for (const d of [join(dir, 'transformer'), dir]) {
    if (existsSync(join(d, DIFFUSERS_CONFIG)) && statSync(d).isDirectory()) return d;
  }
  return undefined;
}

/**
 * Turns config.json into a ModelConfig: `_`-prefixed keys and use_ema dropped, learn_sigma
 * must be false (PixNerd predicts velocity only), the rest read as reference init_args.
 */
export function diffusersModelConfig(raw: Record<string, unknown>, opts: { imageSize?: number; source?: string } = {}): ModelConfig {
  const source = opts.source ?? DIFFUSERS_CONFIG;
  if (raw.learn_sigma === true) throw new CheckpointError(`${source}: learn_sigma = true is not supported (PixNerd predicts velocity only)`);
  const args = Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('_') && !NON_MODEL_KEYS.includes(k)));
  return createConfig({ ...fromReferenceArgs(args), imageSize: opts.imageSize ?? MODEL_DEFAULTS.imageSize }, MODEL_DEFAULTS);
}

/** Opens a diffusers export folder: its config and its weights (lazily). */
export function openDiffusersFolder(dir: string): DiffusersFolder {
  const tdir = findTransformerDir(dir);
  if (!tdir) throw new CheckpointError(`${dir}: not a diffusers export (no transformer/${DIFFUSERS_CONFIG})`);
  const configPath = join(tdir, DIFFUSERS_CONFIG);
  let rawConfig: Record<string, unknown>;
  try {
    rawConfig = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${configPath}: ${(e as Error).message}`);
  }
  if (rawConfig === null || typeof rawConfig !== 'object' || Array.isArray(rawConfig)) throw new CheckpointError(`${configPath}: not a JSON object`);
  const weightsPath = join(tdir, DIFFUSERS_WEIGHTS);
  if (!existsSync(weightsPath)) {
    const sharded = existsSync(`${weightsPath}.index.json`) ? ' (sharded exports are not supported: merge the shards)' : '';
    throw new CheckpointError(`${tdir}: no ${DIFFUSERS_WEIGHTS}${sharded}`);
  }
  return { dir: tdir, rawConfig, weights: openSafetensors(weightsPath) };
}
