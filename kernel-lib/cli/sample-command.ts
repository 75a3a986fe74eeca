/**
 * `sample`: class-conditional samples from a run's checkpoint (`--run`, EMA weights by default)
 * or from pretrained weights (`--weights X.ckpt | DIR | X.safetensors`: a released PixNerd
 * checkpoint, a diffusers folder), classes by id or by name, written as a labelled PNG grid (one
 * row per class) or, with `--out x.safetensors`, as the raw images `images` [N, H, W, C] in
 * [-1, 1] and their `labels` [N]. Progress shows the step, s/step and the ETA.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { initBackend } from '../backend/backend-ladder';
import { describePrecision, effectivePrecision, MATMUL_PRECISIONS, resolvePrecision } from '../backend/precision';
import { disposeParams } from '../model/params';
import { SAMPLER_KINDS, type FinalAverageSpec, type SamplerKind } from '../sampling/sample';
import { parseClassList } from '../sampling/class-names';
import { writeSafetensors } from '../checkpoint/safetensors';
import { loadRun, type LoadedRun } from '../runs/load-run';
import { loadWeights, sampleWeights } from '../runs/pretrained';
import { imageGridPng } from '../viz/image-grid';
import { progress } from '../viz/progress';
import { finalAverage, int, interval, num } from './options';

interface SampleOptions {
  run?: string;
  weights?: string;
  config?: string;
  nativeSize?: number;
  prefix?: string;
  classes?: string[];
  perClass: number;
  size?: number;
  scale?: number;
  steps: number;
  sampler: SamplerKind;
  order: number;
  cfg: number;
  interval: [number, number];
  shift: number;
  lastStep?: number;
  finalAverage: FinalAverageSpec | null;
  seed: number;
  out: string;
  precision?: string;
}

function classList(s: string): string[] {
  try {
    return parseClassList(s);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

const RUN_WEIGHTS = ['ema', 'model'];

/** The model to sample: a run's (EMA or online weights) or pretrained weights. */
async function loadModel(o: SampleOptions): Promise<{ model: LoadedRun; source: string }> {
  if (o.run !== undefined) {
    if (o.weights !== undefined && !RUN_WEIGHTS.includes(o.weights)) {
      throw new Error(`--weights with --run is ema or model (which of the run's weights), got "${o.weights}"; to sample a checkpoint file give --weights without --run`);
    }
    for (const [flag, v] of [['--config', o.config], ['--native-size', o.nativeSize], ['--prefix', o.prefix]] as const) {
      if (v !== undefined) throw new Error(`${flag} applies to --weights files; a run has its own config and checkpoint (--weights ema|model picks its weights)`);
    }
    return { model: loadRun(o.run, (o.weights as 'ema' | 'model' | undefined) ?? 'ema'), source: o.run };
  }
  if (o.weights === undefined) throw new Error('give --run <dir> (a run directory) or --weights <file|dir> (a checkpoint)');
  const config = o.config === undefined ? undefined : JSON.parse(readFileSync(o.config, 'utf8'));
  const w = await loadWeights(o.weights, { prefix: o.prefix, config, imageSize: o.nativeSize });
  console.log(w.summary);
  console.log(`model: ${w.model.hiddenSize} wide, ${w.model.depth} blocks, patch ${w.model.patchSize}, ${w.model.numClasses} classes; native ${w.model.imageSize} px, ${w.imageSizeFrom}`);
  return { model: w, source: o.weights };
}

