/**
 * The interface between image networks and the metrics: a frozen network that maps images to
 * feature vectors (FID, KID, precision/recall) and, optionally, to class logits (class accuracy
 * of class-conditional samples).
 *
 * Implemented by the small CNNs (kernel-lib/classifier/small-cnn.ts, F = 128, with logits) and
 * the nsfwjs ImageNet-initialised networks (kernel-lib/classifier/nsfwjs-nets.ts, F = 1280 / 2048).
 *
 * Legend: B batch, H x W image size, C channels, F feature width, K classes.
 */
import type * as tf from '@tensorflow/tfjs';

export interface FeatureExtractor {
  /** Names the network and layer in reports, e.g. `small-cnn/mnist`. */
  readonly name: string;
  /** F. */
  readonly dim: number;
  /** Images [B, H, W, C] in [-1, 1] (the model's space) -> features [B, F]. */
  features(x: tf.Tensor4D): tf.Tensor2D;
  /** Images [B, H, W, C] in [-1, 1] -> class logits [B, K], where the network is a classifier of the dataset's classes. */
  predict?(x: tf.Tensor4D): tf.Tensor2D;
  /** Both from one forward pass (a classifier's penultimate features and its logits), where the network offers it. */
  featuresAndLogits?(x: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D };
  /** Images per `features` call that keep memory bounded (default 100). */
  readonly batchSize?: number;
}
