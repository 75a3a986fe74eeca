import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../util/errors';
import { createConfig, derive, fromReferenceArgs } from './model-config';
import { getPreset, PRESETS, resolveModelConfig } from './presets';
import { parameterCount } from '../model/params';

function throwsConfig(fn: () => unknown, field: string, rule: RegExp) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as ConfigError).field, field);
    assert.match((e as Error).message, rule);
    return;
  }
  assert.unreachable(`expected a ConfigError on ${field}`);
}

test('reference presets count exactly the parameters of the official code', () => {
  assert.is(parameterCount(PRESETS['PixNerd-L/16']), 452_113_795);
  assert.is(parameterCount(PRESETS['PixNerd-XL/16']), 700_589_219);
});

test('derived sizes follow the reference formulas', () => {
  const d = derive(PRESETS['PixNerd-XL/16']);
  assert.equal([d.gridH, d.numTokens, d.headDim, d.ffnHidden, d.patchDim, d.coordFeatures, d.fieldParamsPerBlock], [16, 256, 72, 3072, 768, 64, 16384]);
  assert.is(derive(PRESETS['PixNerd-L/16']).ffnHidden, 2730);
});

test('reference init_args are accepted', () => {
  const cfg = resolveModelConfig({
    in_channels: 3, num_classes: 1000, patch_size: 16, hidden_size: 1152, num_groups: 16,
    num_blocks: 30, num_cond_blocks: 26, hidden_size_x: 64, nerf_mlpratio: 2,
  });
  assert.equal(cfg, PRESETS['PixNerd-XL/16']);
  assert.equal(fromReferenceArgs({ num_blocks: 4, num_cond_blocks: 3 }), { depth: 3, head: { blocks: 1 } });
});

test('presets and overrides: a preset plus ablation switches', () => {
  const cfg = resolveModelConfig({ preset: 'tiny-32/8', head: { coordEncoding: 'sincos', weightNorm: 'fc1' } });
  assert.is(cfg.patchSize, 8);
  assert.equal(cfg.head.kind === 'nerf' && [cfg.head.coordEncoding, cfg.head.weightNorm, cfg.head.width], ['sincos', 'fc1', 32]);
  assert.equal(resolveModelConfig({ preset: 'tiny-32/8', head: { kind: 'linear' } }).head, { kind: 'linear' });
});

test('invalid configs name the field and the rule', () => {
  throwsConfig(() => createConfig({ imageSize: 40, patchSize: 16 }), 'imageSize', /multiple of patchSize/);
  throwsConfig(() => createConfig({ hiddenSize: 100, numHeads: 16 }), 'hiddenSize', /divisible by numHeads/);
  throwsConfig(() => createConfig({ hiddenSize: 96, numHeads: 16 }), 'hiddenSize', /divisible by 4/);
  throwsConfig(() => createConfig({ depth: -2 }), 'depth', /positive integer/);
  throwsConfig(() => createConfig({ head: { coordEncoding: 'fourier' as never } }), 'head.coordEncoding', /dct, sincos, none/);
  throwsConfig(() => createConfig({ head: { weightNorm: 'all' as never } }), 'head.weightNorm', /none, fc1, fc1\+fc2/);
  throwsConfig(() => createConfig({ head: { kind: 'conv' } as never }), 'head.kind', /nerf, linear/);
  throwsConfig(() => createConfig({ head: { width: 0 } }), 'head.width', /positive integer/);
  throwsConfig(() => createConfig({ head: { pixelInput: 'no' as never } }), 'head.pixelInput', /true or false/);
  throwsConfig(() => createConfig({ head: { pixelInput: false, coordEncoding: 'none' } }), 'head.pixelInput', /no input at all/);
  throwsConfig(() => createConfig({ head: { pixelBlur: 2 } }), 'head.pixelBlur', /odd integer/);
  throwsConfig(() => createConfig({ head: { pixelInput: false, pixelBlur: 3 } }), 'head.pixelBlur', /no pixel values to blur/);
  throwsConfig(() => createConfig({ bogus: 1 } as never), 'bogus', /unknown field/);
  throwsConfig(() => getPreset('PixNerd-H/2'), 'preset', /unknown preset/);
});

test('configs round-trip through JSON', () => {
  for (const cfg of Object.values(PRESETS)) assert.equal(resolveModelConfig(JSON.parse(JSON.stringify(cfg))), cfg);
});

test.run();
