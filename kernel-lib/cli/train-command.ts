/**
 * `pixnerd train --config experiments/<name>.json [--run runs/<name>] [--resume] [--steps N]`
 *
 * The experiment file: {"model": {preset | fields | reference init_args}, "train": {...},
 * "data": {"dataset": "mnist", ...}}. Shows progress (step, loss, it/s, ETA) and writes the run
 * directory (config, checkpoint, metrics.jsonl). Progress goes through trainingMonitor: a bar in a
 * terminal, a redrawing line and a live loss chart in a notebook, a line every 10 s in logs.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { initBackend } from '../backend/backend-ladder';
import { resolveModelConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { createTrainConfig, type TrainConfig } from '../training/train-config';
import { train, disposeTrainState, type StepReport } from '../training/train';
import { loadTeacher } from '../training/teachers';
import type { TrainState } from '../training/run-dir';
import { trainingMonitor } from '../viz/training-monitor';
import { datasetFromConfig, stepBatches, type DataConfig } from '../../data-loaders/from-config';

export interface Experiment {
  model: ModelConfig;
  train: TrainConfig;
  data: DataConfig;
}

/** Reads and validates an experiment file. */
export function readExperiment(path: string, overrides: { steps?: number } = {}): Experiment {
  const json = JSON.parse(readFileSync(path, 'utf8')) as { model?: unknown; train?: object; data?: DataConfig };
  const model = resolveModelConfig(json.model ?? {});
  const train = createTrainConfig({ ...(json.train ?? {}), ...(overrides.steps ? { steps: overrides.steps } : {}) }, model);
  if (!json.data?.dataset) throw new Error(`${path}: "data": {"dataset": ...} is required`);
  return { model, train, data: json.data };
}

/** Trains an experiment into `runDir`; returns the final state (the caller disposes it). */
export async function runExperiment(exp: Experiment, runDir: string, opts: { resume?: boolean; quiet?: boolean; onStep?: (r: StepReport) => void } = {}): Promise<TrainState> {
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

export async function trainCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, run: { type: 'string' }, resume: { type: 'boolean', default: false }, steps: { type: 'string' } } });
  if (!values.config) throw new Error('train needs --config experiments/<name>.json');
  const exp = readExperiment(values.config, { steps: values.steps ? Number(values.steps) : undefined });
  const runDir = values.run ?? join('runs', basename(values.config, '.json'));
  await initBackend();
  console.log(`training ${runDir}: ${exp.train.steps} steps, batch ${exp.train.batchSize}, data ${exp.data.dataset}${values.resume ? ' (resume)' : ''}`);
  disposeTrainState(await runExperiment(exp, runDir, { resume: values.resume }));
  console.log(`done: ${runDir}`);
}
