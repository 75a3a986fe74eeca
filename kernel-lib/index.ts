/**
 * kernel-lib: the PixNerd research kernel. This file is the notebook API: notebooks and scripts
 * import from here (`./kernel-lib/index`: tslab needs the file's name) and nowhere deeper; everything not exported here is an
 * implementation detail. The CLI (kernel-lib/cli/) is a thin shell over the same functions.
 *
 * Example:
 *   import * as tf from '@tensorflow/tfjs';
 *   import { initBackend, PRESETS, initParams, pixnerdForward } from './kernel-lib/index';
 *   await initBackend();
 *   const cfg = PRESETS['tiny-32/8'];
 *   const { v } = pixnerdForward(initParams(cfg, 0), cfg, tf.randomNormal([4, 32, 32, 1]), tf.fill([4], 0.5), tf.tensor1d([0, 1, 2, 10], 'int32'));
 *
 * Map:
 *   backend      initBackend (tensorflow > wasm > cpu), the native BLAS add-on, the sampling
 *                forward's matMul precision (fp32 | bf16: resolvePrecision, withMatmulPrecision)
 *   config       ModelConfig and its switches (head: nerf | linear, coordEncoding, weightNorm, ...),
 *                createConfig / resolveModelConfig (reference init_args too), PRESETS, describeConfig
 *   model        layers (ops, embedders, RoPE, attention, DiT block, neural-field head, linear head),
 *                initParams, pixnerdForward (+ field weights, other resolutions), flops, referenceForward
 *   checkpoint   safetensors, reference names; PyTorch .ckpt/.pt (safe unpickler, allowlisted globals)
 *                and diffusers folders through openWeights; config inferred from shapes
 *   diffusion    rectified flow: time sampling, interpolation, v/x prediction
 *   training     train, TrainConfig (createTrainConfig), AdamW, EMA, REPA and its teachers
 *   sampling     sample, modelVelocity, Euler / Heun / Adams, guidance (CFG on an interval), timeGrid,
 *                class names (ImageNet's 1,000, lookup by id or name)
 *   runs         a run directory: readExperiment, trainRun, loadRun, sampleClasses, evaluateRun,
 *                mainJob, the files (config, checkpoint, metrics) and the one-writer lock;
 *                pretrained weights: loadWeights (.ckpt, diffusers folder, safetensors), sampleWeights
 *   experiments  sweeps: experiment files, the local / SLURM runners, reports, sampler sweeps
 *   data         datasets (MNIST, Fashion-MNIST, emoji, image folders), loaders, datasetFromConfig
 *   metrics      evaluate (FID, KID, precision/recall, class accuracy), real-vs-real baselines
 *   classifier   the project's small CNNs and the nsfwjs nets (feature extractors, REPA teachers)
 *   viz          display (tslab), image grids, loss and ablation charts, heat maps, neural-field views,
 *                training monitor, progress, tables
 *
 * Cost: importing this file loads no heavy package eagerly. nsfwjs's networks are read when
 * loadNsfwjsNet is called; vega / vega-lite / resvg when a chart is rendered; plotly's bundle
 * when the first plotly chart is shown; tslab's display (and its zeromq) only inside tslab.
 * Names: the SLURM helpers are not re-exported here (import them from
 * kernel-lib/experiments/slurm-executor in cluster scripts); everything else is flat.
 */
export * from './backend/backend-ladder';
export * from './backend/precision';
export * from './config/model-config';
export * from './config/presets';
export * from './config/describe-config';
export * from './model/ops';
export * from './model/embedders';
export * from './model/rope';
export * from './model/attention';
export * from './model/dit-block';
export * from './encodings/coord-encoding';
export * from './heads/nerf-head';
export * from './heads/linear-head';
export * from './heads/nerf-inspect';
export * from './model/params';
export * from './model/pixnerd';
export * from './model/flops';
export * from './model/reference-io';
export * from './checkpoint/safetensors';
export * from './checkpoint/reference-checkpoint';
export * from './checkpoint/open-weights';
export * from './checkpoint/select-weights';
export * from './checkpoint/infer-config';
export * from './checkpoint/torch-checkpoint';
export * from './checkpoint/safetensors-stream';
export * from './diffusion/flow-matching';
export * from './training/train-config';
export * from './training/train';
export * from './training/adamw';
export * from './training/ema';
export * from './training/repa';
export * from './training/teachers';
export * from './sampling/sample';
export * from './sampling/guidance';
export * from './sampling/time-grid';
export * from './sampling/adams';
export * from './sampling/class-names';
export * from './runs/index';
export * from './experiments/experiment-config';
export * from './experiments/runner';
export * from './experiments/run-one';
export * from './experiments/aggregate';
export * from './experiments/load-results';
export * from './experiments/show-results';
export * from './experiments/sampler-sweep';
export * from '../data-loaders/index';
export * from '../data-loaders/from-config';
export * from './metrics/index';
export * from './metrics/evaluate';
export * from './metrics/real-baseline';
export * from './metrics/feature-extractor';
export * from './classifier/index';
export * from './viz/index';
export * from './util/errors';
export * from './util/seed';
export * from './util/scope';
export * from './util/atomic-write';
