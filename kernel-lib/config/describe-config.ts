/**
 * One readable line per model config: image, patch, trunk, head, parameters and GFLOPs per image
 * (what `pixnerd info` prints for each preset).
 *
 * Example:
 *   console.log(describeConfig('tiny-32/8', PRESETS['tiny-32/8']));
 */
import { derive, type ModelConfig } from './model-config';
import { forwardFlops } from '../model/flops';
import { parameterCount } from '../model/params';

/** One row of the presets table. */
export function describeConfig(name: string, cfg: ModelConfig): string {
  const d = derive(cfg);
  const head = cfg.head.kind === 'nerf' ? `nerf hx${cfg.head.width} r${cfg.head.mlpRatio} x${cfg.head.blocks} ${cfg.head.coordEncoding}${cfg.head.pixelInput === false ? ' no-pixel' : ''}${(cfg.head.pixelBlur ?? 1) > 1 ? ` blur${cfg.head.pixelBlur}` : ''}` : 'linear';
  const gflops = forwardFlops(cfg, 1).total / 1e9;
  return `${name.padEnd(14)} ${`${cfg.imageSize}px C${cfg.inChannels} p${cfg.patchSize}`.padEnd(16)} D${cfg.hiddenSize} h${cfg.numHeads} depth ${cfg.depth} L${d.numTokens}  ${head.padEnd(22)} ${(parameterCount(cfg) / 1e6).toFixed(2).padStart(8)} M params  ${gflops.toFixed(2).padStart(7)} GFLOP/img`;
}
