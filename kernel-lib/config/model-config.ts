/**
 * The PixNerd model configuration: one plain typed object, defaults, validation and the
 * derived sizes. Serialisable to JSON; accepts the reference implementation's init_args
 * names (`hidden_size`, `num_groups`, ...) so a reference YAML block can be pasted.
 *
 * Legend: D hiddenSize, h numHeads, Dh = D/h, p patchSize, hx head.width, r head.mlpRatio,
 * C inChannels, L tokens = (H/p)(W/p), K numClasses (K is also the null label).
 */
import { ConfigError } from '../util/errors';

/** Coordinate encoding of a pixel's position inside its patch. */
export type CoordEncoding = 'dct' | 'sincos' | 'none';
export const COORD_ENCODINGS: readonly CoordEncoding[] = ['dct', 'sincos', 'none'];

/** Which generated field matrices get L2-normalised along their input dimension. */
export type FieldWeightNorm = 'none' | 'fc1' | 'fc1+fc2';
export const FIELD_WEIGHT_NORMS: readonly FieldWeightNorm[] = ['none', 'fc1', 'fc1+fc2'];

/** The PixNerd neural-field head (paper section 3). */
export interface NerfHeadConfig {
  kind: 'nerf';
  /** hx: width of the per-patch MLP (reference hidden_size_x). */
  width: number;
  /** r: the field MLP's hidden ratio (reference nerf_mlpratio); hidden = hx * r. */
  mlpRatio: number;
  /** Number of NerfBlocks (reference num_blocks - num_cond_blocks). */
  blocks: number;
  coordEncoding: CoordEncoding;
  /** Reference c2i normalises both generated matrices. */
  weightNorm: FieldWeightNorm;
  /** DCT: M frequencies per axis (M^2 features); sincos: M octaves (4M features). Reference 8. */
  maxFreqs: number;
  /**
   * Whether the field sees the pixel's noisy value (the paper: true). false is an ablation beyond
   * the paper: the field maps only the coordinate encoding, so each pixel's value comes from its
   * patch's generated weights alone (the embedder keeps its C pixel rows, unused, so checkpoints
   * keep their shapes). Optional without a default on purpose, like train.optimizer.decayFraction:
   * a filled-in default would change the config hash of every finished run. Absent = true.
   */
  pixelInput?: boolean;
  /**
   * k (odd): the field sees each pixel's k x k box average of the noisy image instead of the
   * pixel alone, an ablation beyond the paper (per-pixel noise reaches the field k times weaker
   * and spatially smooth). Optional without a default, like pixelInput; absent = 1 (the paper).
   */
  pixelBlur?: number;
}

/** The DiT final layer (LayerNorm, adaLN shift/scale, Linear(D -> p*p*C)): the paper's baseline. */
export interface LinearHeadConfig {
  kind: 'linear';
}

export type HeadConfig = NerfHeadConfig | LinearHeadConfig;
export type HeadKind = HeadConfig['kind'];
export const HEAD_KINDS: readonly HeadKind[] = ['nerf', 'linear'];

export interface ModelConfig {
  /** Training resolution H = W (the trunk's token grid is imageSize / patchSize). */
  imageSize: number;
  /** C: image channels (3 RGB, 1 grey). */
  inChannels: number;
  /** p: pixels per patch side (reference 16). */
  patchSize: number;
  /** D: trunk width. */
  hiddenSize: number;
  /** h: attention heads (reference num_groups). */
  numHeads: number;
  /** Trunk (DiT) blocks (reference num_cond_blocks). */
  depth: number;
  /** K: number of classes; label K is the null (unconditional) label. */
  numClasses: number;
  head: HeadConfig;
}

export const NERF_HEAD_DEFAULTS: NerfHeadConfig = {
  kind: 'nerf',
  width: 64,
  mlpRatio: 2,
  blocks: 2,
  coordEncoding: 'dct',
  weightNorm: 'fc1+fc2',
  maxFreqs: 8,
};

/** Defaults are the reference PixNerd-L/16 at 256 px. */
export const MODEL_DEFAULTS: ModelConfig = {
  imageSize: 256,
  inChannels: 3,
  patchSize: 16,
  hiddenSize: 1024,
  numHeads: 16,
  depth: 22,
  numClasses: 1000,
  head: NERF_HEAD_DEFAULTS,
};

/** Overrides: any top-level field, and a partial head (its `kind` picks the variant). */
export type ModelConfigOverrides = Partial<Omit<ModelConfig, 'head'>> & {
  head?: Partial<NerfHeadConfig> | LinearHeadConfig;
};

