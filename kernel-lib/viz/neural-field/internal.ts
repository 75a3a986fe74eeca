/**
 * Helpers shared by the files of this folder; not part of the API (index.ts does not export them).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, NerfHeadConfig } from '../../config/model-config';
import type { Panel } from '../heatmap';
import type { ImageBatch } from '../image-grid';
import { patchOutputRms } from './patch-stats';
import { linearHeadFilters } from './linear-filters';

/** A [1, H, W, C] image read from a tensor. */
export const batchOf = (data: Float32Array, shape: readonly number[]): ImageBatch => ({ data, shape: [shape[0]!, shape[1]!, shape[2]!, shape[3]!] });

/** Reads tensors to typed arrays and disposes them. */
export function readAll<K extends string>(ts: Record<K, tf.Tensor>): Record<K, Float32Array> {
  try {
    return Object.fromEntries(Object.entries<tf.Tensor>(ts).map(([k, t]) => [k, t.dataSync() as Float32Array])) as Record<K, Float32Array>;
  } finally {
    tf.dispose(Object.values<tf.Tensor>(ts));
  }
}

/** The neural-field head's config; a clear error for the linear head. */
export function nerfHead(cfg: ModelConfig, what: string): NerfHeadConfig {
  if (cfg.head.kind !== 'nerf') throw new Error(`${what} needs the neural-field head; this model has the ${cfg.head.kind} head (see linearHeadFilters, patchOutputRms)`);
  return cfg.head;
}

/** An image as a panel of a panels PNG. */
export const imagePanel = (img: ImageBatch, title: string): Panel => ({ kind: 'image', data: img.data, rows: img.shape[1], cols: img.shape[2], channels: img.shape[3] as 1 | 3, title });
