/**
 * Classifier and metric-baseline commands.
 *
 *   npm run pixnerd -- train-classifier --dataset mnist|fashion-mnist [--steps N] [--batch-size B]
 *       [--lr LR] [--seed S] [--out kernel-lib/classifier/weights/<dataset>.safetensors]
 *
 * Trains the small CNN (kernel-lib/classifier/small-cnn.ts) with the per-dataset defaults of
 * CLASSIFIER_TRAIN_DEFAULTS, measures its accuracy on the whole held-out test split (MNIST: the
 * seeded 1,000; Fashion-MNIST: t10k, 10,000) and writes the weights with that accuracy in the
 * file's metadata. One log line every 50 steps: step, loss, train accuracy, lr, ms/step, ETA.
 *
 *   npm run pixnerd -- fid-baseline --dataset mnist|fashion-mnist|emoji [--n 1000]
 *       [--extractor small-cnn|mobilenet-v2|inception-v3] [--seed 0]
 *
 * FID/KID/precision/recall between two disjoint real sets of n images each (the number a
 * generator's FID should be read against). MNIST and Fashion-MNIST: n test vs n train images with
 * the small CNN; emoji: two halves of a seeded permutation with MobileNetV2 (nsfwjs weights).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend-ladder';
import { CLASSIFIER_DATASETS, classifierWeightsPath, cnnParameterCount, saveCnnWeights, SMALL_CNN, type ClassifierDataset } from '../classifier/small-cnn';
import { CLASSIFIER_TRAIN_DEFAULTS, classifierSplit, hostAccuracy, loadHostImages, trainSmallCnn } from '../classifier/train-classifier';
import { BASELINE_DATASETS, BASELINE_EXTRACTORS, realBaseline, type BaselineDataset, type BaselineExtractorName } from '../metrics/real-baseline';
import { int, num } from './options';

const fmtTime = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);

export function registerClassifierCommands(program: Command): void {
  program
    .command('train-classifier')
    .description('train the small CNN that judges samples (metrics) and teaches REPA, and write its weights')
    .addOption(new Option('--dataset <name>', 'dataset').choices(CLASSIFIER_DATASETS).makeOptionMandatory())
    .option('--steps <n>', 'training steps (default: per dataset, CLASSIFIER_TRAIN_DEFAULTS)', int(1))
    .option('--batch-size <n>', 'images per step (default: per dataset)', int(1))
    .option('--lr <lr>', 'learning rate (default: per dataset)', num)
    .option('--seed <s>', 'seed (default: per dataset)', int(0))
    .option('--out <file>', 'weights file (default: kernel-lib/classifier/weights/<dataset>.safetensors)')
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- train-classifier --dataset fashion-mnist')
    .action(trainClassifierAction);

  program
    .command('fid-baseline')
    .description('real-vs-real FID, KID, precision and recall of a dataset (the floor a generator is read against)')
    .addOption(new Option('--dataset <name>', 'dataset').choices(BASELINE_DATASETS).makeOptionMandatory())
    .option('--n <n>', 'images per set', int(2), 1000)
    .addOption(new Option('--extractor <net>', 'feature network (default: small-cnn for grey data, mobilenet-v2 for emoji)').choices(BASELINE_EXTRACTORS))
    .option('--seed <s>', 'seed of the draws', int(0), 0)
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- fid-baseline --dataset mnist --n 1000')
    .action(fidBaselineAction);
}

/** `train-classifier`: train, test on the held-out split, write the weights. */
async function trainClassifierAction(o: { dataset: ClassifierDataset; steps?: number; batchSize?: number; lr?: number; seed?: number; out?: string }): Promise<void> {
  const dataset = o.dataset;
  const d = CLASSIFIER_TRAIN_DEFAULTS[dataset];
  const options = { ...d, steps: o.steps ?? d.steps, batchSize: o.batchSize ?? d.batchSize, lr: o.lr ?? d.lr, seed: o.seed ?? d.seed };
  const out = o.out ?? classifierWeightsPath(dataset);
  await initBackend();
  const S = SMALL_CNN.inputSize;
  const tLoad = performance.now();
  const train = await loadHostImages(classifierSplit(dataset, 'train'), S);
  const test = await loadHostImages(classifierSplit(dataset, 'test'), S);
  console.log(`${dataset}: ${train.n} train / ${test.n} test images at ${S}x${S} (${((performance.now() - tLoad) / 1000).toFixed(1)} s); small-cnn ${cnnParameterCount(SMALL_CNN).toLocaleString('en-US')} params`);
  console.log(`training ${options.steps} steps of ${options.batchSize} (lr ${options.lr}, seed ${options.seed}, shift +-${options.maxShift}${options.hflip ? ', hflip' : ''}, dropout ${options.dropout})`);
  const trained = await trainSmallCnn(train, options, (r) => {
    console.log(
      `step ${String(r.step).padStart(5)}/${options.steps}  loss ${r.loss.toFixed(4)}  train acc ${r.trainAccuracy.toFixed(3)}  lr ${r.lr.toExponential(2)}  ${r.msPerStep.toFixed(0)} ms/step  ETA ${fmtTime(r.etaSeconds)}`,
    );
  });
  const tTest = performance.now();
  const acc = hostAccuracy({ params: trained.params, config: trained.config }, test);
  console.log(`test accuracy ${(100 * acc.accuracy).toFixed(2)}% (${acc.correct}/${acc.total}) in ${((performance.now() - tTest) / 1000).toFixed(1)} s; trained in ${fmtTime(trained.seconds)}`);
  mkdirSync(dirname(out), { recursive: true });
  saveCnnWeights(out, trained.params, trained.config, {
    dataset,
    testAccuracy: acc.accuracy.toFixed(4),
    testSet: dataset === 'mnist' ? `mnist test split (seed 0), ${acc.total} images` : `fashion-mnist t10k, ${acc.total} images`,
    steps: String(options.steps),
    batchSize: String(options.batchSize),
    lr: String(options.lr),
    maxShift: String(options.maxShift),
    hflip: String(options.hflip),
    dropout: String(options.dropout),
    seed: String(options.seed),
    trainSeconds: trained.seconds.toFixed(0),
    backend: tf.getBackend(),
  });
  console.log(`wrote ${out}`);
  tf.dispose(Object.values(trained.params));
}

/** `fid-baseline`: real-vs-real FID, KID, precision and recall for one dataset and extractor. */
async function fidBaselineAction(o: { dataset: BaselineDataset; n: number; extractor?: BaselineExtractorName; seed: number }): Promise<void> {
  await initBackend();
  let last = 0;
  console.log(`real vs real: ${o.dataset}, n = ${o.n} per set`);
  const r = await realBaseline({
    dataset: o.dataset, n: o.n, seed: o.seed, extractor: o.extractor,
    onProgress: (done, total) => {
      const now = performance.now();
      if (done === total || now - last > 5000) {
        console.log(`  features ${done}/${total}`);
        last = now;
      }
    },
  });
  console.log(`${r.a} vs ${r.b}, features ${r.extractor} (F = ${r.dim})`);
  console.log(JSON.stringify({ dataset: o.dataset, extractor: r.extractor, dim: r.dim, n: o.n, fid: +r.fid.toFixed(3), kid: { mean: +r.kid.mean.toExponential(3), std: +r.kid.std.toExponential(3) }, precision: +r.precision.toFixed(4), recall: +r.recall.toFixed(4), featureSeconds: +r.featureSeconds.toFixed(1), metricSeconds: +r.metricSeconds.toFixed(1) }));
}
