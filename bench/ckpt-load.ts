/**
 * Loading an XL/16-sized PyTorch checkpoint: time and peak memory.
 *
 *   npx tsx bench/ckpt-load.ts [--out /tmp/pixnerd-xl16-synthetic.ckpt] [--optimizer] [--keep]
 *                              [--reuse FILE] [--modes read,model]
 *
 * Writes a synthetic Lightning-shaped .ckpt for the 'PixNerd-XL/16' preset with this library's
 * own writer (torch-save.ts): `state_dict` with `ema_denoiser.*` and `denoiser.*` (both float32,
 * ~2.8 GB each), `diffusion_trainer.proj.*`, `loops`, and with --optimizer also
 * `optimizer_states` (AdamW exp_avg + exp_avg_sq: 5.6 GB more). Then, each in a fresh process:
 *  - read:  openWeights + every chosen tensor read into Float32Arrays (kept alive);
 *  - model: openWeights + referenceParams (tf.Variables on the default backend), as the CLI does.
 * Each reports open / read time and peak RSS (getrusage maxrss) against the bytes of the weights
 * loaded (target: peak RSS <= 1.3x). The file is deleted at the end unless --keep.
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { PRESETS } from '../kernel-lib/config/presets';
import { paramSpecs } from '../kernel-lib/model/params';
import { referenceShape } from '../kernel-lib/checkpoint/reference-checkpoint';
import { saveTorchCheckpoint, contiguousStrides, type SaveValue, type StorageToSave } from '../kernel-lib/checkpoint/torch-save';

const PRESET = 'PixNerd-XL/16';
const POOL_FLOATS = 1 << 24; // 64 MB of pseudo-random float32 that every storage's bytes are cut from

/** Deterministic pseudo-random floats in [-0.05, 0.05). */
function randomPool(): Float32Array {
  const pool = new Float32Array(POOL_FLOATS);
  let s = 12345;
  for (let i = 0; i < pool.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    pool[i] = ((s >>> 8) / 16777216 - 0.5) * 0.1;
  }
  return pool;
}

/** A float32 storage of `numel` elements streamed from the pool (starting at a seed-dependent place). */
function poolStorage(pool: Float32Array, numel: number, seed: number): StorageToSave {
  return {
    dtype: 'float32',
    numel,
    data: function* () {
      let left = numel;
      let at = (seed * 7919) % POOL_FLOATS;
      while (left > 0) {
        const n = Math.min(left, POOL_FLOATS - at);
        const f = pool.subarray(at, at + n);
        yield new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
        left -= n;
        at = 0;
      }
    },
  };
}

function tensor(pool: Float32Array, shape: number[], seed: number): SaveValue {
  const numel = shape.reduce((a, b) => a * b, 1);
  return { kind: 'tensor', storage: poolStorage(pool, numel, seed), offset: 0, shape, stride: contiguousStrides(shape) };
}

/** Writes the synthetic checkpoint; returns its size. */
function writeSynthetic(path: string, withOptimizer: boolean): number {
  const pool = randomPool();
  const specs = paramSpecs(PRESETS[PRESET]).map((s) => ({ name: s.name, shape: referenceShape(s) }));
  let seed = 0;
  const sd = new Map<string, SaveValue>();
  for (const prefix of ['denoiser.', 'ema_denoiser.']) for (const s of specs) sd.set(prefix + s.name, tensor(pool, s.shape, seed++));
  sd.set('diffusion_trainer.proj.0.weight', tensor(pool, [2048, 1152], seed++));
  sd.set('diffusion_trainer.proj.0.bias', tensor(pool, [2048], seed++));
  const root = new Map<string, SaveValue>([
    ['epoch', 319],
    ['global_step', 1600000],
    ['pytorch-lightning_version', '2.4.0'],
    ['state_dict', sd],
    ['loops', new Map([['fit_loop', new Map([['epoch_progress', new Map([['completed', 319]])]])]])],
  ]);
  if (withOptimizer) {
    const state = new Map<number, SaveValue>();
    specs.forEach((s, i) => state.set(i, new Map<string, SaveValue>([['exp_avg', tensor(pool, s.shape, seed++)], ['exp_avg_sq', tensor(pool, s.shape, seed++)]])));
    root.set('optimizer_states', [new Map<string, SaveValue>([['state', state]])]);
  }
  root.set('lr_schedulers', []);
  return saveTorchCheckpoint(path, root);
}

