/**
 * The project's frozen networks by name, for metrics (features, logits) and REPA (teacher):
 * the small CNN of a grey dataset (`mnist`, `fashion-mnist`, shipped weights) or nsfwjs's
 * ImageNet-initialised `mobilenet-v2` for colour data.
 */
import type { FeatureExtractor } from '../metrics/feature-extractor';
import type { Teacher } from '../training/repa';
import { CLASSIFIER_DATASETS, loadSmallCnn, type ClassifierDataset } from './small-cnn';
import { loadNsfwjsNet } from './nsfwjs-nets';

export type NetworkName = ClassifierDataset | 'mobilenet-v2';

/** A loaded network: features (and logits for the classifiers), its teacher view, dispose. */
export type ProjectNetwork = FeatureExtractor & { teacher: Teacher; dispose(): void };

/** The network that judges / teaches a dataset: its own classifier where one exists, else MobileNetV2. */
export function defaultNetworkFor(dataset: string): NetworkName {
  return (CLASSIFIER_DATASETS as readonly string[]).includes(dataset) ? (dataset as ClassifierDataset) : 'mobilenet-v2';
}

/** Loads a network (the caller disposes it). */
export async function loadNetwork(name: NetworkName): Promise<ProjectNetwork> {
  return name === 'mobilenet-v2' ? loadNsfwjsNet('MobileNetV2') : loadSmallCnn(name);
}
