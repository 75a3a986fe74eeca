/**
 * Experiment files: a base run config, a grid of variants, seeds, an evaluation recipe, and
 * a smoke recipe that shrinks every budget. Validated, and expanded into one RunSpec per
 * variant x seed.
 *
 *   {
 *     "id": "head", "description": "neural field vs linear head",
 *     "base": {"model": {...}, "train": {...}, "data": {...}},
 *     "variants": {"nerf": {"model": {"head": {"kind": "nerf"}}}, "linear": {"model": {"head": {"kind": "linear"}}}},
 *     "seeds": [0, 1],
 *     "eval": {"samples": 500, "sampler": "euler", "steps": 20, "cfg": 1.5, "interval": [0.1, 1]},
 *     "smoke": {"steps": 3, "batchSize": 8, "samples": 16, "sampleSteps": 4}
 *   }
 *
 * Any config field may vary (variant overrides are deep-merged into the base).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolveModelConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { createTrainConfig, type TrainConfig } from '../training/train-config';
import { EVAL_DEFAULTS, validateEvalConfig, type EvalConfig } from '../runs/evaluate-run';
import type { DataConfig } from '../../data-loaders/from-config';
import { ConfigError } from '../util/errors';
import { parseSlurmOptions, type SlurmOptions } from './slurm-options';

export type { EvalConfig };

export interface SmokeConfig {
  steps: number;
  batchSize: number;
  samples: number;
  sampleSteps: number;
}

export interface ExperimentFile {
  id: string;
  description?: string;
  base: { model: unknown; train?: Record<string, unknown>; data: DataConfig };
  variants: Record<string, { model?: Record<string, unknown>; train?: Record<string, unknown>; data?: Partial<DataConfig> }>;
  seeds: number[];
  eval: EvalConfig;
  smoke?: SmokeConfig;
  /** Scheduler options for `--executor slurm` (see slurm-options.ts). */
  slurm?: SlurmOptions;
}

/** One training + evaluation run. */
export interface RunSpec {
  experimentId: string;
  variant: string;
  seed: number;
  /** Position in the expanded list (the array index of a cluster job). */
  index: number;
  model: ModelConfig;
  train: TrainConfig;
  data: DataConfig;
  eval: EvalConfig;
  /** sha256 (first 12 hex) of the resolved model, train, data and eval configs. */
  hash: string;
  /** Run directory relative to the runs root: <id>/<variant>/seed-<seed>. */
  dir: string;
}

const SMOKE_DEFAULTS: SmokeConfig = { steps: 3, batchSize: 8, samples: 16, sampleSteps: 3 };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Deep merge: objects merge key by key, everything else (arrays too) is replaced. A tagged
 * union switching variant (`kind` differs, e.g. head nerf -> linear) is replaced whole.
 */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isObject(base) || !isObject(over)) return (over === undefined ? base : over) as T;
  if ('kind' in over && 'kind' in base && over.kind !== base.kind) return over as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}

/** JSON with sorted keys (stable hashing). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Validates an experiment file's structure; throws ConfigError naming the field. */
export function parseExperiment(json: unknown, source = 'experiment'): ExperimentFile {
  if (!isObject(json)) throw new ConfigError(source, json, 'must be a JSON object');
  const allowed = ['id', 'description', 'base', 'variants', 'seeds', 'eval', 'smoke', 'slurm', '$comment'];
  for (const k of Object.keys(json)) if (!allowed.includes(k)) throw new ConfigError(k, json[k], `unknown field (allowed: ${allowed.join(', ')})`);
  const { id, base, variants, seeds } = json;
  if (typeof id !== 'string' || !SAFE_NAME.test(id)) throw new ConfigError('id', id, 'must be a name of letters, digits, . _ + -');
  if (!isObject(base) || !isObject(base.data)) throw new ConfigError('base', base, 'must hold model, train and data');
  if (!isObject(variants) || Object.keys(variants).length === 0) throw new ConfigError('variants', variants, 'must name at least one variant');
  for (const [name, v] of Object.entries(variants)) {
    if (!SAFE_NAME.test(name)) throw new ConfigError(`variants.${name}`, name, 'variant names are letters, digits, . _ + -');
    if (!isObject(v)) throw new ConfigError(`variants.${name}`, v, 'must be an object of overrides');
    for (const k of Object.keys(v)) if (!['model', 'train', 'data', '$comment'].includes(k)) throw new ConfigError(`variants.${name}.${k}`, v[k], 'overrides go under model, train or data');
  }
  if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every((s) => Number.isInteger(s) && s >= 0)) throw new ConfigError('seeds', seeds, 'must be a non-empty list of integers >= 0');
  if (new Set(seeds).size !== seeds.length) throw new ConfigError('seeds', seeds, 'must not repeat');
  const ev = deepMerge(EVAL_DEFAULTS, json.eval ?? {}) as EvalConfig;
  validateEvalConfig(ev);
  const smoke = deepMerge(SMOKE_DEFAULTS, json.smoke ?? {}) as SmokeConfig;
  const slurm = json.slurm === undefined ? undefined : parseSlurmOptions(json.slurm, 'slurm');
  return { id, description: json.description as string | undefined, base: base as ExperimentFile['base'], variants: variants as ExperimentFile['variants'], seeds: seeds as number[], eval: ev, smoke, ...(slurm ? { slurm } : {}) };
}

/** Reads and validates an experiment file. */
export function readExperimentFile(path: string): ExperimentFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read experiment ${path}: ${(e as Error).message}`);
  }
  return parseExperiment(json, path);
}

/**
 * Every variant x seed as a resolved, validated RunSpec (variants in file order, seeds inner).
 * `smoke` shrinks the budgets and puts the runs under `<id>-smoke/`.
 */
export function expandRuns(exp: ExperimentFile, opts: { smoke?: boolean } = {}): RunSpec[] {
  const specs: RunSpec[] = [];
  const smoke = opts.smoke ? exp.smoke ?? SMOKE_DEFAULTS : null;
  const id = smoke ? `${exp.id}-smoke` : exp.id;
  for (const [variant, over] of Object.entries(exp.variants)) {
    for (const seed of exp.seeds) {
      const where = `variants.${variant}`;
      let model: ModelConfig;
      let train: TrainConfig;
      try {
        model = resolveModelConfig(deepMerge(exp.base.model ?? {}, over.model ?? {}));
        const trainOver = deepMerge(deepMerge(exp.base.train ?? {}, over.train ?? {}), { seed, ...(smoke ? { steps: smoke.steps, batchSize: smoke.batchSize, microBatches: 1, logEvery: 1, checkpointEvery: Math.max(1, smoke.steps - 1) } : {}) });
        train = createTrainConfig(trainOver, model);
      } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError(`${where}: ${e.field}`, e.value, e.rule);
        throw e;
      }
      const data = deepMerge(exp.base.data, over.data ?? {}) as DataConfig;
      const ev: EvalConfig = smoke ? { ...exp.eval, samples: Math.min(exp.eval.samples, smoke.samples), steps: Math.min(exp.eval.steps, smoke.sampleSteps) } : exp.eval;
      const hash = createHash('sha256').update(canonicalJson({ model, train, data, eval: ev })).digest('hex').slice(0, 12);
      specs.push({ experimentId: id, variant, seed, index: specs.length, model, train, data, eval: ev, hash, dir: `${id}/${variant}/seed-${seed}` });
    }
  }
  return specs;
}
