/**
 * `sample`: class-conditional samples from a run's checkpoint (EMA weights by default), written
 * as a labelled PNG grid (one row per class) or, with `--out x.safetensors`, as the raw images
 * `images` [N, H, W, C] in [-1, 1] and their `labels` [N].
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import { initBackend } from '../backend/backend-ladder';
import { disposeParams } from '../model/params';
import { SAMPLER_KINDS, type SamplerKind } from '../sampling/sample';
import { writeSafetensors } from '../checkpoint/safetensors';
import { loadRun } from '../runs/load-run';
import { sampleClasses } from '../runs/sample-classes';
import { imageGridPng } from '../viz/image-grid';
import { progress } from '../viz/progress';
import { int, interval, num, numList } from './options';

interface SampleOptions {
  run: string;
  classes: number[];
  perClass: number;
  steps: number;
  sampler: SamplerKind;
  order: number;
  cfg: number;
  interval: [number, number];
  shift: number;
  seed: number;
  weights: 'ema' | 'model';
  scale: number;
  out: string;
}

export function registerSampleCommand(program: Command): void {
  program
    .command('sample')
    .description("sample classes from a run's checkpoint; writes a labelled PNG grid, or raw images and labels to .safetensors")
    .requiredOption('--run <dir>', 'run directory')
    .requiredOption('--out <file>', 'figures/x.png (grid) or x.safetensors (images [N, H, W, C] in [-1, 1] and labels [N])')
    .option('--classes <list>', 'class ids, comma-separated', numList, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    .option('--per-class <n>', 'images per class', int(1), 8)
    .option('--steps <n>', 'sampling steps', int(1), 50)
    .addOption(new Option('--sampler <kind>', 'sampler').choices(SAMPLER_KINDS).default('euler'))
    .option('--order <k>', 'Adams order', int(1), 2)
    .option('--cfg <scale>', 'classifier-free guidance scale', num, 1)
    .option('--interval <a,b>', 'guidance interval in t', interval, [0.1, 1] as [number, number])
    .option('--shift <s>', 'time-grid shift', num, 1)
    .option('--seed <s>', 'noise seed', int(0), 0)
    .addOption(new Option('--weights <which>', 'EMA or online weights').choices(['ema', 'model']).default('ema'))
    .option('--scale <k>', 'decode at k x the training resolution (neural field)', int(1), 1)
    .addHelpText('after', '\nExample:\n  npm run pixnerd -- sample --run runs/mnist-tiny --classes 0,1,2 --per-class 8 --steps 20 --sampler euler --cfg 2 --out figures/mnist-tiny-grid.png')
    .action(async (o: SampleOptions) => {
      await initBackend();
      const run = loadRun(o.run, o.weights);
      const t0 = performance.now();
      const bar = progress({ total: o.steps, label: `sample ${o.classes.length * o.perClass} images` });
      const x = sampleClasses(run, { ...o, onStep: (i) => bar.update(i) });
      bar.done();
      mkdirSync(dirname(o.out), { recursive: true });
      if (o.out.endsWith('.safetensors')) {
        const labels = Int32Array.from(o.classes.flatMap((c) => Array<number>(o.perClass).fill(c)));
        writeSafetensors(o.out, { images: { shape: x.shape, data: x.dataSync() as Float32Array }, labels: { shape: [labels.length], data: labels } }, { sampler: o.sampler, steps: String(o.steps), cfg: String(o.cfg), interval: o.interval.join(','), seed: String(o.seed), run: o.run });
      } else {
        const png = await imageGridPng(x, { cols: o.perClass, rowLabels: o.classes.map((c) => run.classNames?.[c] ?? String(c)), scale: Math.max(1, Math.round(96 / x.shape[1])) });
        writeFileSync(o.out, png);
      }
      console.log(`sampled ${x.shape[0]} images (${o.sampler}, ${o.steps} steps, cfg ${o.cfg}) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${o.out}`);
      x.dispose();
      disposeParams(run.params);
    });
}
