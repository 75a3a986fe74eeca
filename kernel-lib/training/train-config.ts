/**
 * The training configuration: one plain typed object with reference defaults (paper.md 2.5),
 * validation that names the field, JSON-serialisable.
 */
import { type ModelConfig } from '../config/model-config';
import { PREDICTION_TARGETS, TIME_SAMPLINGS, type PredictionTarget, type TimeSampling } from '../diffusion/flow-matching';
import { ConfigError } from '../util/errors';

export interface OptimizerConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Linear lr warm-up over this many steps (0 = none, the reference). */
  warmupSteps: number;
  /** Global gradient-norm clip (0 = off, the reference). */
  gradClip: number;
  /**
   * After warm-up: 'constant' (the reference), or decay to `minLrRatio * lr` at the last step,
   * along a half cosine ('cosine') or a straight line ('linear').
   */
  schedule: LrSchedule;
  /** The decayed lr at the last step, as a fraction of `lr` (schedule 'cosine' or 'linear'). */
  minLrRatio: number;
  /**
   * The decay's share of the steps after warm-up (schedule 'cosine' or 'linear'): 1 (or absent)
   * decays over all of them; 0.2 holds `lr` for the first 80 % and decays over the last 20 % (a
   * warmup-stable-decay schedule, "cool-down"). Optional and without a default on purpose: a
   * filled-in default would change the config hash of every finished run (experiment-config.ts),
   * and the sweeps would run them all again.
   */
  decayFraction?: number;
}

