import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createConfig } from '../config/model-config';
import { PRESETS, PRESET_NAMES } from '../config/presets';
import { paramSpecs } from '../model/params';
import { CheckpointError } from '../util/errors';
import { checkConfigAgainstShapes, inferConfigFromShapes, shapeFacts, type ShapeMap } from './infer-config';
import { referenceShape } from './reference-checkpoint';
import type { ModelConfig } from '../config/model-config';

/** The reference-layout shapes of a config's parameters (what a checkpoint of it holds). */
const shapesOf = (cfg: ModelConfig): ShapeMap => new Map(paramSpecs(cfg).map((s) => [s.name, referenceShape(s)]));

test('every neural-field preset is read back from its shapes (XL/16 included)', () => {
  for (const name of PRESET_NAMES) {
    const cfg = PRESETS[name];
    assert.equal(inferConfigFromShapes(shapesOf(cfg), { imageSize: cfg.imageSize }), cfg, name);
  }
  const xl = inferConfigFromShapes(shapesOf(PRESETS['PixNerd-XL/16']));
  assert.equal([xl.hiddenSize, xl.numHeads, xl.depth, xl.numClasses, xl.patchSize, xl.imageSize], [1152, 16, 26, 1000, 16, 256]);
});

test('ablation encodings and ratios are read back too (sincos, none, r = 4)', () => {
  for (const head of [{ coordEncoding: 'sincos' as const, maxFreqs: 3 }, { coordEncoding: 'none' as const }, { mlpRatio: 4 }]) {
    const cfg = createConfig({ head }, PRESETS['tiny-32/8']);
    assert.equal(inferConfigFromShapes(shapesOf(cfg), { imageSize: 32 }), cfg, JSON.stringify(head));
  }
});

test('the first mismatch is named with its evidence; fields are checked in a fixed order', () => {
  const cfg = PRESETS['PixNerd-XL/16'];
  const shapes = shapesOf(cfg);
  checkConfigAgainstShapes(cfg, shapes);
  assert.throws(() => checkConfigAgainstShapes(PRESETS['PixNerd-L/16'], shapes, 'xl.ckpt'), /config disagrees with xl\.ckpt: hiddenSize is 1024 in the config but 1152 in the weights \(t_embedder\.mlp\.0\.weight \[1152, 256\]\)/);
  assert.throws(() => checkConfigAgainstShapes(createConfig({ head: { blocks: 2 } }, cfg), shapes), /depth is 26 in the config but 28|head\.blocks is 2 in the config but 4/);
  assert.throws(() => checkConfigAgainstShapes(createConfig({ head: { kind: 'linear' } }, cfg), shapes), /head\.kind is "linear" in the config but "nerf" in the weights/);
  assert.equal(shapeFacts(shapes).map((f) => f.field), ['head.kind', 'hiddenSize', 'inChannels', 'patchSize', 'numHeads', 'depth', 'numClasses', 'head.width', 'head.mlpRatio', 'head.blocks', 'coordFeatures']);
});

test('inference errors: a missing tensor, a linear head, a non-integer patch', () => {
  const shapes = new Map(shapesOf(PRESETS['tiny-32/8']));
  shapes.delete('t_embedder.mlp.0.weight');
  assert.throws(() => inferConfigFromShapes(shapes), (e: unknown) => e instanceof CheckpointError && /no t_embedder\.mlp\.0\.weight \(pass a config\)/.test((e as Error).message));
  const linear = shapesOf(createConfig({ head: { kind: 'linear' } }, PRESETS['tiny-32/8']));
  assert.throws(() => inferConfigFromShapes(linear), /a linear-head checkpoint does not fix C and p \(pass a config\)/);
  checkConfigAgainstShapes(createConfig({ head: { kind: 'linear' } }, PRESETS['tiny-32/8']), linear);
  const odd = new Map(shapesOf(PRESETS['tiny-32/8']));
  odd.set('s_embedder.proj.weight', [128, 70]);
  assert.throws(() => inferConfigFromShapes(odd), /patchSize = 8\.36\d* from s_embedder\.proj\.weight \[128, 70\]: C p\^2 = 70 is not a positive integer/);
  assert.throws(() => inferConfigFromShapes(new Map()), /no x_embedder\.embedder\.0\.weight \(not a PixNerd checkpoint\?\)/);
});

test.run();
