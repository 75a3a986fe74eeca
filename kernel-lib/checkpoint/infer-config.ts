/**
 * The model config read off the weights' shapes (reference layout, Linear weights [out, in]),
 * and the check that a given config agrees with them.
 *
 * Rules (checkpoints.md), for the reference PixNerd (neural-field head):
 * | field          | from                                                               |
 * |----------------|--------------------------------------------------------------------|
 * | hiddenSize D   | t_embedder.mlp.0.weight [D, 256]                                   |
 * | inChannels C   | final_layer.linear.weight [C, hx]                                  |
 * | head.width hx  | x_embedder.embedder.0.weight [hx, C + E]                           |
 * | coord features | E = x_embedder.embedder.0.weight[1] - C (DCT: E = maxFreqs^2)       |
 * | patchSize p    | sqrt(s_embedder.proj.weight[1] / C)                                |
 * | numClasses K   | rows of y_embedder.embedding_table.weight - 1                      |
 * | numHeads h     | D / blocks.0.attn.k_norm.weight[0]                                 |
 * | depth          | blocks with attn.qkv.weight                                        |
 * | head.blocks    | blocks with param_generator1.0.weight                              |
 * | head.mlpRatio  | param_generator1.0.weight[0] / (2 hx^2)                            |
 * Not in the shapes: imageSize (an option, default 256) and head.weightNorm (the reference's
 * 'fc1+fc2'). A linear-head (DiT) checkpoint cannot be told apart from C and p alone, so it needs
 * a given config.
 */
import { createConfig, derive, MODEL_DEFAULTS, NERF_HEAD_DEFAULTS, type CoordEncoding, type ModelConfig } from '../config/model-config';
import { CheckpointError } from '../util/errors';

/** Shapes by reference name (prefix removed). */
export type ShapeMap = ReadonlyMap<string, readonly number[]>;

/** One field read off the shapes, with the tensor that says so. */
export interface ShapeFact {
  field: string;
  value: number | string;
  evidence: string;
}

const NERF_EMBEDDER = 'x_embedder.embedder.0.weight';
const LINEAR_HEAD = 'final_layer.adaLN_modulation.0.weight';

function dims(shapes: ShapeMap, name: string, rank: number): readonly number[] | undefined {
  const s = shapes.get(name);
  return s && s.length === rank ? s : undefined;
}

const show = (name: string, s: readonly number[]) => `${name} [${s.join(', ')}]`;

/** Counts blocks.i that have `suffix`. */
function countBlocks(shapes: ShapeMap, suffix: string): { count: number; first: number } {
  const idx: number[] = [];
  for (const k of shapes.keys()) {
    const m = /^blocks\.(\d+)\.(.+)$/.exec(k);
    if (m && m[2] === suffix) idx.push(Number(m[1]));
  }
  return { count: idx.length, first: idx.length ? Math.min(...idx) : -1 };
}

/**
 * Every field the shapes determine, in a fixed order (the order mismatches are reported in).
 * Fields whose tensors are absent are left out.
 */
export function shapeFacts(shapes: ShapeMap): ShapeFact[] {
  const facts: ShapeFact[] = [];
  const add = (field: string, value: number | string, evidence: string) => facts.push({ field, value, evidence });
  const xEmb = dims(shapes, NERF_EMBEDDER, 2);
  const kind = xEmb ? 'nerf' : shapes.has(LINEAR_HEAD) ? 'linear' : undefined;
  if (kind) add('head.kind', kind, kind === 'nerf' ? `${NERF_EMBEDDER} present` : `${LINEAR_HEAD} present`);
  const t0 = dims(shapes, 't_embedder.mlp.0.weight', 2);
  const D = t0?.[0];
  if (t0) add('hiddenSize', t0[0]!, show('t_embedder.mlp.0.weight', t0));
  const fin = dims(shapes, 'final_layer.linear.weight', 2);
  const C = kind === 'nerf' && fin ? fin[0] : undefined;
  if (C !== undefined) add('inChannels', C, show('final_layer.linear.weight', fin!));
  const s = dims(shapes, 's_embedder.proj.weight', 2);
  if (s) {
    if (C !== undefined) add('patchSize', Math.sqrt(s[1]! / C), `${show('s_embedder.proj.weight', s)}: C p^2 = ${s[1]}`);
    else add('patchDim', s[1]!, show('s_embedder.proj.weight', s));
  }
  const k = countBlocks(shapes, 'attn.k_norm.weight');
  const kn = k.count ? dims(shapes, `blocks.${k.first}.attn.k_norm.weight`, 1) : undefined;
  if (kn && D !== undefined) add('numHeads', D / kn[0]!, `${show(`blocks.${k.first}.attn.k_norm.weight`, kn)}: head dim ${kn[0]}`);
  const qkv = countBlocks(shapes, 'attn.qkv.weight');
  if (qkv.count) add('depth', qkv.count, `${qkv.count} blocks with attn.qkv.weight`);
  const y = dims(shapes, 'y_embedder.embedding_table.weight', 2);
  if (y) add('numClasses', y[0]! - 1, `${show('y_embedder.embedding_table.weight', y)}: K + 1 rows`);
  if (kind === 'nerf' && xEmb) {
    const hx = xEmb[0]!;
    add('head.width', hx, show(NERF_EMBEDDER, xEmb));
    const pg = countBlocks(shapes, 'param_generator1.0.weight');
    const pgw = pg.count ? dims(shapes, `blocks.${pg.first}.param_generator1.0.weight`, 2) : undefined;
    if (pgw) add('head.mlpRatio', pgw[0]! / (2 * hx * hx), `${show(`blocks.${pg.first}.param_generator1.0.weight`, pgw)}: 2 hx^2 r rows`);
    if (pg.count) add('head.blocks', pg.count, `${pg.count} blocks with param_generator1.0.weight`);
    if (C !== undefined) add('coordFeatures', xEmb[1]! - C, `${show(NERF_EMBEDDER, xEmb)}: C + E columns`);
  }
  return facts;
}

