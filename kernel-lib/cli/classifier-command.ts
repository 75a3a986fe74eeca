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
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend-ladder';
import { emoji } from '../../data-loaders/emoji';
import { seededPermutation, subset, type Dataset } from '../../data-loaders/dataset';
import { CLASSIFIER_DATASETS, classifierWeightsPath, cnnParameterCount, loadSmallCnn, saveCnnWeights, SMALL_CNN, type ClassifierDataset } from '../classifier/small-cnn';
import { CLASSIFIER_TRAIN_DEFAULTS, classifierSplit, hostAccuracy, loadHostImages, trainSmallCnn } from '../classifier/train-classifier';
import { loadNsfwjsNet, NSFWJS_NETS, type NsfwjsNetName } from '../classifier/nsfwjs-nets';
import { realVsReal } from '../metrics/evaluate';
import type { FeatureExtractor } from '../metrics/feature-extractor';
import { deriveSeed } from '../util/seed';

const num = (flag: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${flag} must be a number, got "${v}"`);
  return n;
};

const fmtTime = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);

/** `train-classifier`: train, test on the held-out split, write the weights. */
export async function trainClassifierCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dataset: { type: 'string' }, steps: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' },
      seed: { type: 'string' }, out: { type: 'string' },
    },
  });
  const dataset = values.dataset as ClassifierDataset | undefined;
  if (!dataset || !CLASSIFIER_DATASETS.includes(dataset)) throw new Error(`train-classifier needs --dataset ${CLASSIFIER_DATASETS.join('|')}`);
  const d = CLASSIFIER_TRAIN_DEFAULTS[dataset];
  const options = {
    ...d,
    steps: num('steps', values.steps, d.steps),
    batchSize: num('batch-size', values['batch-size'], d.batchSize),
    lr: num('lr', values.lr, d.lr),
    seed: num('seed', values.seed, d.seed),
  };
  const out = values.out ?? classifierWeightsPath(dataset);
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

export type BaselineExtractorName = 'small-cnn' | 'mobilenet-v2' | 'inception-v3';

/** `fid-baseline`: real-vs-real FID, KID, precision and recall for one dataset and extractor. */
export async function fidBaselineCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { dataset: { type: 'string' }, n: { type: 'string' }, extractor: { type: 'string' }, seed: { type: 'string' } },
  });
  const datasetName = values.dataset;
  const n = num('n', values.n, 1000);
  const seed = num('seed', values.seed, 0);
  const extractorName = (values.extractor ?? (datasetName === 'emoji' ? 'mobilenet-v2' : 'small-cnn')) as BaselineExtractorName;
  await initBackend();
  let a: Dataset, b: Dataset;
  let extractor: FeatureExtractor & { dispose(): void };
  if (datasetName === 'mnist' || datasetName === 'fashion-mnist') {
    const test = classifierSplit(datasetName, 'test');
    const train = classifierSplit(datasetName, 'train');
    if (n > test.size) throw new Error(`--n ${n}: the ${datasetName} test split has only ${test.size} images`);
    a = subset(test, seededPermutation(test.size, deriveSeed(seed, 'baseline:a')).subarray(0, n), `${datasetName}-test`);
    b = subset(train, seededPermutation(train.size, deriveSeed(seed, 'baseline:b')).subarray(0, n), `${datasetName}-train`);
  } else if (datasetName === 'emoji') {
    const all = emoji({});
    if (2 * n > all.size) throw new Error(`--n ${n}: emoji has ${all.size} images, fewer than 2n`);
    const perm = seededPermutation(all.size, deriveSeed(seed, 'baseline'));
    a = subset(all, perm.subarray(0, n), 'emoji-a');
    b = subset(all, perm.subarray(n, 2 * n), 'emoji-b');
  } else {
    throw new Error('fid-baseline needs --dataset mnist|fashion-mnist|emoji');
  }
  switch (extractorName) {
    case 'small-cnn':
      if (datasetName === 'emoji') throw new Error('--extractor small-cnn works on grey 28/32 px images (mnist, fashion-mnist), not emoji');
      extractor = loadSmallCnn(datasetName);
      break;
    case 'mobilenet-v2':
    case 'inception-v3': {
      const net: NsfwjsNetName = extractorName === 'mobilenet-v2' ? 'MobileNetV2' : 'InceptionV3';
      if (!NSFWJS_NETS.includes(net)) throw new Error(`unknown network ${net}`);
      extractor = await loadNsfwjsNet(net);
      break;
    }
    default:
      throw new Error(`--extractor must be small-cnn, mobilenet-v2 or inception-v3, got "${String(extractorName)}"`);
  }
  console.log(`real vs real: ${datasetName}, ${a.name} vs ${b.name}, n = ${n} each, features ${extractor.name} (F = ${extractor.dim})`);
  let last = 0;
  const r = await realVsReal(a, b, extractor, {
    onProgress: (done, total) => {
      const now = performance.now();
      if (done === total || now - last > 5000) {
        console.log(`  features ${done}/${total}`);
        last = now;
      }
    },
  });
  console.log(JSON.stringify({ dataset: datasetName, extractor: extractor.name, dim: extractor.dim, n, fid: +r.fid.toFixed(3), kid: { mean: +r.kid.mean.toExponential(3), std: +r.kid.std.toExponential(3) }, precision: +r.precision.toFixed(4), recall: +r.recall.toFixed(4), featureSeconds: +r.featureSeconds.toFixed(1), metricSeconds: +r.metricSeconds.toFixed(1) }));
  extractor.dispose();
}
