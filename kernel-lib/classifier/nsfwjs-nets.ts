/**
 * ImageNet-initialised feature networks for colour images, loaded offline from the npm package
 * `nsfwjs` (4.4.0), which ships its Keras models as JS modules:
 *
 *   node_modules/nsfwjs/dist/models/<net>/model.min.js            the tfjs layers-model JSON (topology + weightsManifest)
 *   node_modules/nsfwjs/dist/models/<net>/group1-shardKofN.min.js  one base64 string each: the weight bytes
 *
 * nsfwjs's own loader (dist/cjs/core.js, `JSONHandler`) requires both, base64-decodes the shards,
 * concatenates them in manifest order and hands {modelTopology, weightSpecs, weightData} to
 * `tf.loadLayersModel`. We do the same with `tf.io.fromMemory`, except that the base64 string is
 * read from the shard file as text (requiring the 3.5 MB module through tsx took ~6 s).
 *
 * What the networks are: MobileNetV2 (224 px) and InceptionV3 (299 px) Keras applications,
 * ImageNet-pretrained and then fine-tuned by the nsfwjs authors on a 5-class NSFW data set, with
 * uint8-quantised weights. They are NOT the torchvision / TF-slim Inception that published FIDs
 * use: an FID from them compares runs of this project with each other, never with numbers in papers.
 *
 * Features (input: images in [-1, 1] -> [0, 1] (nsfwjs's /255 convention), grey tiled to RGB,
 * bilinear resize to the input size with align-corners as nsfwjs does):
 *
 *   MobileNetV2  features: mean of `out_relu` [B, 7, 7, 1280] over space -> [B, 1280]
 *                (= the model's own `average_pooling2d_1`, before its NSFW head)
 *                spatialFeatures / teacher: `out_relu` [B, s/32, s/32, 1280] (7x7 at 224, 4x4 at 112)
 *   InceptionV3  features: mean of `mixed10` [B, 8, 8, 2048] -> [B, 2048]
 *
 * Both run forward on the wasm backend (conv2d / depthwise forward exist there).
 *
 * Legend: B batch, H x W image size, C channels (1 or 3), s input size, F feature width.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Teacher } from '../training/repa';
import type { FeatureExtractor } from '../metrics/feature-extractor';
import { CheckpointError, ConfigError, ShapeError } from '../util/errors';
import { projectRequire } from '../util/load-module';

export type NsfwjsNetName = 'MobileNetV2' | 'InceptionV3';
export const NSFWJS_NETS: readonly NsfwjsNetName[] = ['MobileNetV2', 'InceptionV3'];

interface NetSpec {
  /** Folder under dist/models. */
  dir: string;
  /** The input size the network was trained at. */
  inputSize: number;
  /** Layer averaged over space for `features`. */
  poolLayer: string;
  /** Default layer of the REPA teacher grid. */
  teacherLayer: string;
}

const SPECS: Record<NsfwjsNetName, NetSpec> = {
  MobileNetV2: { dir: 'mobilenet_v2', inputSize: 224, poolLayer: 'out_relu', teacherLayer: 'out_relu' },
  InceptionV3: { dir: 'inception_v3', inputSize: 299, poolLayer: 'mixed10', teacherLayer: 'mixed10' },
};

export interface NsfwjsNetOptions {
  /** Input size s the images are resized to (default: the trained size, 224 / 299). Smaller is faster; features then differ. */
  inputSize?: number;
  /** Layer for spatialFeatures / teacher (default `out_relu` / `mixed10`). */
  teacherLayer?: string;
  /** Images per call in batched feature extraction (default 16). */
  batchSize?: number;
  /** The nsfwjs package root (default: resolved from node_modules). */
  packageDir?: string;
}

/** An ImageNet-initialised network as a feature extractor and a REPA teacher. */
export interface NsfwjsNet extends FeatureExtractor {
  /** `nsfwjs/MobileNetV2@224/out_relu` etc. */
  readonly name: string;
  readonly net: NsfwjsNetName;
  readonly inputSize: number;
  /** F: pooled feature width (1280 / 2048). */
  readonly dim: number;
  readonly batchSize: number;
  readonly model: tf.LayersModel;
  /** x [B, H, W, C] in [-1, 1] -> pooled features [B, F] */
  features(x: tf.Tensor4D): tf.Tensor2D;
  /** raw [B, H, W, C] in [0, 1] -> teacher layer [B, th, tw, E] */
  spatialFeatures(raw: tf.Tensor4D): tf.Tensor4D;
  /** [th, tw, E] of spatialFeatures at this input size. */
  readonly teacherGrid: [number, number, number];
  readonly teacher: Teacher;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Reading the package files
// ---------------------------------------------------------------------------------------------

/** The nsfwjs package root (its `exports` map hides package.json, so resolve the main entry). */
export function nsfwjsPackageDir(): string {
  let main: string;
  try {
    main = projectRequire().resolve('nsfwjs');
  } catch (e) {
    throw new CheckpointError(`nsfwjs: package not found (${(e as Error).message}); it is a dependency in package.json: run npm install`);
  }
  return join(dirname(main), '..', '..'); // dist/cjs/index.js -> package root
}

interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}
interface KerasLayer {
  name: string;
  class_name: string;
  config: { batch_input_shape?: Array<number | null> } & Record<string, unknown>;
}
interface ModelJson {
  modelTopology: { model_config: { class_name: string; config: { layers: KerasLayer[]; input_layers: unknown[]; output_layers: Array<[string, number, number]> } } } & Record<string, unknown>;
  weightsManifest: WeightGroup[];
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1 };

