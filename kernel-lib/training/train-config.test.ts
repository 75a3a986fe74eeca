import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PRESETS } from '../config/presets';
import { ConfigError } from '../util/errors';
import { createTrainConfig, defaultAlignLayer } from './train-config';

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

test.run();
