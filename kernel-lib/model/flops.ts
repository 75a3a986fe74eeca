/**
 * Analytic FLOP count of one forward pass (a multiply-add counts 2 FLOPs; matMuls and the
 * attention products only: norms and element-wise work are a few percent and left out).
 */
import { derive, type ModelConfig } from '../config/model-config';
import { TIMESTEP_FEATURES } from './embedders';

export interface FlopBreakdown {
  patchEmbed: number;
  condition: number;
  /** qkv, proj, SwiGLU and adaLN of every trunk block. */
  trunkLinear: number;
  /** q k^T and attn v. */
  attention: number;
  /** Field weight generators + per-patch field MLPs + embedder + final layer (or the linear head). */
  head: number;
  total: number;
}

/** FLOPs of one forward pass on a batch of `batch` images of the config's size (or H x W). */
export function forwardFlops(cfg: ModelConfig, batch = 1, height = cfg.imageSize, width = height): FlopBreakdown {
  const { numTokens: L, ffnHidden: F, patchDim, coordFeatures: E } = derive(cfg, height, width);
  const D = cfg.hiddenSize;
  const N = batch * L;
  const patchEmbed = 2 * N * patchDim * D;
  const condition = 2 * batch * (TIMESTEP_FEATURES * D + D * D);
  const perBlock = 2 * N * (3 * D * D + D * D + 3 * D * F) + 2 * batch * D * 6 * D;
  const trunkLinear = cfg.depth * perBlock;
  const attention = cfg.depth * 2 * 2 * batch * L * L * D;
  let head: number;
  const h = cfg.head;
  const P = (height * width) / L; // pixels per token
  switch (h.kind) {
    case 'nerf': {
      const hx = h.width, hr = h.width * h.mlpRatio;
      const gen = 2 * N * D * (2 * hx * hr);
      const field = 2 * N * P * (hx * hr + hr * hx);
      head = h.blocks * (gen + field) + 2 * N * P * cfg.inChannels * hx + 2 * P * E * hx + 2 * N * P * hx * cfg.inChannels;
      break;
    }
    case 'linear':
      head = 2 * batch * D * 2 * D + 2 * N * D * patchDim;
      break;
    default: {
      const never: never = h;
      throw new Error(`unknown head ${JSON.stringify(never)}`);
    }
  }
  const total = patchEmbed + condition + trunkLinear + attention + head;
  return { patchEmbed, condition, trunkLinear, attention, head, total };
}