/** Bytes one manifest entry occupies (a quantised weight takes its quantised size). */
function entryBytes(w: tf.io.WeightsManifestEntry): number {
  const dtype = w.quantization?.dtype ?? w.dtype;
  const b = DTYPE_BYTES[dtype];
  if (b === undefined) throw new CheckpointError(`nsfwjs: weight "${w.name}" has unsupported dtype ${dtype}`);
  return w.shape.reduce((a, c) => a * c, 1) * b;
}

/** The base64 weight string inside one shard module (`...exports="<base64>"...`), decoded. */
export function readShard(file: string): Uint8Array {
  if (!existsSync(file)) throw new CheckpointError(`nsfwjs: weight shard ${file} not found (is nsfwjs@4.4.0 installed?)`);
  const text = readFileSync(file, 'utf8');
  const m = /\.exports\s*=\s*"([A-Za-z0-9+/]+={0,2})"/.exec(text);
  if (!m) throw new CheckpointError(`nsfwjs: ${file} does not hold a base64 weight string in the expected bundle form (module.exports="...")`);
  const buf = Buffer.from(m[1]!, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface ArtifactOptions {
  packageDir?: string;
  /** Keep the layers up to and including this one (the feature trunk) and make it the output; drop the NSFW head after it. */
  outputLayer?: string;
  /** Square input size written into the input layer (default: as stored, 224 / 299). */
  inputSize?: number;
}

/**
 * The model JSON and the concatenated weight bytes of one network, checked against each other,
 * optionally cut after `outputLayer` (its weights dropped too) and with a new input size.
 */
export function readNsfwjsArtifacts(net: NsfwjsNetName, opts: ArtifactOptions = {}): tf.io.ModelArtifacts {
  const dir = join(opts.packageDir ?? nsfwjsPackageDir(), 'dist', 'models', SPECS[net].dir);
  const modelFile = join(dir, 'model.min.js');
  if (!existsSync(modelFile)) throw new CheckpointError(`nsfwjs: ${modelFile} not found (is nsfwjs@4.4.0 installed?)`);
  const mod = projectRequire()(modelFile) as ModelJson | { default: ModelJson };
  const json = 'default' in mod ? mod.default : mod;
  const cfg = json?.modelTopology?.model_config?.config;
  if (!cfg || !Array.isArray(cfg.layers) || !Array.isArray(json.weightsManifest)) {
    throw new CheckpointError(`nsfwjs: ${modelFile} does not export {modelTopology: {model_config: {config: {layers}}}, weightsManifest}`);
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const shards = json.weightsManifest.flatMap((g) => g.paths).map((p) => readShard(join(dir, `${p}.min.js`)));
  const total = shards.reduce((n, s) => n + s.byteLength, 0);
  const expected = weightSpecs.reduce((n, w) => n + entryBytes(w), 0);
  if (total !== expected) throw new CheckpointError(`nsfwjs: ${dir}: the shards hold ${total} bytes but the manifest's ${weightSpecs.length} weights need ${expected} (truncated or mismatched files)`);
  const all = new Uint8Array(total);
  let off = 0;
  for (const s of shards) {
    all.set(s, off);
    off += s.byteLength;
  }

  // A copy of the topology, cut after outputLayer (Keras lists layers in topological order, head last).
  let layers = cfg.layers;
  let outputLayers = cfg.output_layers;
  if (opts.outputLayer !== undefined) {
    const at = layers.findIndex((l) => l.name === opts.outputLayer);
    if (at < 0) throw new ConfigError('outputLayer', opts.outputLayer, `is not a layer of nsfwjs ${net}`);
    layers = layers.slice(0, at + 1);
    outputLayers = [[opts.outputLayer, 0, 0]];
  }
  if (opts.inputSize !== undefined) {
    layers = layers.map((l) => (l.class_name === 'InputLayer' ? { ...l, config: { ...l.config, batch_input_shape: [null, opts.inputSize!, opts.inputSize!, 3] } } : l));
  }
  const kept = new Set(layers.map((l) => l.name));
  const keptSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  off = 0;
  for (const w of weightSpecs) {
    const n = entryBytes(w);
    if (kept.has(w.name.split('/')[0]!)) {
      keptSpecs.push(w);
      parts.push(all.subarray(off, off + n));
    }
    off += n;
  }
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  off = 0;
  for (const p of parts) {
    weightData.set(p, off);
    off += p.byteLength;
  }
  const modelTopology = { ...json.modelTopology, model_config: { ...json.modelTopology.model_config, config: { ...cfg, layers, output_layers: outputLayers } } };
  return { modelTopology, weightSpecs: keptSpecs, weightData: weightData.buffer };
}

// ---------------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------------

/** Images in [0, 1] [B, H, W, 1|3] -> RGB [B, s, s, 3] at the network's input size. */
function toNetInput(raw: tf.Tensor4D, size: number, name: string): tf.Tensor4D {
  const C = raw.shape[3];
  if (C !== 1 && C !== 3) throw new ShapeError(`${name}: expected images [B, H, W, 1 or 3], got [${raw.shape.join(', ')}]`);
  return tf.tidy(() => {
    const rgb = C === 1 ? tf.tile(raw, [1, 1, 1, 3]) : raw;
    return (rgb.shape[1] === size && rgb.shape[2] === size ? rgb : tf.image.resizeBilinear(rgb as tf.Tensor4D, [size, size], true)) as tf.Tensor4D;
  });
}

/**
 * Loads MobileNetV2 or InceptionV3 from the nsfwjs package (no network access) as a feature
 * extractor and a REPA teacher. Takes ~1-2 s (MobileNetV2) and ~15-80 s (InceptionV3) on 2 cores.
 */
export async function loadNsfwjsNet(net: NsfwjsNetName, opts: NsfwjsNetOptions = {}): Promise<NsfwjsNet> {
  const spec = SPECS[net];
  if (!spec) throw new ConfigError('net', net, `must be one of ${NSFWJS_NETS.join(', ')}`);
  const inputSize = opts.inputSize ?? spec.inputSize;
  if (!Number.isInteger(inputSize) || inputSize < 32) throw new ConfigError('inputSize', inputSize, 'must be an integer >= 32');
  const model = await tf.loadLayersModel(tf.io.fromMemory(readNsfwjsArtifacts(net, { packageDir: opts.packageDir, outputLayer: spec.poolLayer, inputSize })));
  const teacherName = opts.teacherLayer ?? spec.teacherLayer;
  let teacherOut: tf.SymbolicTensor;
  try {
    teacherOut = model.getLayer(teacherName).output as tf.SymbolicTensor;
  } catch {
    throw new ConfigError('teacherLayer', teacherName, `is not a layer of the nsfwjs ${net} trunk (e.g. ${model.layers.slice(-8).map((l) => l.name).join(', ')})`);
  }
  const featureModel = model; // outputs the pool layer [B, h, w, F]
  const teacherModel = teacherName === spec.poolLayer ? model : tf.model({ inputs: model.inputs, outputs: teacherOut });
  const name = `nsfwjs/${net}@${inputSize}`;

  const spatialFeatures = (raw: tf.Tensor4D): tf.Tensor4D =>
    tf.tidy(() => {
      const out = teacherModel.predict(toNetInput(raw, inputSize, name)) as tf.Tensor;
      if (out.rank !== 4) throw new ShapeError(`${name}: layer ${teacherName} gives rank ${out.rank}, a teacher needs [B, th, tw, E]`);
      return out as tf.Tensor4D;
    });
  const features = (x: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const raw = tf.div(tf.add(x, 1), 2) as tf.Tensor4D;
      const map = featureModel.predict(toNetInput(raw, inputSize, name)) as tf.Tensor4D; // [B, h, w, F]
      return tf.mean(map, [1, 2]) as tf.Tensor2D; // [B, F]
    });

  // Shapes at this input size, from one probe image.
  const probe = tf.zeros([1, inputSize, inputSize, 3]) as tf.Tensor4D;
  const f = features(probe);
  const g = spatialFeatures(probe);
  const dim = f.shape[1];
  const teacherGrid: [number, number, number] = [g.shape[1], g.shape[2], g.shape[3]];
  tf.dispose([probe, f, g]);

  return {
    name: `${name}/${spec.poolLayer}`,
    net,
    inputSize,
    dim,
    batchSize: opts.batchSize ?? 16,
    model,
    features,
    spatialFeatures,
    teacherGrid,
    teacher: { name: `${name}/${teacherName}`, dim: teacherGrid[2], features: spatialFeatures },
    dispose: () => model.dispose(),
  };
}
