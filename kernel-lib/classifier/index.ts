/**
 * Frozen image networks for metrics and REPA: the small CNNs trained here on MNIST /
 * Fashion-MNIST (shipped weights in ./weights), and the nsfwjs ImageNet-initialised
 * MobileNetV2 / InceptionV3 for colour images. See README.md for accuracies and baselines.
 *
 *   import { loadSmallCnn, loadNsfwjsNet } from './kernel-lib/classifier/index';
 *   const clf = loadSmallCnn('mnist');            // features [B, 128], predict [B, 10], teacher [B, 8, 8, 128]
 *   const net = await loadNsfwjsNet('MobileNetV2'); // features [B, 1280], teacher [B, 7, 7, 1280]
 *
 * (train-classifier.ts reads the datasets and is not re-exported here, so that loading weights
 * does not pull in the data loaders.)
 */
export * from './im2col';
export * from './small-cnn';
export * from './nsfwjs-nets';
