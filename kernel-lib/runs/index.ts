/**
 * Runs: one run directory from experiment file to metrics. Read (loadRun, readMetrics,
 * readRunConfig, readRunLock) without a lock; write (trainRun, train, the experiment runner)
 * under the run's one-writer lock.
 *
 * Example:
 *   const exp = readExperiment('experiments/mnist-tiny.json', { steps: 100 });
 *   disposeTrainState(await trainRun(exp, 'runs/quick'));
 *   const run = loadRun('runs/quick');
 *   const x = sampleClasses(run, { classes: [3], perClass: 4, steps: 20, sampler: 'euler', cfg: 2, interval: [0.1, 1], seed: 0 });
 *   const released = await loadWeights('epoch=319-step=1600000_emainit.ckpt');   // pretrained weights, same shape as a run
 *   const grid = sampleWeights(released, { classes: ['golden retriever'], perClass: 4, steps: 25, sampler: 'euler', cfg: 4, interval: [0.1, 1], seed: 0 });
 */
export * from './experiment';
export * from './run-dir';
export * from './run-lock';
export * from './train-run';
export * from './load-run';
export * from './sample-classes';
export * from './pretrained';
export * from './evaluate-run';
export * from './main-job';
