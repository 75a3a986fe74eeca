/**
 * The real-vs-real baseline of a dataset: two disjoint sets of n real images and the feature
 * network that judges them (what `pixnerd fid-baseline` prints; a generator's FID at the same n
 * is read against it).
 * - MNIST / Fashion-MNIST: n test vs n train images (seeded draws), the project's small CNN;
 * - emoji: the two halves of a seeded permutation, nsfwjs MobileNetV2 (or InceptionV3).
 *
 * Example:
 *   const r = await realBaseline({ dataset: 'mnist', n: 1000 });
 *   console.log(r.fid, r.kid.mean, r.precision, r.recall);
 */
import { emoji } from '../../data-loaders/emoji';
import { seededPermutation, subset, type Dataset } from '../../data-loaders/dataset';
import { classifierSplit } from '../classifier/train-classifier';
import { loadSmallCnn } from '../classifier/small-cnn';
import { loadNsfwjsNet } from '../classifier/nsfwjs-nets';
import { deriveSeed } from '../util/seed';
import type { FeatureExtractor } from './feature-extractor';
import { realVsReal } from './evaluate';

export const BASELINE_DATASETS = ['mnist', 'fashion-mnist', 'emoji'] as const;
export type BaselineDataset = (typeof BASELINE_DATASETS)[number];
export const BASELINE_EXTRACTORS = ['small-cnn', 'mobilenet-v2', 'inception-v3'] as const;
export type BaselineExtractorName = (typeof BASELINE_EXTRACTORS)[number];

/** Two disjoint seeded sets of n real images of a dataset. */
export function realBaselineSets(dataset: BaselineDataset, n: number, seed = 0): { a: Dataset; b: Dataset } {
  if (dataset === 'mnist' || dataset === 'fashion-mnist') {
    const test = classifierSplit(dataset, 'test');
    const train = classifierSplit(dataset, 'train');
    if (n > test.size) throw new RangeError(`n = ${n}: the ${dataset} test split has only ${test.size} images`);
    return {
      a: subset(test, seededPermutation(test.size, deriveSeed(seed, 'baseline:a')).subarray(0, n), `${dataset}-test`),
      b: subset(train, seededPermutation(train.size, deriveSeed(seed, 'baseline:b')).subarray(0, n), `${dataset}-train`),
    };
  }
  const all = emoji({});
  if (2 * n > all.size) throw new RangeError(`n = ${n}: emoji has ${all.size} images, fewer than 2n`);
  const perm = seededPermutation(all.size, deriveSeed(seed, 'baseline'));
  return { a: subset(all, perm.subarray(0, n), 'emoji-a'), b: subset(all, perm.subarray(n, 2 * n), 'emoji-b') };
}

/** The feature network of a baseline (default: small CNN for grey data, MobileNetV2 for emoji). */
export async function baselineExtractor(dataset: BaselineDataset, name?: BaselineExtractorName): Promise<FeatureExtractor & { dispose(): void }> {
  const which = name ?? (dataset === 'emoji' ? 'mobilenet-v2' : 'small-cnn');
  switch (which) {
    case 'small-cnn':
      if (dataset === 'emoji') throw new Error('the small CNN works on grey 28/32 px images (mnist, fashion-mnist), not emoji');
      return loadSmallCnn(dataset);
    case 'mobilenet-v2':
      return loadNsfwjsNet('MobileNetV2');
    case 'inception-v3':
      return loadNsfwjsNet('InceptionV3');
    default: {
      const never: never = which;
      throw new Error(`unknown extractor ${String(never)}`);
    }
  }
}

/** Real-vs-real FID, KID, precision and recall of a dataset at n images per set. */
export async function realBaseline(o: { dataset: BaselineDataset; n?: number; seed?: number; extractor?: BaselineExtractorName; onProgress?: (done: number, total: number) => void }) {
  const n = o.n ?? 1000;
  const { a, b } = realBaselineSets(o.dataset, n, o.seed ?? 0);
  const extractor = await baselineExtractor(o.dataset, o.extractor);
  try {
    const r = await realVsReal(a, b, extractor, { onProgress: o.onProgress });
    return { ...r, dataset: o.dataset, a: a.name, b: b.name, extractor: extractor.name, dim: extractor.dim };
  } finally {
    extractor.dispose();
  }
}
