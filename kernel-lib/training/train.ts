/**
 * The training loop, flat and visible (nanoGPT train.py, DiT main):
 * setup (or resume), then for each step: lr -> batch -> loss and gradients -> NaN check ->
 * AdamW -> EMA -> report -> log every N -> checkpoint every M.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/model-config';
import { initParams } from '../model/params';
import { adamwStep, clipByGlobalNorm, initAdamW } from './adamw';
import { copyParams, emaDecayAt, updateEma } from './ema';
import { initProjector, type Teacher } from './repa';
import { appendMetrics, hasCheckpoint, loadCheckpoint, saveCheckpoint, truncateMetrics, writeRunConfig, type TrainState } from '../runs/run-dir';
import { acquireRunLockSync, holdsRunLock, type RunLock } from '../runs/run-lock';
import { lrAt, type TrainConfig } from './train-config';
import { lossAndGrads, trainableList, type Batch, type StepLoss } from './train-step';

/** A loss became NaN or Inf: names the step and the loss part. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

/** What the loop reports after every step (the progress bar and live plots consume it). */
export interface StepReport {
  /** Steps completed (1-based). */
  step: number;
  totalSteps: number;
  loss: StepLoss;
  lr: number;
  msPerStep: number;
  imagesPerSec: number;
  etaSec: number;
}

export interface TrainOptions {
  model: ModelConfig;
  train: TrainConfig;
  /** Batch for a (0-based) step: must be a deterministic function of the step for exact resume. The loop disposes it. */
  nextBatch: (step: number) => Batch | Promise<Batch>;
  /** Frozen REPA teacher (needed when train.repa.enabled). */
  teacher?: Teacher;
  /** Run directory for config, checkpoints and metrics (none: train in memory only). */
  runDir?: string;
  /** Resume from the run directory's checkpoint when there is one. */
  resume?: boolean;
  /** Extra content for config.json (e.g. the data config). */
  runConfig?: Record<string, unknown>;
  onStep?: (r: StepReport) => void;
  /** Stop after this many steps in this call (the run stays resumable). */
  maxStepsThisCall?: number;
  /**
   * The run directory's lock when the caller already holds it (the experiment runner takes it
   * before writing status.json). Otherwise train() takes it before touching the directory and
   * releases it when it returns; a second writer, in this process or another, is refused.
   */
  lock?: RunLock;
}

/** Fresh model, EMA copy (decay 0 = copy, as DiT), projector and optimizer state. */
export function initTrainState(model: ModelConfig, train: TrainConfig, teacherDim?: number): TrainState {
  const params = initParams(model, train.seed);
  const ema = copyParams(params);
  let proj: Record<string, tf.Variable> | undefined;
  if (train.repa.enabled) {
    if (!teacherDim) throw new Error('REPA is enabled: a teacher (with its feature width) is required');
    proj = initProjector(model.hiddenSize, teacherDim, train.seed);
  }
  const opt = initAdamW(Object.fromEntries(trainableList({ params, proj })));
  return { params, ema, proj, opt, step: 0 };
}

/** Disposes every tensor of a training state. */
export function disposeTrainState(s: TrainState): void {
  tf.dispose([...Object.values(s.params), ...Object.values(s.ema), ...Object.values(s.proj ?? {}), ...Object.values(s.opt.m), ...Object.values(s.opt.v)]);
}

/** Trains; returns the state (the caller disposes it). */
export async function train(opts: TrainOptions): Promise<TrainState> {
  const { runDir } = opts;
  if (!runDir) return trainLoop(opts);
  if (opts.lock) {
    opts.lock.assertHeld();
    if (!holdsRunLock(runDir)) throw new Error(`train: the lock given is for ${opts.lock.dir}, not for the run directory ${runDir}`);
    return trainLoop(opts, opts.lock);
  }
  const lock = acquireRunLockSync(runDir, { purpose: 'train' });
  try {
    return await trainLoop(opts, lock);
  } finally {
    lock.release();
  }
}

/** The loop itself; `lock` is held on opts.runDir when there is one. */
async function trainLoop(opts: TrainOptions, lock?: RunLock): Promise<TrainState> {
  const { model, train: cfg, runDir } = opts;
  const state = initTrainState(model, cfg, opts.teacher?.dim);
  if (runDir) {
    if (opts.resume && hasCheckpoint(runDir)) {
      loadCheckpoint(runDir, model, state);
      truncateMetrics(runDir, state.step);
    } else writeRunConfig(runDir, { model, train: cfg, ...opts.runConfig });
  }
  const trainable = Object.fromEntries(trainableList({ params: state.params, proj: state.proj }));
  const end = Math.min(cfg.steps, state.step + (opts.maxStepsThisCall ?? Infinity));
  const recent: number[] = [];

  while (state.step < end) {
    const t0 = performance.now();
    const step = state.step; // 0-based index of the step being taken
    const lr = lrAt(step, cfg.optimizer, cfg.steps);
    const batch = await opts.nextBatch(step);
    let loss: StepLoss;
    let grads: Record<string, tf.Tensor>;
    try {
      ({ loss, grads } = lossAndGrads({ params: state.params, proj: state.proj }, model, cfg, batch, step, opts.teacher));
    } finally {
      tf.dispose(batch.raw ? [batch.x, batch.raw, batch.y] : [batch.x, batch.y]);
    }
    // name the part first (fm, repa), the total last
    const bad = (['fm', 'repa', 'total'] as const).map((k) => [k, loss[k]] as const).find(([, v]) => v !== undefined && !Number.isFinite(v));
    if (bad) {
      tf.dispose(Object.values(grads));
      throw new TrainingError(`step ${step + 1}: ${bad[0]} loss is ${bad[1]} (total ${loss.total}); training stopped, the last checkpoint is intact`);
    }
    if (cfg.optimizer.gradClip > 0) grads = clipByGlobalNorm(grads, cfg.optimizer.gradClip).grads;
    adamwStep(trainable, grads, state.opt, { ...cfg.optimizer, lr });
    tf.dispose(Object.values(grads));
    updateEma(state.ema, state.params, emaDecayAt(state.opt.step, cfg.emaDecay, cfg.emaWarmup));
    state.step += 1;

    const ms = performance.now() - t0;
    recent.push(ms);
    if (recent.length > 20) recent.shift();
    const avg = recent.reduce((a, b) => a + b, 0) / recent.length;
    const report: StepReport = { step: state.step, totalSteps: cfg.steps, loss, lr, msPerStep: ms, imagesPerSec: (1000 * cfg.batchSize) / avg, etaSec: ((cfg.steps - state.step) * avg) / 1000 };
    opts.onStep?.(report);
    if (runDir) {
      lock?.assertHeld(); // a writer that lost its lock (forceUnlock, a stall past the stale timeout) stops before writing
      if (state.step % cfg.logEvery === 0 || state.step === cfg.steps) appendMetrics(runDir, { step: state.step, ...loss, lr, ms: Math.round(ms * 10) / 10 });
      if (state.step % cfg.checkpointEvery === 0 || state.step === cfg.steps) saveCheckpoint(runDir, model, state);
    }
  }
  // A call that stopped early (maxStepsThisCall) leaves a checkpoint at the step it reached.
  if (runDir && state.step % cfg.checkpointEvery !== 0 && state.step !== cfg.steps) saveCheckpoint(runDir, model, state);
  return state;
}