/** A config's value of a fact's field (derived fields computed). */
function configValue(cfg: ModelConfig, field: string): number | string | undefined {
  const head = cfg.head;
  switch (field) {
    case 'head.kind':
      return head.kind;
    case 'patchDim':
      return derive(cfg).patchDim;
    case 'coordFeatures':
      return head.kind === 'nerf' ? derive(cfg).coordFeatures : undefined;
    case 'head.width':
      return head.kind === 'nerf' ? head.width : undefined;
    case 'head.mlpRatio':
      return head.kind === 'nerf' ? head.mlpRatio : undefined;
    case 'head.blocks':
      return head.kind === 'nerf' ? head.blocks : undefined;
    default:
      return (cfg as unknown as Record<string, number>)[field];
  }
}

/**
 * Throws CheckpointError naming the first field (in shapeFacts order) where `cfg` disagrees
 * with the weights, with the tensor that says so.
 */
export function checkConfigAgainstShapes(cfg: ModelConfig, shapes: ShapeMap, source = 'weights'): void {
  for (const f of shapeFacts(shapes)) {
    const mine = configValue(cfg, f.field);
    if (mine === undefined) continue; // a field of the other head kind: head.kind already differs
    if (mine !== f.value) {
      throw new CheckpointError(`config disagrees with ${source}: ${f.field} is ${JSON.stringify(mine)} in the config but ${JSON.stringify(f.value)} in the weights (${f.evidence})`);
    }
  }
}

/** The coordinate encoding with E features per pixel (the reference uses DCT). */
function coordFromFeatures(E: number): { coordEncoding: CoordEncoding; maxFreqs: number } {
  if (E === 0) return { coordEncoding: 'none', maxFreqs: NERF_HEAD_DEFAULTS.maxFreqs };
  const m = Math.round(Math.sqrt(E));
  if (m * m === E) return { coordEncoding: 'dct', maxFreqs: m };
  if (E % 4 === 0) return { coordEncoding: 'sincos', maxFreqs: E / 4 };
  throw new CheckpointError(`cannot read the coordinate encoding off ${E} features per pixel (DCT needs a square, sin-cos a multiple of 4)`);
}

/**
 * The config the shapes describe. Throws CheckpointError naming the missing tensor or the
 * impossible value. `imageSize` is not in the weights: it defaults to 256.
 */
export function inferConfigFromShapes(shapes: ShapeMap, opts: { imageSize?: number; source?: string } = {}): ModelConfig {
  const source = opts.source ?? 'weights';
  const facts = new Map(shapeFacts(shapes).map((f) => [f.field, f]));
  const need = (field: string, tensor: string): number => {
    const f = facts.get(field);
    if (!f) throw new CheckpointError(`cannot infer the model config from ${source}: no ${tensor} (pass a config)`);
    const v = f.value as number;
    if (!(v > 0) || (field !== 'head.mlpRatio' && !Number.isInteger(v))) {
      throw new CheckpointError(`cannot infer the model config from ${source}: ${field} = ${v} from ${f.evidence} is not a positive integer`);
    }
    return v;
  };
  const kind = facts.get('head.kind')?.value;
  if (kind === 'linear') throw new CheckpointError(`cannot infer the model config from ${source}: a linear-head checkpoint does not fix C and p (pass a config)`);
  if (kind !== 'nerf') throw new CheckpointError(`cannot infer the model config from ${source}: no ${NERF_EMBEDDER} (not a PixNerd checkpoint?)`);
  const coord = coordFromFeatures(facts.get('coordFeatures')?.value as number);
  try {
    return createConfig(
      {
        imageSize: opts.imageSize ?? MODEL_DEFAULTS.imageSize,
        inChannels: need('inChannels', 'final_layer.linear.weight'),
        patchSize: need('patchSize', 's_embedder.proj.weight'),
        hiddenSize: need('hiddenSize', 't_embedder.mlp.0.weight'),
        numHeads: need('numHeads', 'blocks.0.attn.k_norm.weight'),
        depth: need('depth', 'blocks.*.attn.qkv.weight'),
        numClasses: need('numClasses', 'y_embedder.embedding_table.weight'),
        head: {
          kind: 'nerf',
          width: need('head.width', NERF_EMBEDDER),
          mlpRatio: need('head.mlpRatio', 'blocks.*.param_generator1.0.weight'),
          blocks: need('head.blocks', 'blocks.*.param_generator1.0.weight'),
          weightNorm: NERF_HEAD_DEFAULTS.weightNorm,
          ...coord,
        },
      },
      MODEL_DEFAULTS,
    );
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`the config read off ${source} is invalid: ${(e as Error).message}`);
  }
}