/** Sizes derived from a config (never stored in it). */
export interface DerivedSizes {
  gridH: number;
  gridW: number;
  /** L = gridH * gridW */
  numTokens: number;
  /** Dh = D / h */
  headDim: number;
  /** SwiGLU hidden F = floor(2 * 4D / 3) */
  ffnHidden: number;
  /** C * p * p */
  patchDim: number;
  /** Coordinate-encoding features per pixel (0 for the linear head). */
  coordFeatures: number;
  /** 2 * hx * hx * r generated weights per token and NerfBlock (0 for the linear head). */
  fieldParamsPerBlock: number;
}

/** Derived sizes for an H x W input (default: the config's training resolution). */
export function derive(cfg: ModelConfig, height = cfg.imageSize, width = height): DerivedSizes {
  const gridH = height / cfg.patchSize;
  const gridW = width / cfg.patchSize;
  const head = cfg.head;
  return {
    gridH,
    gridW,
    numTokens: gridH * gridW,
    headDim: cfg.hiddenSize / cfg.numHeads,
    ffnHidden: Math.floor((2 * 4 * cfg.hiddenSize) / 3),
    patchDim: cfg.inChannels * cfg.patchSize * cfg.patchSize,
    coordFeatures: head.kind === 'nerf' ? coordFeatureCount(head.coordEncoding, head.maxFreqs) : 0,
    fieldParamsPerBlock: head.kind === 'nerf' ? 2 * head.width * head.width * head.mlpRatio : 0,
  };
}

