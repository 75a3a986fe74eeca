/**
 * Loads a run directory's model for sampling or inspection: its config and the EMA (default) or
 * online weights of its checkpoint. Reads only complete files (checkpoints are written
 * atomically) and never takes the run's lock, so a run can be loaded while it trains.
 *
 * Example:
 *   const run = loadRun('runs/mnist-tiny');            // EMA weights
 *   console.log(run.model.patchSize, run.prediction, run.classNames);
 *   disposeParams(run.params);
 */
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { resolveModelConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { CHECKPOINT_PREFIX, assignParams, fromReferenceTensors } from '../checkpoint/reference-checkpoint';
import { readSafetensors } from '../checkpoint/safetensors';
import { initParams } from '../model/params';
import type { PredictionTarget } from '../diffusion/flow-matching';
import { CHECKPOINT_FILE, readRunConfig } from './run-dir';

export interface LoadedRun {
  model: ModelConfig;
  prediction: PredictionTarget;
  classNames?: string[];
  params: Record<string, tf.Variable>;
}

/** A run's model with its EMA (default) or online weights (the caller disposes `params`). */
export function loadRun(runDir: string, weights: 'ema' | 'model' = 'ema'): LoadedRun {
  const cfg = readRunConfig(runDir) as { model: unknown; train?: { prediction?: PredictionTarget }; dataset?: { classNames?: string[] } };
  const model = resolveModelConfig(cfg.model);
  const params = initParams(model, 0);
  const path = join(runDir, CHECKPOINT_FILE);
  assignParams(params, fromReferenceTensors(model, readSafetensors(path).tensors, weights === 'ema' ? CHECKPOINT_PREFIX.ema : CHECKPOINT_PREFIX.model, path));
  return { model, prediction: cfg.train?.prediction ?? 'v', classNames: cfg.dataset?.classNames, params };
}
