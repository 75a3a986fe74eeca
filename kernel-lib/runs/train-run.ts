/**
 * Trains an experiment into a run directory: loads its dataset (and REPA teacher), then runs the
 * training loop with progress (a bar in a terminal, a redrawing line and a live loss chart in a
 * notebook, a line every 10 s in logs). The run directory gets config.json, checkpoints and
 * metrics.jsonl; `resume` continues from its checkpoint. The loop holds the run's lock.
 *
 * Example:
 *   const state = await trainRun(readExperiment('experiments/mnist-tiny.json'), 'runs/mnist-tiny', { resume: true });
 *   disposeTrainState(state);
 */
import { basename } from 'node:path';
import { train, type StepReport } from '../training/train';
import { loadTeacher } from '../training/teachers';
import { trainingMonitor } from '../viz/training-monitor';
import { datasetFromConfig, stepBatches } from '../../data-loaders/from-config';
import type { Experiment } from './experiment';
import type { TrainState } from './run-dir';
import type { RunLock } from './run-lock';

export interface TrainRunOptions {
  /** Continue from the run directory's checkpoint when there is one. */
  resume?: boolean;
  /** No progress display. */
  quiet?: boolean;
  onStep?: (r: StepReport) => void;
  /** Stop after this many steps in this call (the run stays resumable). */
  maxStepsThisCall?: number;
  /** The run's lock when the caller already holds it (the experiment runner); else train() takes it. */
  lock?: RunLock;
}

/** Trains `exp` into `runDir`; returns the final state (the caller disposes it). */
export async function trainRun(exp: Experiment, runDir: string, opts: TrainRunOptions = {}): Promise<TrainState> {
  const ds = await datasetFromConfig(exp.data, exp.model.imageSize);
  if (ds.channels !== exp.model.inChannels) throw new Error(`dataset ${ds.name} has ${ds.channels} channel(s), model.inChannels is ${exp.model.inChannels}`);
  if (ds.numClasses > exp.model.numClasses) throw new Error(`dataset ${ds.name} has ${ds.numClasses} classes, model.numClasses is ${exp.model.numClasses}`);
  const teacher = exp.train.repa.enabled
    ? await loadTeacher(exp.train.repa.teacher, { dataset: exp.data.dataset, channels: ds.channels, cell: exp.model.patchSize, seed: exp.train.seed })
    : undefined;
  const monitor = opts.quiet ? null : trainingMonitor({ label: basename(runDir), title: `${basename(runDir)}: loss` });
  try {
    return await train({
      model: exp.model,
      train: exp.train,
      nextBatch: stepBatches(ds, exp.train.batchSize, exp.train.seed),
      teacher,
      runDir,
      resume: opts.resume,
      lock: opts.lock,
      maxStepsThisCall: opts.maxStepsThisCall,
      runConfig: { data: exp.data, dataset: { name: ds.name, size: ds.size, classNames: ds.classNames } },
      onStep: (r) => {
        opts.onStep?.(r);
        monitor?.onStep(r);
      },
    });
  } finally {
    monitor?.done();
    teacher?.dispose();
  }
}
