import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PRESETS } from '../config/presets';
import { ConfigError } from '../util/errors';
import { createTrainConfig, defaultAlignLayer, lrAt, TRAIN_DEFAULTS } from './train-config';

test('REPA aligns about the first third of the trunk by default: 8 of 28, every preset valid', () => {
  assert.is(defaultAlignLayer(28), 8);
  assert.is(createTrainConfig({ repa: { enabled: true } }, PRESETS['tiny-32/8']).repa.alignLayer, 2);
  assert.is(createTrainConfig({ repa: { enabled: true } }, PRESETS['small-64/16']).repa.alignLayer, 2);
  assert.is(createTrainConfig({ repa: { enabled: true } }, PRESETS['PixNerd-XL/16']).repa.alignLayer, 8);
  for (const [name, m] of Object.entries(PRESETS)) {
    const l = createTrainConfig({ repa: { enabled: true } }, m).repa.alignLayer;
    assert.ok(l >= 1 && l <= m.depth, `${name}: ${l}`);
  }
});

test('an explicit out-of-range alignLayer is still an error naming the field and the range', () => {
  assert.throws(() => createTrainConfig({ repa: { enabled: true, alignLayer: 8 } }, PRESETS['small-64/16']), (e: Error) => e instanceof ConfigError && /train\.repa\.alignLayer = 8: must be a trunk block 1\.\.6/.test(e.message));
});


test('lrAt: warm-up, then constant (reference) or cosine / linear decay to minLrRatio at the last step', () => {
  const base = { ...TRAIN_DEFAULTS.optimizer, lr: 2e-3, warmupSteps: 10 };
  assert.is(lrAt(0, base, 100), 2e-4);
  assert.is(lrAt(9, base, 100), 2e-3);
  assert.is(lrAt(99, base, 100), 2e-3, 'constant is the default');
  const cos = { ...base, schedule: 'cosine' as const, minLrRatio: 0.1 };
  assert.is(lrAt(10, cos, 100), 2e-3, 'decay starts at lr right after warm-up');
  assert.ok(Math.abs(lrAt(99, cos, 100) - 2e-4) < 1e-12, 'reaches minLrRatio * lr at the last step');
  const mid = 10 + 89 / 2;
  assert.ok(Math.abs(lrAt(mid, cos, 100) - 2e-3 * 0.55) < 1e-12, 'half way: the mean of lr and the floor');
  const lin = { ...base, schedule: 'linear' as const, minLrRatio: 0 };
  assert.ok(Math.abs(lrAt(mid, lin, 100) - 1e-3) < 1e-12);
  assert.is(lrAt(99, lin, 100), 0);
  for (let s = 11; s < 100; s++) assert.ok(lrAt(s, cos, 100) <= lrAt(s - 1, cos, 100), `cosine decreases (step ${s})`);
  assert.throws(() => createTrainConfig({ optimizer: { schedule: 'step' as never } }, PRESETS['tiny-32/8']), /train\.optimizer\.schedule/);
  assert.throws(() => createTrainConfig({ optimizer: { minLrRatio: 2 } }, PRESETS['tiny-32/8']), /train\.optimizer\.minLrRatio/);
});

test('lrAt: decayFraction holds lr, then decays over the last part only (warmup-stable-decay)', () => {
  const wsd = { ...TRAIN_DEFAULTS.optimizer, lr: 2e-3, warmupSteps: 10, schedule: 'linear' as const, minLrRatio: 0, decayFraction: 0.2 };
  // 101 steps: 90 after warm-up (10..100), the last 18 of them decay (82..100)
  for (const s of [10, 50, 82]) assert.is(lrAt(s, wsd, 101), 2e-3, `held at step ${s}`);
  assert.ok(Math.abs(lrAt(91, wsd, 101) - 1e-3) < 1e-12, 'half way through the decay');
  assert.is(lrAt(100, wsd, 101), 0, 'the floor at the last step');
  assert.ok(lrAt(83, wsd, 101) < 2e-3);
  const whole = { ...wsd, decayFraction: 1 };
  assert.ok(Math.abs(lrAt(55, whole, 101) - 1e-3) < 1e-12, 'decayFraction 1: the decay over every step after warm-up');
  assert.is(createTrainConfig({ optimizer: { schedule: 'linear', decayFraction: 0.2 } }, PRESETS['tiny-32/8']).optimizer.decayFraction, 0.2);
  assert.not.ok('decayFraction' in createTrainConfig({}, PRESETS['tiny-32/8']).optimizer, 'no default: old config hashes stay');
  assert.throws(() => createTrainConfig({ optimizer: { decayFraction: 1.5 } }, PRESETS['tiny-32/8']), /train\.optimizer\.decayFraction = 1\.5: must be in \[0, 1\]/);
});

test.run();
