/**
 * Fashion-MNIST (Zalando) from Debian's `dataset-fashion-mnist` package: 60,000 train and
 * 10,000 test 28x28 grey images of 10 clothing classes (6,000 / 1,000 per class), dark
 * background (0), stored as gzipped IDX files in /usr/share/datasets/fashion-mnist/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkIndex, DatasetError, type Dataset } from './dataset';
import { readIdxImages, readIdxLabels } from './idx';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;
const FILES = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
} as const;

export interface FashionMnistOptions {
  split: 'train' | 'test';
  /** Folder with the four .gz files. Default: the Debian package's. */
  dir?: string;
}

/** One split of Fashion-MNIST: a dataset of [28, 28, 1] images in [0, 1]. */
export function fashionMnist(opts: FashionMnistOptions): Dataset {
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  const names = FILES[opts.split];
  const imagesFile = join(dir, names.images);
  const labelsFile = join(dir, names.labels);
  for (const f of [imagesFile, labelsFile]) {
    if (!existsSync(f)) throw new DatasetError(`Fashion-MNIST: ${f} not found; install it with: apt-get install dataset-fashion-mnist`);
  }
  const { n, rows, cols, data } = readIdxImages(imagesFile);
  const labels = readIdxLabels(labelsFile);
  if (labels.length !== n) throw new DatasetError(`Fashion-MNIST: ${imagesFile} has ${n} images but ${labelsFile} has ${labels.length} labels`);
  const K = FASHION_MNIST_CLASSES.length;
  const bad = labels.findIndex((l) => l >= K);
  if (bad >= 0) throw new DatasetError(`Fashion-MNIST: ${labelsFile} label ${bad} is ${labels[bad]}, expected 0..${K - 1}`);
  const px = rows * cols;
  const ds: Dataset = {
    name: `fashion-mnist-${opts.split}`,
    numClasses: K,
    classNames: FASHION_MNIST_CLASSES,
    size: n,
    imageSize: [rows, cols],
    channels: 1,
    background: 0,
    async get(i) {
      checkIndex(ds, i);
      const image = new Float32Array(px);
      for (let k = 0; k < px; k++) image[k] = data[i * px + k]! / 255;
      return { image, label: labels[i]! };
    },
  };
  return ds;
}
