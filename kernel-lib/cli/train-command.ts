/**
 * `train` (an experiment file into a run directory) and `demo` (the README's main job).
 */
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../backend/backend-ladder';
import { disposeTrainState } from '../training/train';
import { readExperiment } from '../runs/experiment';
import { trainRun } from '../runs/train-run';
import { mainJob } from '../runs/main-job';
import { forceUnlock } from '../runs/run-lock';
import { info } from './model-commands';
import { int } from './options';

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train an experiment file into a run directory (progress: step, loss, it/s, ETA)')
    .requiredOption('--config <file>', 'experiment file: {"model": {...}, "train": {...}, "data": {"dataset": ...}}')
    .option('--run <dir>', 'run directory (default: runs/<config file name>)')
    .option('--resume', 'continue from the run directory\'s checkpoint', false)
    .option('--steps <n>', 'override train.steps', int(1))
    .option('--force-unlock', 'remove the run directory\'s lock first (only when its holder is surely dead)', false)
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- train --config experiments/mnist-tiny.json --run runs/mnist-tiny --resume')
    .action(async (o: { config: string; run?: string; resume: boolean; steps?: number; forceUnlock: boolean }) => {
      const exp = readExperiment(o.config, { steps: o.steps });
      const runDir = o.run ?? join('runs', basename(o.config, '.json'));
      if (o.forceUnlock) reportUnlock(runDir);
      await initBackend();
      console.log(`training ${runDir}: ${exp.train.steps} steps, batch ${exp.train.batchSize}, data ${exp.data.dataset}${o.resume ? ' (resume)' : ''}`);
      disposeTrainState(await trainRun(exp, runDir, { resume: o.resume }));
      console.log(`done: ${runDir}`);
    });

  program
    .command('demo')
    .description('the main job: train experiments/mnist-tiny.json, write samples and the loss curve under figures/ (PIXNERD_DEMO_STEPS=N changes the budget)')
    .addHelpText('after', '\nExample:\n  npm start            # = npm run pixnerd -- demo')
    .action(async () => {
      await info();
      const steps = process.env.PIXNERD_DEMO_STEPS ? Number(process.env.PIXNERD_DEMO_STEPS) : undefined;
      const r = await mainJob({ steps });
      console.log(`final loss (mean of the last 5 logged steps): ${r.finalLoss.toFixed(4)}`);
      console.log(`wrote ${r.files.join(', ')}`);
    });
}

/** --force-unlock: removes a run directory's lock and says whose it was. */
export function reportUnlock(runDir: string): void {
  const was = forceUnlock(runDir);
  if (!was) console.log(`${runDir} was not locked`);
  else console.log(`removed the lock of ${runDir}${was.owner ? ` (held by PID ${was.owner.pid} on ${was.owner.host} since ${was.owner.startedAt})` : ''}`);
}
