/**
 * A run directory: everything needed to inspect and resume a training run.
 *
 *   <run>/config.json              {model, train, data}: what was trained
 *   <run>/checkpoint.safetensors   model (`denoiser.`), EMA (`ema_denoiser.`), REPA projector
 *                                  (`diffusion_trainer.proj.`) in the reference names and layouts,
 *                                  AdamW moments (`optimizer.m.` / `optimizer.v.`), step in metadata
 *   <run>/metrics.jsonl            one JSON line per logged step
 *
 * Every file is written atomically (temp + rename): a run killed at any moment leaves the last
 * checkpoint loadable. Randomness is a function of (seed, step), so the step is the RNG state.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../config/model-config';
import { CHECKPOINT_PREFIX, fromReferenceTensors, referenceShape, toReferenceTensors } from '../checkpoint/reference-checkpoint';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../checkpoint/safetensors';
import { CheckpointError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';
import type { AdamWState } from '../training/adamw';
import { projectorSpecs, PROJECTOR_PREFIX } from '../training/repa';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const METRICS_FILE = 'metrics.jsonl';
export const CONFIG_FILE = 'config.json';

/** The whole state of a training run. */
export interface TrainState {
  params: Record<string, tf.Variable>;
  ema: Record<string, tf.Variable>;
  proj?: Record<string, tf.Variable>;
  opt: AdamWState;
  /** Optimizer steps completed. */
  step: number;
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** Writes the run's checkpoint atomically. */
export function saveCheckpoint(dir: string, model: ModelConfig, state: TrainState, extraMeta: Record<string, string> = {}): void {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, TensorToWrite>([
    ...toReferenceTensors(model, state.params, CHECKPOINT_PREFIX.model),
    ...toReferenceTensors(model, state.ema, CHECKPOINT_PREFIX.ema),
  ]);
  if (state.proj) {
    const E = state.proj['4.bias']!.shape[0]!;
    for (const spec of projectorSpecs(model.hiddenSize, E)) {
      const data = state.proj[spec.name]!.dataSync() as Float32Array;
      tensors.set(PROJECTOR_PREFIX + spec.name, { shape: referenceShape(spec), data: spec.linear ? transpose2d(data, spec.shape[0]!, spec.shape[1]!) : data.slice() });
    }
  }
  for (const [which, moments] of [['m', state.opt.m], ['v', state.opt.v]] as const) {
    for (const [k, v] of Object.entries(moments)) tensors.set(`optimizer.${which}.${k}`, { shape: v.shape, data: (v.dataSync() as Float32Array).slice() });
  }
  writeSafetensors(join(dir, CHECKPOINT_FILE), tensors, { format: 'pixnerd-ts/1', step: String(state.step), optimizer_step: String(state.opt.step), ...extraMeta });
}

/** True when the run directory holds a checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}

/** Loads a checkpoint into an existing (same-shaped) state; returns the checkpoint's metadata. */
export function loadCheckpoint(dir: string, model: ModelConfig, state: TrainState): Record<string, string> {
  const path = join(dir, CHECKPOINT_FILE);
  const file = readSafetensors(path);
  const assign = (vars: Record<string, tf.Variable>, loaded: Record<string, tf.Tensor>) => {
    for (const [k, v] of Object.entries(vars)) {
      v.assign(loaded[k]!);
      loaded[k]!.dispose();
    }
  };
  assign(state.params, fromReferenceTensors(model, file.tensors, CHECKPOINT_PREFIX.model, path));
  assign(state.ema, fromReferenceTensors(model, file.tensors, CHECKPOINT_PREFIX.ema, path));
  if (state.proj) {
    const E = state.proj['4.bias']!.shape[0]!;
    for (const spec of projectorSpecs(model.hiddenSize, E)) {
      const t = file.tensors.get(PROJECTOR_PREFIX + spec.name);
      if (!t) throw new CheckpointError(`${path}: REPA is on but the projector tensor "${PROJECTOR_PREFIX + spec.name}" is missing`);
      const data = t.data as Float32Array;
      state.proj[spec.name]!.assign(tf.tensor(spec.linear ? transpose2d(data, spec.shape[1]!, spec.shape[0]!) : data, spec.shape));
    }
  }
  for (const [which, moments] of [['m', state.opt.m], ['v', state.opt.v]] as const) {
    for (const [k, v] of Object.entries(moments)) {
      const t = file.tensors.get(`optimizer.${which}.${k}`);
      if (!t) throw new CheckpointError(`${path}: optimizer state "optimizer.${which}.${k}" is missing`);
      v.assign(tf.tensor(t.data as Float32Array, v.shape));
    }
  }
  const step = Number(file.metadata.step);
  if (!Number.isInteger(step)) throw new CheckpointError(`${path}: metadata has no step`);
  state.step = step;
  state.opt.step = Number(file.metadata.optimizer_step ?? step);
  return file.metadata;
}

/** Appends one metrics record (a JSON line). */
export function appendMetrics(dir: string, record: object): void {
  appendFileSync(join(dir, METRICS_FILE), JSON.stringify(record) + '\n');
}

/** The metrics records of a run (a torn last line from a kill is ignored). */
export function readMetrics(dir: string): Record<string, number>[] {
  const path = join(dir, METRICS_FILE);
  if (!existsSync(path)) return [];
  const out: Record<string, number>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* a partial line from a kill mid-append */
    }
  }
  return out;
}

/** Keeps only the records up to `step` (after resuming from a checkpoint at `step`). */
export function truncateMetrics(dir: string, step: number): void {
  const kept = readMetrics(dir).filter((r) => (r.step ?? 0) <= step);
  writeFileAtomic(join(dir, METRICS_FILE), kept.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Writes the run's config.json atomically. */
export function writeRunConfig(dir: string, config: object): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
}

/** Reads a run's config.json. */
export function readRunConfig(dir: string): Record<string, unknown> {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) throw new Error(`${dir} is not a run directory (no ${CONFIG_FILE})`);
  return JSON.parse(readFileSync(path, 'utf8'));
}
