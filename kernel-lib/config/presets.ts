/**
 * Model presets, keyed by the exact names used in experiments and logs.
 *
 * Reference presets follow the official configs (paper.md 1.9). CPU presets are ours,
 * sized so that a 2-core machine trains them in minutes:
 *
 * | preset        | image   | C | p  | D   | heads | trunk | field blocks | hx | r | classes |
 * |---------------|---------|---|----|-----|-------|-------|--------------|----|---|---------|
 * | PixNerd-L/16  | 256     | 3 | 16 | 1024| 16    | 22    | 2            | 64 | 2 | 1000    |
 * | PixNerd-XL/16 | 256     | 3 | 16 | 1152| 16    | 26    | 4            | 64 | 2 | 1000    |
 * | tiny-32/8     | 32 grey | 1 | 8  | 128 | 4     | 4     | 2            | 32 | 2 | 10      |
 * | tiny-32/16    | 32 grey | 1 | 16 | 128 | 4     | 4     | 2            | 32 | 2 | 10      |
 * | small-64/16   | 64 RGB  | 3 | 16 | 256 | 4     | 6     | 2            | 64 | 2 | 10      |
 * | bench-S       | 64 RGB  | 3 | 16 | 384 | 6     | 10    | 2            | 64 | 2 | 10      |
 * | bench-M       | 128 RGB | 3 | 16 | 384 | 6     | 10    | 2            | 64 | 2 | 10      |
 */
import { ConfigError } from '../util/errors';
import {
  createConfig,
  fromReferenceArgs,
  isReferenceArgs,
  MODEL_DEFAULTS,
  type ModelConfig,
  type ModelConfigOverrides,
} from './model-config';

export type PresetName =
  | 'PixNerd-L/16'
  | 'PixNerd-XL/16'
  | 'tiny-32/8'
  | 'tiny-32/16'
  | 'small-64/16'
  | 'bench-S'
  | 'bench-M';

const tiny32: ModelConfigOverrides = {
  imageSize: 32,
  inChannels: 1,
  patchSize: 8,
  hiddenSize: 128,
  numHeads: 4,
  depth: 4,
  numClasses: 10,
  head: { width: 32, mlpRatio: 2, blocks: 2 },
};

const benchS: ModelConfigOverrides = {
  imageSize: 64,
  inChannels: 3,
  patchSize: 16,
  hiddenSize: 384,
  numHeads: 6,
  depth: 10,
  numClasses: 10,
  head: { width: 64, mlpRatio: 2, blocks: 2 },
};

export const PRESETS: Record<PresetName, ModelConfig> = {
  'PixNerd-L/16': createConfig({}),
  'PixNerd-XL/16': createConfig({ hiddenSize: 1152, numHeads: 16, depth: 26, head: { blocks: 4 } }),
  'tiny-32/8': createConfig(tiny32),
  // Same model with 16 px patches (4 tokens): the regime where the paper says the field head matters.
  'tiny-32/16': createConfig({ ...tiny32, patchSize: 16 }),
  'small-64/16': createConfig({ ...benchS, hiddenSize: 256, numHeads: 4, depth: 6 }),
  'bench-S': createConfig(benchS),
  'bench-M': createConfig({ ...benchS, imageSize: 128 }),
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The preset's config, or a ConfigError listing the known names. */
export function getPreset(name: string): ModelConfig {
  if (!(name in PRESETS)) throw new ConfigError('preset', name, `unknown preset (known: ${PRESET_NAMES.join(', ')})`);
  return PRESETS[name as PresetName];
}

/**
 * Resolves a config as written in a JSON file: an optional `preset` to start from, then either
 * our field names or the reference init_args names (num_blocks, hidden_size_x, ...).
 */
export function resolveModelConfig(json: unknown): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError('config', json, 'must be a JSON object');
  }
  const { preset, ...rest } = json as Record<string, unknown>;
  const base = preset === undefined ? MODEL_DEFAULTS : getPreset(String(preset));
  const overrides = isReferenceArgs(rest) ? fromReferenceArgs(rest) : (rest as ModelConfigOverrides);
  return createConfig(overrides, base);
}