export function registerSampleCommand(program: Command): void {
  program
    .command('sample')
    .description("sample classes from a run's checkpoint or pretrained weights; writes a labelled PNG grid, or raw images and labels to .safetensors")
    .option('--run <dir>', 'run directory (its config and checkpoint)')
    .option('--weights <file|dir>', 'pretrained weights: a PyTorch checkpoint (.ckpt, .pt), a diffusers export folder or a .safetensors file; with --run: ema (default) or model')
    .option('--config <file>', '(--weights) model config JSON, checked against the weights (default: the diffusers config.json, else read off the shapes)')
    .option('--native-size <px>', "(--weights) the model's training resolution, which weights do not store (default: --config's image_size, else a released file's name: res512 / -512 -> 512, else 256)", int(1))
    .option('--prefix <p>', '(--weights) state-dict prefix (default: ema_denoiser., else denoiser., else bare names)')
    .requiredOption('--out <file>', 'figures/x.png (grid) or x.safetensors (images [N, H, W, C] in [-1, 1] and labels [N])')
    .option('--classes <list>', 'class ids or names, comma-separated: 207,"golden retriever" (names: ImageNet for a 1,000-class model, else the run\'s dataset) (default: the first 10 classes)', classList)
    .option('--per-class <n>', 'images per class', int(1), 8)
    .option('--size <px>', 'output size (default: native); another size decodes through the neural field at any multiple of the token grid (e.g. 512 from a 256 model)', int(1))
    .option('--scale <k>', 'decode at k x the native resolution (the same as --size k x native)', int(1))
    .option('--steps <n>', 'sampling steps', int(1), 50)
    .addOption(new Option('--sampler <kind>', 'sampler').choices(SAMPLER_KINDS).default('euler'))
    .option('--order <k>', 'Adams order', int(1), 2)
    .option('--cfg <scale>', 'classifier-free guidance scale', num, 1)
    .option('--interval <a,b>', 'guidance interval in t', interval, [0.1, 1] as [number, number])
    .option('--shift <s>', 'time-grid shift', num, 1)
    .option('--final-average <t,k>', "end each sample with the mean clean estimate over k re-noisings at time t (default: none)", finalAverage, null)
    .option('--last-step <d>', "the time grid's last jump: linspace(0, 1 - d, steps) then 1 (default 1 / steps)", num)
    .option('--seed <s>', 'noise seed', int(0), 0)
    .addOption(new Option('--precision <p>', "the model forward's matMuls: bf16 products with fp32 sums where the CPU has AVX512_BF16 and oneDNN is installed, else fp32 with a line saying what is missing (default: PIXNERD_PRECISION, else fp32)").choices(MATMUL_PRECISIONS))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npm run pixnerd -- sample --run runs/mnist-tiny --classes 0,1,2 --per-class 8 --steps 20 --sampler euler --cfg 2 --out figures/mnist-tiny-grid.png\n' +
        '  npm run pixnerd -- sample --weights epoch=319-step=1600000_emainit.ckpt --classes 207,"golden retriever",tench --per-class 4 --size 256 --steps 25 --cfg 4 --interval 0.1,1 --out figures/xl16-grid.png',
    )
    .action(async (o: SampleOptions) => {
      if (o.size !== undefined && o.scale !== undefined) throw new Error('give --size or --scale, not both');
      if (!o.out.endsWith('.png') && !o.out.endsWith('.safetensors')) throw new Error(`--out ${o.out}: write a .png grid or a .safetensors file`);
      const asked = resolvePrecision(o.precision);
      await initBackend();
      const precision = effectivePrecision(asked);
      if (precision === 'bf16') console.log(describePrecision(precision));
      const { model, source } = await loadModel(o);
      try {
        const n = (o.classes?.length ?? Math.min(10, model.model.numClasses)) * o.perClass;
        const bar = progress({ total: o.steps, label: `sample ${n} images` });
        const grid = sampleWeights(model, { ...o, finalAverage: o.finalAverage ?? undefined, precision, onStep: (i, _steps, s) => bar.update(i, { 's/step': s }) });
        bar.done();
        const x = grid.images;
        try {
          const native = model.model.imageSize;
          const decode = grid.size === native ? `${grid.size} px` : `${grid.size} px (trunk at the native ${native} px, the field decoding ${grid.size / (native / model.model.patchSize)} px per token)`;
          const sorted = [...grid.stepSeconds].sort((a, b) => a - b);
          console.log(`classes: ${grid.labels.join(', ')}; ${decode}; median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} s/step (forward batch ${grid.batch})`);
          mkdirSync(dirname(o.out), { recursive: true });
          if (o.out.endsWith('.safetensors')) {
            const labels = Int32Array.from(grid.classes.flatMap((c) => Array<number>(o.perClass).fill(c)));
            const meta = { precision, sampler: o.sampler, steps: String(o.steps), cfg: String(o.cfg), interval: o.interval.join(','), seed: String(o.seed), size: String(grid.size), [o.run !== undefined ? 'run' : 'weights']: source };
            writeSafetensors(o.out, { images: { shape: x.shape, data: x.dataSync() as Float32Array }, labels: { shape: [labels.length], data: labels } }, meta);
          } else {
            const png = await imageGridPng(x, { cols: o.perClass, rowLabels: grid.labels, scale: Math.max(1, Math.round(96 / x.shape[1])) });
            writeFileSync(o.out, png);
          }
          console.log(`sampled ${x.shape[0]} images (${o.sampler}, ${o.steps} steps, cfg ${o.cfg}) in ${grid.seconds.toFixed(1)} s -> ${o.out}`);
        } finally {
          x.dispose();
        }
      } finally {
        disposeParams(model.params);
      }
    });
}
