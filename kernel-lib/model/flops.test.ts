import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PRESETS } from '../config/presets';
import { forwardFlops } from './flops';
import { paramSpecs } from './params';

test('trunk FLOPs = 2 x (token-wise trunk weights) x tokens + adaLN per image; batch scales linearly', () => {
  const cfg = PRESETS['PixNerd-XL/16'];
  const f = forwardFlops(cfg, 1);
  const tokenWise = paramSpecs(cfg)
    .filter((s) => /^blocks\.(\d+)\.(attn\.qkv|attn\.proj|mlp\.w\d)\.weight$/.test(s.name) && Number(s.name.split('.')[1]) < cfg.depth)
    .reduce((n, s) => n + s.shape[0]! * s.shape[1]!, 0);
  assert.is(f.trunkLinear, 2 * tokenWise * 256 + cfg.depth * 2 * 1152 * 6 * 1152);
  const r = forwardFlops(cfg, 4).total / f.total; // the shared coordinate-encoding product is once per pass
  assert.ok(r > 3.99 && r <= 4, String(r));
});

test('the field head matches the hand count of paper.md 1.8 (XL: 18.9 M + 4.2 M MACs per token and block)', () => {
  const cfg = PRESETS['PixNerd-XL/16'];
  const f = forwardFlops(cfg, 1);
  const perTokenBlockMacs = f.head / 2 / 256 / 4;
  assert.ok(Math.abs(perTokenBlockMacs / 1e6 - (18.87 + 4.19)) < 0.2, `${perTokenBlockMacs / 1e6} M MACs`);
});

test.run();
