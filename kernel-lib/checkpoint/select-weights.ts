/**
 * Choosing the model weights inside a state dict, and saying in one line what was left out.
 *
 * A PixNerd Lightning checkpoint's state_dict holds three prefixes (checkpoints.md):
 * `ema_denoiser.` (the EMA weights the authors sample with), `denoiser.` (the online weights)
 * and `diffusion_trainer.proj.` (the REPA projector). By default the EMA weights are used, else
 * the online ones, else bare reference names (a file holding only the denoiser). An explicit
 * prefix picks one group ('' = bare names). Everything not chosen is reported, never read.
 */
import { CheckpointError } from '../util/errors';
import { CHECKPOINT_PREFIX } from './reference-checkpoint';
import { entryBytes, type TensorEntry } from './tensor-entry';

/** Prefixes tried in order when none is given; '' means bare reference names. */
export const DEFAULT_PREFIX_ORDER: readonly string[] = [CHECKPOINT_PREFIX.ema, CHECKPOINT_PREFIX.model, ''];

/** Top-level names of state_dict groups that are never model weights. */
const TRAINER_PREFIX = 'diffusion_trainer.';

export interface SelectOptions {
  /** The prefix to use; undefined picks by DEFAULT_PREFIX_ORDER. */
  prefix?: string;
  /** Other parts of the checkpoint that were skipped (Lightning: loops, optimizer_states, ...). */
  ignoredTopLevel?: readonly string[];
  /** Names the file in the summary and in errors. */
  source?: string;
}

export interface SelectedWeights<T extends TensorEntry = TensorEntry> {
  /** The chosen tensors, keyed by reference name (prefix removed), in file order. */
  tensors: Map<string, T>;
  /** The prefix that was used ('' for bare names). */
  prefix: string;
  /** One line: what was used, and what was ignored. */
  summary: string;
}

/** True if `key` belongs to the bare-names group: under no known prefix. */
function isBareName(key: string): boolean {
  return !key.startsWith(CHECKPOINT_PREFIX.ema) && !key.startsWith(CHECKPOINT_PREFIX.model) && !key.startsWith(TRAINER_PREFIX);
}

const inGroup = (key: string, prefix: string) => (prefix === '' ? isBareName(key) : key.startsWith(prefix));

/** Counts keys by their first dotted component: `denoiser.* (123)`. */
export function groupCounts(keys: Iterable<string>): string[] {
  const counts = new Map<string, number>();
  for (const k of keys) {
    const dot = k.indexOf('.');
    const g = dot > 0 ? `${k.slice(0, dot)}.*` : k;
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  return [...counts].map(([g, n]) => `${g} (${n} tensor${n === 1 ? '' : 's'})`);
}

function describeDTypes(tensors: Iterable<TensorEntry>): string {
  const counts = new Map<string, number>();
  for (const t of tensors) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
  return counts.size === 1 ? [...counts.keys()][0]! : [...counts].map(([d, n]) => `${d} ${n}`).join(', ');
}

/** Human size: 1.45 MB, 2.80 GB. */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  return `${(n / 1e3).toFixed(1)} kB`;
}

/**
 * Picks the weights under one prefix of a flat state dict. Throws CheckpointError when the
 * chosen (or every default) prefix has no tensors, listing the groups the file has.
 */
export function selectWeights<T extends TensorEntry>(stateDict: Map<string, T>, opts: SelectOptions = {}): SelectedWeights<T> {
  const source = opts.source ?? 'checkpoint';
  const keys = [...stateDict.keys()];
  const has = (p: string) => keys.some((k) => inGroup(k, p));
  let prefix: string;
  if (opts.prefix !== undefined) {
    prefix = opts.prefix;
    if (!has(prefix)) {
      throw new CheckpointError(`${source}: no tensors under prefix "${prefix}" (the state dict has ${groupCounts(keys).join(', ') || 'no tensors'})`);
    }
  } else {
    const found = DEFAULT_PREFIX_ORDER.find(has);
    if (found === undefined) throw new CheckpointError(`${source}: no model weights (the state dict has ${groupCounts(keys).join(', ') || 'no tensors'})`);
    prefix = found;
  }
  const tensors = new Map<string, T>();
  const skipped: string[] = [];
  for (const [k, t] of stateDict) {
    if (inGroup(k, prefix)) tensors.set(k.slice(prefix.length), t);
    else skipped.push(k);
  }
  const bytes = [...tensors.values()].reduce((a, t) => a + entryBytes(t), 0);
  const ignored = [...groupCounts(skipped), ...(opts.ignoredTopLevel ?? [])];
  const where = prefix === '' ? 'with bare reference names' : `under "${prefix}"`;
  const summary = `${source}: using ${tensors.size} tensors ${where} (${describeDTypes(tensors.values())}, ${formatBytes(bytes)} as float32); ignored: ${ignored.length ? ignored.join(', ') : 'nothing'}`;
  return { tensors, prefix, summary };
}
