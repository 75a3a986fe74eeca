/**
 * kernel-lib: the PixNerd research kernel. Notebooks and scripts import from here.
 *
 *   import { initBackend, PRESETS, initParams, pixnerdForward } from '../kernel-lib';
 *   await initBackend();
 *   const cfg = PRESETS['tiny-32/8'];
 *   const params = initParams(cfg, 0);
 *   const { v } = pixnerdForward(params, cfg, x, t, y);
 */
export * from './backend/backend-ladder';
export * from './config/model-config';
export * from './config/presets';
export * from './model/ops';
export * from './model/embedders';
export * from './model/rope';
export * from './model/attention';
export * from './model/dit-block';
export * from './encodings/coord-encoding';
export * from './heads/nerf-head';
export * from './heads/linear-head';
export * from './model/params';
export * from './model/pixnerd';
export * from './model/flops';
export * from './checkpoint/safetensors';
export * from './checkpoint/reference-checkpoint';
export * from './util/errors';
export * from './util/seed';
export * from './util/scope';
export * from './util/atomic-write';
