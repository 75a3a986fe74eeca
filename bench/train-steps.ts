/**
 * The training steps the benchmarks time, built once for bench/run.ts and bench/profile-step.ts:
 *
 * - `plainTrainStep(model, batch)`: one step as the bench's configurations time it: fixed random
 *   images in [-1, 1] ([B, H, W, C]) and cycling labels, no REPA; loss, gradients, AdamW.
 * - `recipeTrainStep(exp)`: everything one step of `npm start` does under an experiment's
 *   recipe: the dataset's next batch, the REPA teacher, loss and gradients, AdamW, EMA.
 *
 * `step(lap)` runs one step and returns its total loss; `lap(phase)` (optional) is called at the
 * end of each phase (`batch`, `loss and gradients`, `AdamW`, `EMA`) so that a profiler can time
 * them. `dispose()` frees the state, the data and the teacher.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../kernel-lib/config/model-config';
import type { Experiment } from '../kernel-lib/runs/experiment';
import { adamwStep } from '../kernel-lib/training/adamw';
import { emaDecayAt, updateEma } from '../kernel-lib/training/ema';
import { loadTeacher } from '../kernel-lib/training/teachers';
import type { TrainState } from '../kernel-lib/runs/run-dir';
import { disposeTrainState, initTrainState } from '../kernel-lib/training/train';
import { createTrainConfig, type TrainConfig } from '../kernel-lib/training/train-config';
import type { Teacher } from '../kernel-lib/training/repa';
import { lossAndGrads, trainableList, type Batch } from '../kernel-lib/training/train-step';
import { datasetFromConfig, stepBatches } from '../data-loaders/from-config';

/** Called at the end of each phase of a step with the phase's name. */
type Lap = (phase: string) => void;

export interface TimedTrainStep {
  state: TrainState;
  /** One training step; returns the total loss (throws where it is not finite). */
  step: (lap?: Lap) => Promise<number>;
  dispose: () => void;
}

/** Loss and gradients on `batch`, then the AdamW update of `trainable`; returns the total loss. */
function lossAndUpdate(state: TrainState, trainable: Record<string, tf.Variable>, model: ModelConfig, train: TrainConfig, batch: Batch, n: number, lap?: Lap, teacher?: Teacher): number {
  const { loss, grads } = lossAndGrads({ params: state.params, proj: state.proj }, model, train, batch, n, teacher);
  lap?.('loss and gradients');
  adamwStep(trainable, grads, state.opt, train.optimizer);
  tf.dispose(Object.values(grads));
  lap?.('AdamW');
  if (!Number.isFinite(loss.total)) throw new Error(`non-finite loss ${loss.total}`);
  return loss.total;
}

/** The bench's plain step: random images [B, H, W, C], no REPA (see the file comment). */
export function plainTrainStep(model: ModelConfig, batch: number): TimedTrainStep {
  const H = model.imageSize;
  const train = createTrainConfig({ batchSize: batch, labelDropout: 0.1 }, model);
  const state = initTrainState(model, train);
  const x = tf.randomUniform([batch, H, H, model.inChannels], -1, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % model.numClasses), 'int32');
  let n = 0;
  return {
    state,
    step: async (lap) => lossAndUpdate(state, state.params, model, train, { x, y }, n++, lap),
    dispose: () => {
      tf.dispose([x, y]);
      disposeTrainState(state);
    },
  };
}

/** One step of `npm start` under `exp`'s recipe (see the file comment). */
export async function recipeTrainStep(exp: Experiment): Promise<TimedTrainStep> {
  const { model, train } = exp;
  const ds = await datasetFromConfig(exp.data, model.imageSize);
  const teacher = await loadTeacher(train.repa.teacher, { dataset: exp.data.dataset, channels: ds.channels, cell: model.patchSize, seed: train.seed });
  const state = initTrainState(model, train, teacher.dim);
  const trainable = Object.fromEntries(trainableList({ params: state.params, proj: state.proj }));
  const nextBatch = stepBatches(ds, train.batchSize, train.seed);
  let n = 0;
  return {
    state,
    step: async (lap) => {
      const batch = await nextBatch(n);
      lap?.('batch');
      const loss = lossAndUpdate(state, trainable, model, train, batch, n, lap, teacher);
      tf.dispose([batch.x, batch.raw!, batch.y]);
      updateEma(state.ema, state.params, emaDecayAt(state.opt.step, train.emaDecay, train.emaWarmup));
      lap?.('EMA');
      n++;
      return loss;
    },
    dispose: () => {
      disposeTrainState(state);
      teacher.dispose();
    },
  };
}
