/**
 * One entry point for model weights in any of the formats users have:
 * - a PyTorch zip checkpoint (`.ckpt`, `.pt`: Lightning or a bare state dict), read without
 *   running its pickle;
 * - a diffusers export folder (`transformer/config.json` + safetensors);
 * - a safetensors file (this library's runs, or `convert` output).
 * The weights come back as lazy tensors with reference names (prefix removed), plus a one-line
 * summary of what was used and ignored. `weightsConfig` then gives the model config: the one
 * passed in, else the folder's config.json, else one read off the shapes; always checked
 * against the shapes. `referenceParams` (reference-checkpoint.ts) builds the model from them.
 *
 *   const w = await openWeights('epoch=319-step=1600000_emainit.ckpt');
 *   console.log(w.summary);
 *   const cfg = weightsConfig(w);                   // or weightsConfig(w, givenConfig)
 *   const params = referenceParams(cfg, w.tensors, '', w.path);
 *   w.close();
 */
import { statSync } from 'node:fs';
import type { ModelConfig } from '../config/model-config';
import { CheckpointError } from '../util/errors';
import { diffusersModelConfig, openDiffusersFolder } from './diffusers-folder';
import { checkConfigAgainstShapes, inferConfigFromShapes, type ShapeMap } from './infer-config';
import { openSafetensors } from './lazy-safetensors';
import { selectWeights } from './select-weights';
import type { LazyTensor } from './tensor-entry';
import { fileHead, openTorchCheckpoint } from './torch-checkpoint';
import { torchStateDict } from './torch-state-dict';

export type WeightsFormat = 'torch-zip' | 'diffusers' | 'safetensors';

export interface OpenWeightsOptions {
  /** State-dict prefix to use (`denoiser.`; '' = bare names). Default: `ema_denoiser.`, else `denoiser.`, else bare names. */
  prefix?: string;
}

export interface OpenedWeights {
  format: WeightsFormat;
  path: string;
  /** The chosen weights by reference name (prefix removed), lazy: read on `read()`. */
  tensors: Map<string, LazyTensor>;
  /** The prefix that was used. */
  prefix: string;
  /** The config shipped beside the weights (a diffusers config.json), as written. */
  shippedConfig?: Record<string, unknown>;
  /** One line: format, what was used, what was ignored. */
  summary: string;
  /** Closes the file; tensors cannot be read afterwards. */
  close(): void;
}

/** True if the bytes look like safetensors: an 8-byte header length, then a JSON object. */
function looksLikeSafetensors(head: Uint8Array): boolean {
  return head.length >= 9 && head[8] === 0x7b /* { */ && head[6] === 0 && head[7] === 0;
}

/** Which format `path` holds (by content; a folder is a diffusers export). */
export function detectWeightsFormat(path: string): WeightsFormat {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (isDir) return 'diffusers';
  return looksLikeSafetensors(fileHead(path)) ? 'safetensors' : 'torch-zip';
}

/**
 * Opens model weights (any WeightsFormat) and picks the prefix. Reads no tensor data; for a torch
 * checkpoint it checks every chosen tensor against its storage's size first.
 */
export async function openWeights(path: string, opts: OpenWeightsOptions = {}): Promise<OpenedWeights> {
  const format = detectWeightsFormat(path);
  switch (format) {
    case 'torch-zip': {
      const ckpt = await openTorchCheckpoint(path);
      try {
        const sd = torchStateDict(ckpt);
        const sel = selectWeights(sd.tensors, { prefix: opts.prefix, ignoredTopLevel: sd.ignored, source: path });
        for (const name of sel.tensors.keys()) ckpt.checkTensor(sd.refs.get(sel.prefix + name)!, sel.prefix + name);
        return { format, path, tensors: sel.tensors, prefix: sel.prefix, summary: sel.summary, close: () => ckpt.close() };
      } catch (e) {
        ckpt.close();
        throw e;
      }
    }
    case 'diffusers': {
      const folder = openDiffusersFolder(path);
      try {
        const sel = selectWeights(folder.weights.tensors, { prefix: opts.prefix, source: path });
        return { format, path, tensors: sel.tensors, prefix: sel.prefix, shippedConfig: folder.rawConfig, summary: sel.summary, close: () => folder.weights.close() };
      } catch (e) {
        folder.weights.close();
        throw e;
      }
    }
    case 'safetensors': {
      const file = openSafetensors(path);
      try {
        const sel = selectWeights(file.tensors, { prefix: opts.prefix, source: path });
        return { format, path, tensors: sel.tensors, prefix: sel.prefix, summary: sel.summary, close: () => file.close() };
      } catch (e) {
        file.close();
        throw e;
      }
    }
    default: {
      const never: never = format;
      throw new CheckpointError(`unknown weights format ${String(never)}`);
    }
  }
}

/** The shapes of a set of tensors. */
export function shapesOf(tensors: ReadonlyMap<string, { shape: readonly number[] }>): ShapeMap {
  return new Map([...tensors].map(([k, t]) => [k, t.shape]));
}

/**
 * The model config for opened weights: `given` if passed, else the shipped config.json, else
 * the one read off the shapes (imageSize from opts, default 256). A given or shipped config is
 * checked against the shapes: a disagreement is a CheckpointError naming the first field.
 */
export function weightsConfig(w: OpenedWeights, given?: ModelConfig, opts: { imageSize?: number } = {}): ModelConfig {
  const shapes = shapesOf(w.tensors);
  if (given) {
    checkConfigAgainstShapes(given, shapes, w.path);
    return given;
  }
  if (w.shippedConfig) {
    const cfg = diffusersModelConfig(w.shippedConfig, { imageSize: opts.imageSize, source: `${w.path} config.json` });
    checkConfigAgainstShapes(cfg, shapes, w.path);
    return cfg;
  }
  return inferConfigFromShapes(shapes, { imageSize: opts.imageSize, source: w.path });
}
