/**
 * Datasets named in experiment files, and the step-indexed batch source the training loop uses.
 *
 *   "data": {"dataset": "mnist", "imageSize": 32, "fit": "pad"}
 */
import { epochOrder, positionOf, stepsPerEpoch } from './data-loader';
import { fitImageSize, getBatch, type Batch, type Dataset } from './dataset';
import { emoji } from './emoji';
import { fashionMnist } from './fashion-mnist';
import { imageFolder } from './image-folder';
import { mnist } from './mnist';

export type DatasetName = 'mnist' | 'fashion-mnist' | 'emoji' | 'folder';
export const DATASET_NAMES: readonly DatasetName[] = ['mnist', 'fashion-mnist', 'emoji', 'folder'];

export interface DataConfig {
  dataset: DatasetName;
  split?: 'train' | 'test';
  /** Bring images to this size (default: the model's imageSize). */
  imageSize?: number;
  /** 'pad' (default for 28 -> 32) or 'resize'. */
  fit?: 'pad' | 'resize';
  /** Image-folder root (dataset 'folder'). */
  path?: string;
  /** Seed of the train/test split (MNIST). */
  splitSeed?: number;
}

/** Loads the dataset a DataConfig names, at `size` x `size`. */
export async function datasetFromConfig(d: DataConfig, size: number): Promise<Dataset> {
  const split = d.split ?? 'train';
  let ds: Dataset;
  switch (d.dataset) {
    case 'mnist':
      ds = mnist({ split, seed: d.splitSeed ?? 0 });
      break;
    case 'fashion-mnist':
      ds = fashionMnist({ split });
      break;
    case 'emoji':
      ds = emoji({});
      break;
    case 'folder':
      if (!d.path) throw new Error('data.path is required for dataset "folder"');
      return imageFolder(d.path, { size: d.imageSize ?? size });
    default:
      throw new Error(`unknown dataset "${String((d as { dataset: unknown }).dataset)}" (known: ${DATASET_NAMES.join(', ')})`);
  }
  const target = d.imageSize ?? size;
  const [h, w] = ds.imageSize;
  if (h === target && w === target) return ds;
  return fitImageSize(ds, [target, target], d.fit === 'resize' || target < h ? { kind: 'resize', filter: 'bicubic' } : { kind: 'pad' });
}

/**
 * Batch for global step `step`: epoch e = floor(step / stepsPerEpoch) in the seeded order of
 * epoch e, drop-last. A pure function of (seed, step), so resumed runs see the same data.
 */
export function stepBatches(ds: Dataset, batchSize: number, seed: number): (step: number) => Promise<Batch> {
  const perEpoch = stepsPerEpoch(ds.size, batchSize, true);
  if (perEpoch < 1) throw new Error(`dataset ${ds.name} has ${ds.size} images, fewer than one batch of ${batchSize}`);
  let cached: { epoch: number; order: Int32Array } | null = null;
  return (step) => {
    const { epoch, step: k } = positionOf(step, perEpoch);
    if (!cached || cached.epoch !== epoch) cached = { epoch, order: epochOrder(ds.size, seed, epoch) };
    return getBatch(ds, cached.order.subarray(k * batchSize, (k + 1) * batchSize));
  };
}