/** Features per pixel of a coordinate encoding with M frequencies. */
export function coordFeatureCount(enc: CoordEncoding, maxFreqs: number): number {
  switch (enc) {
    case 'dct':
      return maxFreqs * maxFreqs;
    case 'sincos':
      return 4 * maxFreqs;
    case 'none':
      return 0;
    default: {
      const never: never = enc;
      throw new ConfigError('head.coordEncoding', never, `must be one of ${COORD_ENCODINGS.join(', ')}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Building and validating
// ---------------------------------------------------------------------------------------------

const TOP_KEYS = ['imageSize', 'inChannels', 'patchSize', 'hiddenSize', 'numHeads', 'depth', 'numClasses', 'head'];
const NERF_KEYS = ['kind', 'width', 'mlpRatio', 'blocks', 'coordEncoding', 'weightNorm', 'maxFreqs', 'pixelInput', 'pixelBlur'];

/** The reference implementation's init_args names and where they go. */
const REFERENCE_KEYS: Record<string, string> = {
  in_channels: 'inChannels',
  patch_size: 'patchSize',
  hidden_size: 'hiddenSize',
  num_groups: 'numHeads',
  num_classes: 'numClasses',
  image_size: 'imageSize',
  hidden_size_x: 'head.width',
  nerf_mlpratio: 'head.mlpRatio',
  max_freqs: 'head.maxFreqs',
  // num_blocks / num_cond_blocks are handled together (depth and head.blocks)
};

/**
 * Builds a validated config from `base` plus overrides. Throws ConfigError naming the field,
 * the value and the rule for unknown keys and bad values.
 */
export function createConfig(overrides: ModelConfigOverrides = {}, base: ModelConfig = MODEL_DEFAULTS): ModelConfig {
  rejectUnknown(overrides as Record<string, unknown>, TOP_KEYS, '');
  const { head: headOverride, ...top } = overrides;
  let head: HeadConfig;
  if (headOverride === undefined) head = base.head;
  else if (headOverride.kind === 'linear') {
    rejectUnknown(headOverride as unknown as Record<string, unknown>, ['kind'], 'head.');
    head = { kind: 'linear' };
  } else {
    rejectUnknown(headOverride as Record<string, unknown>, NERF_KEYS, 'head.');
    const kind = (headOverride as { kind?: unknown }).kind;
    if (kind !== undefined && kind !== 'nerf') {
      throw new ConfigError('head.kind', kind, `must be one of ${HEAD_KINDS.join(', ')}`);
    }
    const from = base.head.kind === 'nerf' ? base.head : NERF_HEAD_DEFAULTS;
    head = { ...from, ...headOverride, kind: 'nerf' };
  }
  const cfg: ModelConfig = { ...base, ...top, head };
  validateConfig(cfg);
  return cfg;
}

/**
 * Converts a reference init_args object (snake_case) to overrides. Keys already in our
 * camelCase form pass through, so a JSON file may mix both (e.g. reference args plus `head`
 * ablation switches).
 */
export function fromReferenceArgs(args: Record<string, unknown>): ModelConfigOverrides {
  const out: Record<string, unknown> = {};
  const head: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (key === 'num_blocks' || key === 'num_cond_blocks') continue;
    const target = REFERENCE_KEYS[key] ?? key;
    if (target.startsWith('head.')) head[target.slice(5)] = value;
    else if (target === 'head') Object.assign(head, value as object);
    else out[target] = value;
  }
  const numCond = args.num_cond_blocks;
  const numBlocks = args.num_blocks;
  if (numCond !== undefined) out.depth = numCond;
  if (numBlocks !== undefined) {
    if (numCond === undefined) throw new ConfigError('num_blocks', numBlocks, 'needs num_cond_blocks beside it');
    if (typeof numBlocks !== 'number' || typeof numCond !== 'number') {
      throw new ConfigError('num_blocks', numBlocks, 'num_blocks and num_cond_blocks must be integers');
    }
    if (head.kind !== 'linear') head.blocks = numBlocks - numCond;
  }
  if (Object.keys(head).length > 0) out.head = head;
  return out as ModelConfigOverrides;
}

/** True if the object uses any reference (snake_case) key. */
export function isReferenceArgs(obj: Record<string, unknown>): boolean {
  return Object.keys(obj).some((k) => k in REFERENCE_KEYS || k === 'num_blocks' || k === 'num_cond_blocks');
}

function rejectUnknown(obj: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  if (obj === null || typeof obj !== 'object') throw new ConfigError(prefix || 'config', obj, 'must be an object');
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${prefix}${key}`, obj[key], `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
}

function positiveInt(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(field, value, 'must be a positive integer');
  }
}

/** Throws ConfigError for any value that breaks a rule of the architecture. */
export function validateConfig(cfg: ModelConfig): void {
  positiveInt('imageSize', cfg.imageSize);
  positiveInt('inChannels', cfg.inChannels);
  positiveInt('patchSize', cfg.patchSize);
  positiveInt('hiddenSize', cfg.hiddenSize);
  positiveInt('numHeads', cfg.numHeads);
  positiveInt('depth', cfg.depth);
  positiveInt('numClasses', cfg.numClasses);
  if (cfg.imageSize % cfg.patchSize !== 0) {
    throw new ConfigError('imageSize', cfg.imageSize, `must be a multiple of patchSize (${cfg.patchSize})`);
  }
  if (cfg.hiddenSize % cfg.numHeads !== 0) {
    throw new ConfigError('hiddenSize', cfg.hiddenSize, `must be divisible by numHeads (${cfg.numHeads})`);
  }
  const headDim = cfg.hiddenSize / cfg.numHeads;
  if (headDim % 4 !== 0) {
    throw new ConfigError('hiddenSize', cfg.hiddenSize, `head dim hiddenSize/numHeads = ${headDim} must be divisible by 4 (2D RoPE)`);
  }
  const head = cfg.head as HeadConfig | undefined;
  if (!head || typeof head !== 'object') throw new ConfigError('head', head, 'must be an object with a kind');
  switch (head.kind) {
    case 'linear':
      return;
    case 'nerf': {
      positiveInt('head.width', head.width);
      positiveInt('head.blocks', head.blocks);
      positiveInt('head.maxFreqs', head.maxFreqs);
      if (typeof head.mlpRatio !== 'number' || !(head.mlpRatio > 0) || !Number.isInteger(head.width * head.mlpRatio)) {
        throw new ConfigError('head.mlpRatio', head.mlpRatio, 'must be > 0 with head.width * head.mlpRatio an integer');
      }
      if (!COORD_ENCODINGS.includes(head.coordEncoding)) {
        throw new ConfigError('head.coordEncoding', head.coordEncoding, `must be one of ${COORD_ENCODINGS.join(', ')}`);
      }
      if (!FIELD_WEIGHT_NORMS.includes(head.weightNorm)) {
        throw new ConfigError('head.weightNorm', head.weightNorm, `must be one of ${FIELD_WEIGHT_NORMS.join(', ')}`);
      }
      if (head.pixelInput !== undefined && typeof head.pixelInput !== 'boolean') throw new ConfigError('head.pixelInput', head.pixelInput, 'must be true or false');
      if (head.pixelInput === false && head.coordEncoding === 'none') {
        throw new ConfigError('head.pixelInput', false, "needs a coordinate encoding: with coordEncoding 'none' the field would see no input at all");
      }
      if (head.pixelBlur !== undefined) {
        if (!(Number.isInteger(head.pixelBlur) && head.pixelBlur >= 1 && head.pixelBlur % 2 === 1)) throw new ConfigError('head.pixelBlur', head.pixelBlur, 'must be an odd integer >= 1 (1 = the pixel alone)');
        if (head.pixelInput === false && head.pixelBlur > 1) throw new ConfigError('head.pixelBlur', head.pixelBlur, 'needs head.pixelInput: the field sees no pixel values to blur');
      }
      return;
    }
    default: {
      const kind = (head as { kind: unknown }).kind;
      throw new ConfigError('head.kind', kind, `must be one of ${HEAD_KINDS.join(', ')}`);
    }
  }
}
