/**
 * A single-run experiment: the model, training and data configs of one run, as written in an
 * experiment file such as experiments/mnist-tiny.json:
 *
 *   {"model": {preset | fields | reference init_args}, "train": {...}, "data": {"dataset": "mnist", ...}}
 *
 * (A sweep file with variants and seeds is kernel-lib/experiments/experiment-config.ts.)
 *
 * Example:
 *   const exp = readExperiment('experiments/mnist-tiny.json', { steps: 200 });
 *   console.log(exp.model.patchSize, exp.train.steps, exp.data.dataset);
 */
import { readFileSync } from 'node:fs';
import { resolveModelConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { createTrainConfig, type TrainConfig } from '../training/train-config';
import type { DataConfig } from '../../data-loaders/from-config';
import { ConfigError } from '../util/errors';

export interface Experiment {
  model: ModelConfig;
  train: TrainConfig;
  data: DataConfig;
}

/** Resolves and validates an experiment object (model, train, data). `source` names it in errors. */
export function experimentFromJson(json: unknown, overrides: { steps?: number } = {}, source = 'experiment'): Experiment {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(source, json, 'must be a JSON object with model, train and data');
  const j = json as { model?: unknown; train?: object; data?: DataConfig };
  const model = resolveModelConfig(j.model ?? {});
  const train = createTrainConfig({ ...(j.train ?? {}), ...(overrides.steps ? { steps: overrides.steps } : {}) }, model);
  if (!j.data?.dataset) throw new Error(`${source}: "data": {"dataset": ...} is required`);
  return { model, train, data: j.data };
}

/** Reads and validates an experiment file. */
export function readExperiment(path: string, overrides: { steps?: number } = {}): Experiment {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read experiment ${path}: ${(e as Error).message}`);
  }
  return experimentFromJson(json, overrides, path);
}