interface ChildResult {
  mode: string;
  summary: string;
  tensors: number;
  loadedBytes: number;
  openMs: number;
  readMs: number;
  baseRss: number;
  peakRss: number;
  backend?: string;
}

/** Runs in a fresh process: load, then report on stdout as one JSON line. */
async function child(mode: 'read' | 'model', path: string): Promise<void> {
  const { openWeights, weightsConfig } = await import('../kernel-lib/checkpoint/open-weights');
  let backend: string | undefined;
  if (mode === 'model') {
    const { initBackend } = await import('../kernel-lib/backend/backend-ladder');
    backend = (await initBackend({ quiet: true })).backend;
  }
  const baseRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const w = await openWeights(path);
  const openMs = performance.now() - t0;
  const keep: (Float32Array | Int32Array)[] = [];
  let loadedBytes = 0;
  const t1 = performance.now();
  if (mode === 'read') {
    for (const t of w.tensors.values()) {
      const data = t.read();
      keep.push(data);
      loadedBytes += data.byteLength;
    }
  } else {
    const { referenceParams } = await import('../kernel-lib/checkpoint/reference-checkpoint');
    const params = referenceParams(weightsConfig(w), w.tensors, '', w.path);
    for (const p of Object.values(params)) loadedBytes += 4 * p.size;
  }
  const readMs = performance.now() - t1;
  w.close();
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const r: ChildResult = { mode, summary: w.summary, tensors: w.tensors.size, loadedBytes, openMs, readMs, baseRss, peakRss, backend };
  console.log(JSON.stringify(r));
  if (keep.length < 0) console.log(keep); // keep the arrays alive until the peak is taken
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: '/tmp/pixnerd-xl16-synthetic.ckpt' },
      optimizer: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      /** Measure an existing file (not written, not deleted). */
      reuse: { type: 'string' },
      modes: { type: 'string', default: 'read,model' },
      child: { type: 'string' },
      path: { type: 'string' },
    },
  });
  if (values.child) return child(values.child as 'read' | 'model', values.path!);
  const path = values.reuse ?? values.out!;
  try {
    if (!values.reuse) {
      const t0 = performance.now();
      const size = writeSynthetic(path, values.optimizer!);
      console.log(`wrote ${path}: ${gb(size)} (${PRESET}, ${values.optimizer ? 'with' : 'without'} optimizer_states) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    for (const mode of values.modes!.split(',') as ('read' | 'model')[]) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/ckpt-load.ts', '--child', mode, '--path', path], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const r = JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
      console.log(`\n[${mode}${r.backend ? `, ${r.backend} backend` : ''}] ${r.summary}`);
      console.log(`  open (zip + data.pkl): ${r.openMs.toFixed(0)} ms; read ${r.tensors} tensors: ${(r.readMs / 1000).toFixed(2)} s (${(r.loadedBytes / 1e6 / (r.readMs / 1000)).toFixed(0)} MB/s)`);
      console.log(`  weights loaded ${gb(r.loadedBytes)}; RSS before ${gb(r.baseRss)}, peak ${gb(r.peakRss)} = ${(r.peakRss / r.loadedBytes).toFixed(3)}x the weights (target <= 1.3x)`);
    }
    console.log(`\nfile size ${gb(statSync(path).size)}`);
  } finally {
    if (!values.keep && !values.reuse) rmSync(path, { force: true });
  }
}

await main();
