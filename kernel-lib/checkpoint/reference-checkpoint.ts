/**
 * Model weights in the reference checkpoint layout (MCG-NJU/PixNerd): reference names,
 * PyTorch Linear weights [out, in], optional prefix (`denoiser.`, `ema_denoiser.`).
 *
 * Like nanoGPT's from_pretrained: the transpose list is explicit (ParamSpec.linear), every
 * shape is asserted, and no key is skipped silently: missing, unexpected and mis-shaped
 * tensors are all listed in one CheckpointError.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/model-config';
import { paramSpecs, type ParamSpec } from '../model/params';
import type { Params } from '../model/ops';
import { CheckpointError } from '../util/errors';
import { isFloatDType } from './dtype-decode';
import type { TensorToWrite } from './safetensors';
import { entryData, type TensorEntry } from './tensor-entry';

/** Prefixes of the reference's training checkpoints. */
export const CHECKPOINT_PREFIX = {
  model: 'denoiser.',
  ema: 'ema_denoiser.',
  projector: 'diffusion_trainer.proj.',
} as const;

/** The reference layout of a spec's shape ([out, in] for Linear weights). */
export function referenceShape(spec: ParamSpec): number[] {
  return spec.linear ? [spec.shape[1]!, spec.shape[0]!] : spec.shape;
}

/** Transposes a row-major [rows, cols] matrix. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Checks that the tensors under `prefix` are exactly the model's parameters with their
 * reference shapes, as floats; reads no tensor data (entries may be lazy). Throws one
 * CheckpointError listing every missing, unexpected, mis-shaped and non-float tensor.
 */
export function checkReferenceTensors(cfg: ModelConfig, tensors: ReadonlyMap<string, TensorEntry>, prefix = '', source = 'checkpoint'): void {
  const specs = paramSpecs(cfg);
  const missing: string[] = [];
  const misShaped: string[] = [];
  const wrongType: string[] = [];
  for (const spec of specs) {
    const t = tensors.get(prefix + spec.name);
    if (!t) missing.push(prefix + spec.name);
    else if (!sameShape(t.shape, referenceShape(spec))) misShaped.push(`${prefix + spec.name}: file [${t.shape.join(", ")}] vs model [${referenceShape(spec).join(", ")}]`);
    else if (!isFloatDType(t.dtype)) wrongType.push(`${prefix + spec.name}: ${t.dtype}`);
  }
  const known = new Set(specs.map((s) => prefix + s.name));
  const unexpected = [...tensors.keys()].filter((k) => k.startsWith(prefix) && !known.has(k) && !(prefix === '' && isOtherPrefix(k)));
  if (missing.length || misShaped.length || wrongType.length || unexpected.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.length}: ${list(missing)}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.length}: ${list(unexpected)}`);
    if (misShaped.length) parts.push(`wrong shape ${misShaped.length}: ${list(misShaped)}`);
    if (wrongType.length) parts.push(`not floating point: ${list(wrongType)}`);
    const hint = missing.length === specs.length ? hintPrefix(tensors, prefix) : '';
    throw new CheckpointError(`${source} does not match the model (prefix "${prefix}"): ${parts.join('; ')}${hint}`);
  }
}

/** One parameter's values in this library's layout (a Linear weight transposed to [in, out]). */
function paramValues(spec: ParamSpec, t: TensorEntry): Float32Array {
  const data = entryData(t) as Float32Array;
  return spec.linear ? transpose2d(data, spec.shape[1]!, spec.shape[0]!) : data;
}

/**
 * Converts reference-named tensors to this library's layout, as new tensors keyed by
 * parameter name. Keys outside `prefix` are ignored; inside it every key must be a parameter.
 */
export function fromReferenceTensors(cfg: ModelConfig, tensors: ReadonlyMap<string, TensorEntry>, prefix = '', source = 'checkpoint'): Record<string, tf.Tensor> {
  checkReferenceTensors(cfg, tensors, prefix, source);
  const out: Record<string, tf.Tensor> = {};
  for (const spec of paramSpecs(cfg)) out[spec.name] = tf.tensor(paramValues(spec, tensors.get(prefix + spec.name)!), spec.shape, 'float32');
  return out;
}

/**
 * The model's trainable parameters made straight from reference-named tensors, checked first
 * (checkReferenceTensors), then read one at a time: with lazy entries the peak memory is the
 * parameters plus one tensor, not a second copy of the model (no initParams, no assign).
 */
export function referenceParams(cfg: ModelConfig, tensors: ReadonlyMap<string, TensorEntry>, prefix = '', source = 'checkpoint'): Record<string, tf.Variable> {
  checkReferenceTensors(cfg, tensors, prefix, source);
  const params: Record<string, tf.Variable> = {};
  for (const spec of paramSpecs(cfg)) {
    const data = entryData(tensors.get(prefix + spec.name)!) as Float32Array;
    // Linear weights are transposed by the backend (no second JS copy of each matrix).
    const t = tf.tidy(() => {
      const ref = tf.tensor(data, referenceShape(spec), 'float32');
      return spec.linear ? ref.transpose() : ref;
    });
    params[spec.name] = tf.variable(t, true); // shares t's data; no tfjs name (names are global)
    t.dispose();
  }
  return params;
}

function isOtherPrefix(key: string): boolean {
  return Object.values(CHECKPOINT_PREFIX).some((p) => key.startsWith(p));
}

function hintPrefix(tensors: ReadonlyMap<string, TensorEntry>, prefix: string): string {
  const found = Object.values(CHECKPOINT_PREFIX).filter((p) => p !== prefix && [...tensors.keys()].some((k) => k.startsWith(p)));
  return found.length ? ` (the file has keys under ${found.map((p) => `"${p}"`).join(', ')}: pass that prefix)` : '';
}

function list(items: string[], max = 12): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, ... (${items.length - max} more)`;
}

/** Assigns loaded tensors to a model's variables (shapes already checked) and disposes them. */
export function assignParams(params: Record<string, tf.Variable>, loaded: Record<string, tf.Tensor>): void {
  for (const [name, v] of Object.entries(params)) {
    const t = loaded[name];
    if (!t) throw new CheckpointError(`no value for parameter "${name}"`);
    v.assign(t);
  }
  for (const t of Object.values(loaded)) t.dispose();
}

/** A parameter tree in the reference layout, ready for writeSafetensors. */
export function toReferenceTensors(cfg: ModelConfig, params: Params, prefix = ''): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const spec of paramSpecs(cfg)) {
    const t = params[spec.name];
    if (!t) throw new CheckpointError(`parameter "${spec.name}" is missing from the parameter tree`);
    const data = t.dataSync() as Float32Array;
    out.set(prefix + spec.name, {
      shape: referenceShape(spec),
      data: spec.linear ? transpose2d(data, spec.shape[0]!, spec.shape[1]!) : Float32Array.from(data),
    });
  }
  return out;
}
