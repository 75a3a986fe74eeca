/**
 * `pixnerd train --config experiments/<name>.json [--run runs/<name>] [--resume] [--steps N]`
 *
 * The experiment file: {"model": {preset | fields | reference init_args}, "train": {...},
 * "data": {"dataset": "mnist", ...}}. Shows progress (step, loss, it/s, ETA) and writes the run
 * directory (config, checkpoint, metrics.jsonl).
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { initBackend } from '../backend/backend-ladder';
import { resolveModelConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { createTrainConfig, type TrainConfig } from '../training/train-config';
import { train, disposeTrainState, type StepReport } from '../training/train';
import { randomTeacher } from '../training/repa';
import type { TrainState } from '../training/run-dir';
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

/** One fixed-format progress line (nanoGPT style). */
export function formatStep(r: StepReport): string {
  const parts = `fm ${r.loss.fm.toFixed(4)}${r.loss.repa !== undefined ? ` repa ${r.loss.repa.toFixed(4)}` : ''}`;
  const eta = r.etaSec >= 60 ? `${Math.floor(r.etaSec / 60)}m${String(Math.round(r.etaSec % 60)).padStart(2, '0')}s` : `${r.etaSec.toFixed(0)}s`;
  return `step ${String(r.step).padStart(String(r.totalSteps).length)}/${r.totalSteps}  loss ${r.loss.total.toFixed(4)} (${parts})  lr ${r.lr.toExponential(1)}  ${(1000 / r.msPerStep).toFixed(2)} it/s  ${r.imagesPerSec.toFixed(1)} img/s  ETA ${eta}`;
}

/** Trains an experiment into `runDir`; returns the final state (the caller disposes it). */
export async function runExperiment(exp: Experiment, runDir: string, opts: { resume?: boolean; quiet?: boolean; onStep?: (r: StepReport) => void } = {}): Promise<TrainState> {
  const ds = await datasetFromConfig(exp.data, exp.model.imageSize);
  if (ds.channels !== exp.model.inChannels) throw new Error(`dataset ${ds.name} has ${ds.channels} channel(s), model.inChannels is ${exp.model.inChannels}`);
  if (ds.numClasses > exp.model.numClasses) throw new Error(`dataset ${ds.name} has ${ds.numClasses} classes, model.numClasses is ${exp.model.numClasses}`);
  const teacher = exp.train.repa.enabled ? randomTeacher({ channels: ds.channels, cell: exp.model.patchSize, dim: 64, seed: exp.train.seed }) : undefined;
  const logEvery = exp.train.logEvery;
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
        if (!opts.quiet && (r.step % logEvery === 0 || r.step === r.totalSteps || r.step === 1)) console.log(formatStep(r));
      },
    });
  } finally {
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