export const LR_SCHEDULES = ['constant', 'cosine', 'linear'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

export interface RepaConfig {
  enabled: boolean;
  /**
   * 1-based trunk block whose output is aligned. Default: relative to the trunk depth, the
   * paper's block 8 of 28 (about the first third): ceil(depth * 8 / 28), so XL (26) -> 8,
   * small-64/16 (6) -> 2, tiny-32/8 (4) -> 2. An explicit value outside 1..depth is an error.
   */
  alignLayer: number;
  /** Loss weight (reference 0.5). */
  weight: number;
  /**
   * The frozen teacher (kernel-lib/training/teachers.ts): `auto` (the project's classifier of the
   * dataset for MNIST / Fashion-MNIST, nsfwjs MobileNetV2 for colour data), `mnist`,
   * `fashion-mnist`, `mobilenet-v2`, or `random` (a fixed random conv net, for tests).
   */
  teacher: TeacherName;
}

export const TEACHER_NAMES = ['auto', 'mnist', 'fashion-mnist', 'mobilenet-v2', 'random'] as const;
export type TeacherName = (typeof TEACHER_NAMES)[number];

export interface TrainConfig {
  seed: number;
  steps: number;
  /** Images per optimizer step. */
  batchSize: number;
  /** Gradient accumulation: the batch is split into this many equal micro-batches. */
  microBatches: number;
  optimizer: OptimizerConfig;
  emaDecay: number;
  /** min(decay, (1+k)/(10+k)) so short runs' EMA moves. */
  emaWarmup: boolean;
  timeSampling: TimeSampling;
  timeShift: number;
  /** Probability of replacing a label by the null label (CFG training). */
  labelDropout: number;
  prediction: PredictionTarget;
  repa: RepaConfig;
  logEvery: number;
  checkpointEvery: number;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  seed: 0,
  steps: 1000,
  batchSize: 32,
  microBatches: 1,
  optimizer: { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmupSteps: 0, gradClip: 0, schedule: 'constant', minLrRatio: 0 },
  emaDecay: 0.9999,
  emaWarmup: false,
  timeSampling: 'lognorm',
  timeShift: 1,
  labelDropout: 0.1,
  prediction: 'v',
  repa: { enabled: false, alignLayer: 8, weight: 0.5, teacher: 'auto' },
  logEvery: 10,
  checkpointEvery: 100,
};

export type TrainConfigOverrides = Partial<Omit<TrainConfig, 'optimizer' | 'repa'>> & {
  optimizer?: Partial<OptimizerConfig>;
  repa?: Partial<RepaConfig>;
};

function rejectUnknown(obj: object, allowed: object, prefix: string): void {
  for (const k of Object.keys(obj)) if (!(k in allowed)) throw new ConfigError(`${prefix}${k}`, (obj as Record<string, unknown>)[k], `unknown field (allowed: ${Object.keys(allowed).join(', ')})`);
}

/** REPA's default aligned block for a trunk of `depth` blocks: the paper's 8 of 28, scaled. */
export function defaultAlignLayer(depth: number): number {
  return Math.min(depth, Math.max(1, Math.ceil((depth * 8) / 28)));
}

/** Builds and validates a training config against the model it trains. */
export function createTrainConfig(overrides: TrainConfigOverrides, model: ModelConfig): TrainConfig {
  rejectUnknown(overrides, TRAIN_DEFAULTS, 'train.');
  rejectUnknown(overrides.optimizer ?? {}, { ...TRAIN_DEFAULTS.optimizer, decayFraction: undefined }, 'train.optimizer.'); // decayFraction: optional, no default
  rejectUnknown(overrides.repa ?? {}, TRAIN_DEFAULTS.repa, 'train.repa.');
  const cfg: TrainConfig = {
    ...TRAIN_DEFAULTS,
    ...overrides,
    optimizer: { ...TRAIN_DEFAULTS.optimizer, ...overrides.optimizer },
    repa: { ...TRAIN_DEFAULTS.repa, alignLayer: defaultAlignLayer(model.depth), ...overrides.repa },
  };
  const int = (f: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new ConfigError(f, v, `must be an integer >= ${min}`);
  };
  const num = (f: string, v: number, lo: number, hi: number, rule: string) => {
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new ConfigError(f, v, rule);
  };
  int('train.seed', cfg.seed, 0);
  int('train.steps', cfg.steps, 1);
  int('train.batchSize', cfg.batchSize, 1);
  int('train.microBatches', cfg.microBatches, 1);
  if (cfg.batchSize % cfg.microBatches !== 0) throw new ConfigError('train.microBatches', cfg.microBatches, `must divide batchSize (${cfg.batchSize})`);
  num('train.optimizer.lr', cfg.optimizer.lr, 0, 10, 'must be in [0, 10]');
  num('train.optimizer.beta1', cfg.optimizer.beta1, 0, 0.999999, 'must be in [0, 1)');
  num('train.optimizer.beta2', cfg.optimizer.beta2, 0, 0.999999999, 'must be in [0, 1)');
  num('train.optimizer.eps', cfg.optimizer.eps, 0, 1, 'must be in [0, 1]');
  num('train.optimizer.weightDecay', cfg.optimizer.weightDecay, 0, 1, 'must be in [0, 1]');
  int('train.optimizer.warmupSteps', cfg.optimizer.warmupSteps, 0);
  num('train.optimizer.gradClip', cfg.optimizer.gradClip, 0, Infinity, 'must be >= 0 (0 = off)');
  if (!LR_SCHEDULES.includes(cfg.optimizer.schedule)) throw new ConfigError('train.optimizer.schedule', cfg.optimizer.schedule, `must be one of ${LR_SCHEDULES.join(', ')}`);
  num('train.optimizer.minLrRatio', cfg.optimizer.minLrRatio, 0, 1, 'must be in [0, 1]');
  if (cfg.optimizer.decayFraction !== undefined) num('train.optimizer.decayFraction', cfg.optimizer.decayFraction, 0, 1, 'must be in [0, 1]');
  num('train.emaDecay', cfg.emaDecay, 0, 1, 'must be in [0, 1]');
  if (!TIME_SAMPLINGS.includes(cfg.timeSampling)) throw new ConfigError('train.timeSampling', cfg.timeSampling, `must be one of ${TIME_SAMPLINGS.join(', ')}`);
  num('train.timeShift', cfg.timeShift, 1e-6, 1e6, 'must be > 0 (1 = no shift)');
  num('train.labelDropout', cfg.labelDropout, 0, 1, 'must be in [0, 1]');
  if (!PREDICTION_TARGETS.includes(cfg.prediction)) throw new ConfigError('train.prediction', cfg.prediction, `must be one of ${PREDICTION_TARGETS.join(', ')}`);
  if (cfg.repa.enabled) {
    if (!Number.isInteger(cfg.repa.alignLayer) || cfg.repa.alignLayer < 1 || cfg.repa.alignLayer > model.depth) {
      throw new ConfigError('train.repa.alignLayer', cfg.repa.alignLayer, `must be a trunk block 1..${model.depth}`);
    }
    num('train.repa.weight', cfg.repa.weight, 0, 1e3, 'must be >= 0');
    if (!TEACHER_NAMES.includes(cfg.repa.teacher)) throw new ConfigError('train.repa.teacher', cfg.repa.teacher, `must be one of ${TEACHER_NAMES.join(', ')}`);
  }
  int('train.logEvery', cfg.logEvery, 1);
  int('train.checkpointEvery', cfg.checkpointEvery, 1);
  return cfg;
}

/**
 * Learning rate at a step (0-based) of a `totalSteps` run: linear warm-up, then constant (the
 * reference has no schedule) or a decay from `lr` to `minLrRatio * lr` at the last step (step
 * totalSteps - 1), over the last `decayFraction` of the steps after warm-up.
 */
export function lrAt(step: number, opt: OptimizerConfig, totalSteps: number): number {
  if (opt.warmupSteps > 0 && step < opt.warmupSteps) return (opt.lr * (step + 1)) / opt.warmupSteps;
  const schedule = opt.schedule ?? 'constant';
  const span = (totalSteps - 1 - opt.warmupSteps) * (opt.decayFraction ?? 1);
  if (schedule === 'constant' || span <= 0) return opt.lr;
  const progress = Math.min(1, Math.max(0, (step - (totalSteps - 1 - span)) / span));
  const shape = schedule === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  const min = opt.minLrRatio ?? 0;
  return opt.lr * (min + (1 - min) * shape);
}
