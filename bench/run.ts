/**
 * The benchmark suite:  npm run bench [-- --quick] [--configs tiny-32/8,bench-S,bench-M,bench-XL-forward]
 *                          [--heads nerf,linear,baseline] [--kernels project,stock] [--reps N]
 *                          [--rounds R] [--no-micro] [--out bench/results.json]
 *                          [--history bench/history.jsonl]
 *
 * First in every round: the machine's fp32 sgemm GFLOP/s ([1024]^3 through the project's matMul
 * path); the run's best is its peak, and every row's GFLOP/s is also given as a fraction of it.
 * Beside it, where the bf16 matMul precision can run (kernel-lib/backend/precision.ts), the same
 * product in bf16 (bf16 products, fp32 sums), reported only. PIXNERD_PRECISION=bf16 runs the
 * sampling forwards in bf16 (the training steps stay fp32).
 * `tiny-32/8` is the main job as it trains (bench's RECIPE_FILE: REPA teacher, x-prediction, EMA,
 * MNIST batches of 32; see benchRecipe); its GFLOP/s count the model's 3 x forward FLOPs only.
 *
 * For each configuration x kernel set x head: the training step (forward + backward + AdamW,
 * after warm-up; median and spread), images/s, one CFG sampling forward (batch doubled), achieved
 * GFLOP/s from the analytic FLOP count (a training step counts 3x the forward), peak RSS and tfjs
 * memory; then the micro-benchmarks of bench/micro.ts. Each case runs in a fresh process, in
 * R rounds (default 3) that go round-robin over the cases with reps / R timed steps each; the
 * samples are pooled (a shared machine's slow spells then hit every head alike). Each run also
 * appends its medians to bench/history.jsonl (`--history ''` to skip), which keeps the spread
 * between runs in view. Peers' times measured elsewhere (REFERENCES) are recorded with their
 * source and printed apart, never divided into this run's. Writes one results file and prints a table.
 *
 * Heads: `nerf` (the config), `linear` (the same trunk with the DiT linear head) and `baseline`
 * (the linear head on a trunk as deep as trunk + field blocks: the paper's Table 1 pairs
 * PixNerd-L/16, 22 + 2 blocks, with Baseline-L/16, 24 blocks). Kernels: `project` (the native
 * BLAS matMuls and the wasm overrides of kernel-lib/backend) or `stock` (plain tfjs-backend-wasm).
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../kernel-lib/backend/backend-ladder';
import { disableWasmKernelOverrides } from '../kernel-lib/backend/native-kernels';
import { disableNativeMatmul, enableNativeMatmul, nativeMatmulActive } from '../kernel-lib/backend/native-matmul';
import { createConfig, type ModelConfig } from '../kernel-lib/config/model-config';
import { PRESETS } from '../kernel-lib/config/presets';
import { forwardFlops } from '../kernel-lib/model/flops';
import { disposeParams, initParams, parameterCount } from '../kernel-lib/model/params';
import { guidedVelocity } from '../kernel-lib/sampling/guidance';
import { modelVelocity } from '../kernel-lib/sampling/sample';
import { writeFileAtomic } from '../kernel-lib/util/atomic-write';
import { microBenchmarks } from './micro';
import { plainTrainStep, recipeTrainStep, type TimedTrainStep } from './train-steps';
import { readFileSync } from 'node:fs';
import { describeFp32Gemm, loadNativeBlas, nativeBf16Support } from '../kernel-lib/backend/native-matmul';
import { withMatmulPrecision, type MatmulPrecision } from '../kernel-lib/backend/precision';
import { experimentFromJson } from '../kernel-lib/runs/experiment';

/**
 * Peers' times, **measured elsewhere**: kept as a record of where they came from, never divided
 * into this run's times (machines of one kind differ by 2x and more). Every row of this run is
 * instead compared with the sgemm peak measured in the same run.
 */
export const REFERENCES: { case: string; what: string; ms: number; peer: string; measured: string }[] = [
  { case: 'bench-S', what: 'training step', ms: 1385, peer: 'PyTorch 1.13 CPU, malloc-tuned', measured: 'issue 16, 2026-12, 2 Zen 5 cores, OPENBLAS_CORETYPE unset' },
  { case: 'bench-S', what: 'CFG forward (batch 32)', ms: 703, peer: 'PyTorch 1.13 CPU, malloc-tuned', measured: 'issue 16, 2026-12, 2 Zen 5 cores, OPENBLAS_CORETYPE unset' },
  { case: 'bench-S', what: 'CFG forward (batch 32)', ms: 210, peer: 'ONNX Runtime 1.31 (onnxruntime-node, 2 threads)', measured: 'issue 16, 2026-12, 2 Zen 5 cores' },
  { case: 'bench-M', what: 'training step', ms: 3282, peer: 'PyTorch 1.13 CPU, malloc-tuned', measured: 'issue 16, 2026-12, 2 Zen 5 cores, OPENBLAS_CORETYPE unset' },
  { case: 'bench-M', what: 'CFG forward', ms: 1060, peer: 'PyTorch 1.13 CPU, malloc-tuned', measured: 'issue 16, 2026-12, 2 Zen 5 cores, OPENBLAS_CORETYPE unset' },
  { case: 'tiny-32/8', what: 'training step (batch 32)', ms: 221, peer: 'PyTorch 1.13 CPU, malloc-tuned', measured: 'issue 16, 2026-12, 2 Zen 5 cores, OPENBLAS_CORETYPE unset' },
];

interface BenchCase {
  config: string;
  model: ModelConfig;
  batch: number;
  /** Only one sampling forward (the XL preset). */
  forwardOnly: boolean;
  /** The whole training step of the main job's recipe (see benchRecipe) instead of benchOne's. */
  recipe?: boolean;
}

/**
 * The tiny-32/8 case: the main job's recipe (experiments/recipe-combo.json's base at its winning
 * lr 2e-3, i.e. experiments/mnist-tiny.json + REPA on block 2 with the MNIST classifier teacher +
 * x-prediction), batch 32: everything one training step of `npm start` does (MNIST batch, teacher
 * forward, loss and gradients, AdamW, EMA), as kernel-lib/training/train.ts runs it.
 */
export const RECIPE_FILE = 'experiments/recipe-combo.json';

const CASES: Record<string, Omit<BenchCase, 'model'> & { model: () => ModelConfig }> = {
  'bench-S': { config: 'bench-S', model: () => PRESETS['bench-S'], batch: 16, forwardOnly: false },
  'bench-M': { config: 'bench-M', model: () => PRESETS['bench-M'], batch: 8, forwardOnly: false },
  'bench-XL-forward': { config: 'bench-XL-forward', model: () => createConfig({ numClasses: 10 }, PRESETS['PixNerd-XL/16']), batch: 1, forwardOnly: true },
  'tiny-32/8': { config: 'tiny-32/8', model: () => PRESETS['tiny-32/8'], batch: 32, forwardOnly: false, recipe: true },
};

/** The recipe's experiment (base + the x-lr2e-3 variant's lr). */
function recipeExperiment() {
  const j = JSON.parse(readFileSync(RECIPE_FILE, 'utf8')) as { base: { train: { optimizer: { lr: number } } } };
  j.base.train.optimizer.lr = 2e-3;
  return experimentFromJson(j.base, {}, RECIPE_FILE);
}

/** Timed training steps of the recipe (see RECIPE_FILE), one sampling forward too. */
async function benchRecipe(c: BenchCase, reps: number, warmup: Warmup) {
  const exp = recipeExperiment();
  const { model, train } = exp;
  if (train.batchSize !== c.batch) throw new Error(`${RECIPE_FILE}: batch ${train.batchSize}, the case says ${c.batch}`);
  const result: Record<string, unknown> = { parameters: parameterCount(model), batch: c.batch, imageSize: model.imageSize, recipe: `${RECIPE_FILE} base, lr 2e-3 (REPA block ${train.repa.alignLayer}, ${train.prediction}-prediction, EMA, ${exp.data.dataset})` };
  peakRss = process.memoryUsage().rss;
  const s = await recipeTrainStep(exp);
  const ms = await timeSteps(s, reps, warmup.train);
  result.trainStep = { ...stats(ms), samples: ms };
  result.tfjsBytesTrain = tf.memory().numBytes;
  {
    const x = tf.randomNormal([c.batch, model.imageSize, model.imageSize, model.inChannels], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: c.batch }, (_, i) => i % model.numClasses), 'int32');
    const vm = modelVelocity(s.state.ema, model, train.prediction);
    const fwd = await timeIt(() => guidedVelocity(vm, x, 0.5, y, { scale: 2, interval: [0.1, 1], nullLabel: model.numClasses }).dataSync(), reps, warmup.forward);
    result.sampleForward = { ...stats(fwd), samples: fwd };
    tf.dispose([x, y]);
  }
  s.dispose();
  result.peakRssBytes = peakRss;
  return result;
}

/**
 * The machine's fp32 matMul rate in this run: the best of `reps` [1024, 1024] x [1024, 1024]
 * products through the project's matMul path (native BLAS where it is on), GFLOP/s. The
 * denominator of every row's `fractionOfPeak`, so that a slow (or busy) machine can be told
 * from slow code. Where bf16 matMuls can run, the same products in bf16, interleaved with the
 * fp32 ones (`bf16Gflops`, best; `bf16MedianGflops`; `bf16`: what runs them, or what is missing).
 */
async function sgemmPeak(reps: number): Promise<Record<string, unknown>> {
  const n = 1024;
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1), b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const bf16 = nativeBf16Support();
  const product = (p: MatmulPrecision) => () => withMatmulPrecision(p, () => tf.matMul(a, b)).dispose();
  const rounds = Math.max(5, reps);
  const ms: number[] = [];
  const bfMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ms.push(...(await timeIt(product('fp32'), 1, i === 0 ? 2 : 0)));
    if (bf16.available) bfMs.push(...(await timeIt(product('bf16'), 1, i === 0 ? 2 : 0)));
  }
  tf.dispose([a, b]);
  const gflops = (t: number) => (2 * n ** 3) / 1e9 / (t / 1000);
  const addon = loadNativeBlas();
  const info = typeof addon === 'string' || !nativeMatmulActive() ? null : addon.info();
  return {
    shape: `[${n}, ${n}] x [${n}, ${n}]`,
    gflops: gflops(Math.min(...ms)),
    medianGflops: gflops(stats(ms).median),
    blas: info ? `${describeFp32Gemm(info)}, ${info.threads} threads` : 'stock wasm',
    openblasCoretype: process.env.OPENBLAS_CORETYPE ?? null,
    ...(bfMs.length ? { bf16Gflops: gflops(Math.min(...bfMs)), bf16MedianGflops: gflops(stats(bfMs).median), bf16: bf16.available ? bf16.how : null } : { bf16Gflops: null, bf16: bf16.available ? null : bf16.missing }),
  };
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * (s.length - 1) + 0.5))]!;
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/**
 * Untimed calls before the timed ones, per case process: sampling forwards 2, training steps 10
 * (`--quick`: 1 each). A training step keeps getting faster over a process's first ~12 steps (V8
 * optimising tfjs's code paths as they warm, the heap settling): two 42-step bench-S runs
 * (2026-12-07) gave medians of 318 / 346 ms over steps 3-12 and 301 / 327 ms over steps 13-42.
 * With 2 warm-up steps and ~4 timed steps a round, the bench timed that warm-up (before
 * 2026-12-07); a training run is thousands of steps, and its steady state is what a step costs.
 */
interface Warmup {
  forward: number;
  train: number;
}
const warmupFor = (quick: boolean): Warmup => (quick ? { forward: 1, train: 1 } : { forward: 2, train: 10 });

/** `reps` timed calls of `fn` after `warmup` untimed ones, ms; RSS sampled after every call. */
async function timeIt(fn: () => unknown, reps: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) {
    await fn();
    sampleRss();
  }
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
    sampleRss();
  }
  return out;
}

/** timeIt over training steps; throws where the steps leak tensors. */
async function timeSteps(s: TimedTrainStep, reps: number, warmup: number): Promise<number[]> {
  const tensors0 = tf.memory().numTensors;
  const ms = await timeIt(() => s.step(), reps, warmup);
  if (tf.memory().numTensors !== tensors0) throw new Error(`tensors leaked: ${tf.memory().numTensors - tensors0}`);
  return ms;
}

let peakRss = 0;
/** The compute is synchronous (no timer fires during it): sample RSS after every repetition. */
const sampleRss = () => void (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function benchOne(c: BenchCase, reps: number, warmup: Warmup) {
  const { model, batch } = c;
  const H = model.imageSize;
  const result: Record<string, unknown> = { parameters: parameterCount(model), batch, imageSize: H };
  peakRss = process.memoryUsage().rss;
  // one CFG sampling forward: the batch doubled (unconditional half + conditional half)
  {
    const params = initParams(model, 0);
    const x = tf.randomNormal([batch, H, H, model.inChannels], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % model.numClasses), 'int32');
    const vm = modelVelocity(params, model, 'v');
    const ms = await timeIt(() => guidedVelocity(vm, x, 0.5, y, { scale: 3.5, interval: [0.1, 1], nullLabel: model.numClasses }).dataSync(), reps, c.forwardOnly ? 1 : warmup.forward);
    result.sampleForward = { ...stats(ms), samples: ms };
    result.tfjsBytesForward = tf.memory().numBytes;
    tf.dispose([x, y]);
    disposeParams(params);
  }
  if (!c.forwardOnly) {
    const s = plainTrainStep(model, batch);
    const ms = await timeSteps(s, reps, warmup.train);
    result.trainStep = { ...stats(ms), samples: ms };
    result.tfjsBytesTrain = tf.memory().numBytes;
    s.dispose();
  }
  result.peakRssBytes = peakRss;
  return result;
}

export type BenchHead = 'nerf' | 'linear' | 'baseline';
const HEADS: readonly BenchHead[] = ['nerf', 'linear', 'baseline'];
type Kernels = 'project' | 'stock';

/** The model a bench head runs: see the file comment. */
export function headModel(base: ModelConfig, head: BenchHead): ModelConfig {
  if (head === 'nerf') return base;
  const fieldBlocks = base.head.kind === 'nerf' ? base.head.blocks : 0;
  return createConfig({ head: { kind: 'linear' }, depth: head === 'baseline' ? base.depth + fieldBlocks : base.depth }, base);
}

/** One case in this process: prints its result as one JSON line. */
async function runCase(spec: string, reps: number, warmup: Warmup): Promise<void> {
  if (spec === 'sgemm') {
    await initBackend({ quiet: true });
    return void console.log(JSON.stringify(await sgemmPeak(reps)));
  }
  if (spec === 'micro') {
    await initBackend({ backend: 'wasm', quiet: true });
    const rows = microBenchmarks((line) => console.error(line));
    return void console.log(JSON.stringify({ micro: rows, leakedTensors: tf.memory().numTensors }));
  }
  const [name, head, kernels] = spec.split(':') as [string, BenchHead, Kernels];
  const base = CASES[name];
  if (!base) throw new Error(`unknown config ${name}`);
  const info = await initBackend({ quiet: true });
  if (info.backend === 'wasm' && kernels === 'stock') {
    disableNativeMatmul();
    disableWasmKernelOverrides();
  } else if (info.backend === 'wasm') {
    const s = enableNativeMatmul();
    if (!s.active) return void console.log(JSON.stringify({ skipped: s.reason }));
  }
  const model = headModel(base.model(), head);
  try {
    const r = base.recipe ? await benchRecipe({ ...base, model }, reps, warmup) : await benchOne({ ...base, model }, reps, warmup);
    console.log(JSON.stringify(r));
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).message }));
  }
}

/** Runs `--case spec` in a fresh process (the wasm heap never shrinks, so cases must not share it). */
function subprocess(spec: string, reps: number, quick: boolean): Record<string, unknown> {
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--case', spec, '--reps', String(reps), ...(quick ? ['--quick'] : [])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (e) {
    const err = e as { stdout?: string; message: string };
    return { error: (err.stdout?.trim().split('\n').pop() || err.message).slice(0, 300) };
  }
}

type Row = Record<string, any>;

/**
 * One row from the rounds of a case: the samples of every round pooled, then the statistics;
 * peak RSS the largest. Rounds run the cases round-robin, so a slow spell of a shared machine
 * falls on every head alike instead of on whichever case ran then.
 */
function mergeRounds(parts: Row[]): Row {
  const failed = parts.find((r) => r.error);
  if (failed) return { error: failed.error };
  const pool = (key: 'sampleForward' | 'trainStep') => {
    if (!parts[0]![key]) return undefined;
    const samples = parts.flatMap((r) => r[key].samples as number[]);
    return { ...stats(samples), samples };
  };
  const last = parts[parts.length - 1]!;
  return { ...last, sampleForward: pool('sampleForward'), trainStep: pool('trainStep'), peakRssBytes: Math.max(...parts.map((r) => r.peakRssBytes as number)) };
}

/**
 * Each round's own numbers: its median step and forward against the sgemm peak measured at the
 * start of that round, a minute or two before, where the pooled columns divide the median of
 * every round's samples by the best peak of the whole run. The machine's speed drifts 10-20 %
 * within minutes (its sgemm peak too: 324-389 GFLOP/s in one hour of 2026-12-07), so a fast
 * round's peak over a slow round's steps understates the fraction, and the other way round;
 * `fractionOfRoundPeak` (the median over rounds) pairs each step with the machine of its moment.
 */
function perRound(parts: Row[], fwd: number): Row {
  const rounds = parts.filter((r) => r.roundPeak).map((r) => {
    const out: Row = { peakGflops: r.roundPeak, sampleForwardMs: r.sampleForward.median, sampleFraction: (2 * fwd) / 1e9 / (r.sampleForward.median / 1000) / r.roundPeak };
    if (r.trainStep) Object.assign(out, { trainMs: r.trainStep.median, trainFraction: (3 * fwd) / 1e9 / (r.trainStep.median / 1000) / r.roundPeak });
    return out;
  });
  const med = (xs: number[]) => (xs.length ? stats(xs).median : null);
  return {
    rounds,
    trainFractionOfRoundPeak: med(rounds.filter((r) => r.trainFraction !== undefined).map((r) => r.trainFraction as number)),
    sampleFractionOfRoundPeak: med(rounds.map((r) => r.sampleFraction as number)),
  };
}

/**
 * The neural field's cost over a linear-head model, measured and by the analytic FLOP count:
 * vs `linear` (same trunk) and vs `baseline` (equal depth, the paper's Table 1 comparison).
 */
function overheads(rows: Row[]): void {
  for (const r of rows) {
    if (r.head !== 'nerf' || r.error) continue;
    const over: Row = {};
    for (const other of ['linear', 'baseline'] as const) {
      const o = rows.find((x) => x.config === r.config && x.kernels === r.kernels && x.head === other && !x.error);
      if (!o) continue;
      over[other] = {
        trainStep: r.trainStep && o.trainStep ? r.trainStep.median / o.trainStep.median - 1 : null,
        sampleForward: r.sampleForward.median / o.sampleForward.median - 1,
        flops: r.forwardGflop / o.forwardGflop - 1,
      };
    }
    r.nfOverhead = over;
  }
}

/**
 * One line of the run history (bench/history.jsonl): every run's medians, so the spread between
 * runs on a shared machine stays visible next to the latest results.json.
 */
function historyLine(out: { date: string; backend: string; reps: number; rows: Row[]; sgemmPeak: Row | null }): Row {
  return {
    date: out.date,
    sgemmGflops: out.sgemmPeak?.gflops ?? null,
    bf16Gflops: out.sgemmPeak?.bf16Gflops ?? null,
    backend: out.backend,
    reps: out.reps,
    rows: out.rows
      .filter((r) => !r.error)
      .map((r) => ({ config: r.config, head: r.head, kernels: r.kernels, rounds: r.rounds, trainMs: r.trainStep?.median ?? null, imagesPerSec: r.trainStep?.imagesPerSec ?? null, fractionOfPeak: r.trainStep?.fractionOfPeak ?? null, sampleForwardMs: r.sampleForward.median, sampleFractionOfPeak: r.sampleForward.fractionOfPeak ?? null, peakRssBytes: r.peakRssBytes })),
  };
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)} %`);

function printTable(rows: Row[], peak: Row | null): void {
  if (peak) console.log(`\nsgemm peak this run: ${(peak.gflops as number).toFixed(0)} GFLOP/s, ${peak.shape}, ${peak.blas} (best of ${peak.rounds} rounds)${peak.bf16Gflops ? `; bf16 ${(peak.bf16Gflops as number).toFixed(0)} GFLOP/s (${peak.bf16})` : ''}`);
  const ofPeak = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(0)} %`);
  console.log('\n| config | head | kernels | train step ms (p10-p90) | img/s | train GFLOP/s | of sgemm peak | CFG forward ms | CFG GFLOP/s | of sgemm peak | NF overhead train / fwd / FLOPs | peak RSS GiB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    if (r.error) {
      console.log(`| ${r.config} | ${r.head} | ${r.kernels} | error: ${r.error} |`);
      continue;
    }
    const t = r.trainStep, s = r.sampleForward;
    const o = r.nfOverhead?.baseline ?? r.nfOverhead?.linear;
    const vs = r.nfOverhead?.baseline ? 'vs baseline' : 'vs linear';
    console.log(
      `| ${r.config} | ${r.head} | ${r.kernels} | ${t ? `${t.median.toFixed(0)} (${t.p10.toFixed(0)}-${t.p90.toFixed(0)})` : '-'} | ${t ? t.imagesPerSec.toFixed(1) : '-'} | ${t ? t.gflops.toFixed(1) : '-'} | ${ofPeak(t?.fractionOfPeak)} | ${s.median.toFixed(0)} | ${s.gflops.toFixed(1)} | ${ofPeak(s.fractionOfPeak)} | ${o ? `${pct(o.trainStep)} / ${pct(o.sampleForward)} / ${pct(o.flops)} ${vs}` : '-'} | ${(r.peakRssBytes / 2 ** 30).toFixed(2)} |`,
    );
  }
  const multi = rows.filter((r) => !r.error && r.perRound?.rounds.length > 1);
  if (multi.length) {
    console.log("\nPer round, each round's median against the sgemm peak measured at its start (median of rounds):");
    const pcts = (xs: (number | undefined)[], m: number | null) => `${xs.map((x) => (x === undefined ? '-' : `${(100 * x).toFixed(0)} %`)).join(' / ')} (${m === null ? '-' : `${(100 * m).toFixed(0)} %`})`;
    for (const r of multi) {
      const rr = r.perRound.rounds as Row[];
      const train = r.trainStep ? `train ${pcts(rr.map((x) => x.trainFraction), r.perRound.trainFractionOfRoundPeak)}, ` : '';
      console.log(`  ${r.config} ${r.head} ${r.kernels}: ${train}CFG forward ${pcts(rr.map((x) => x.sampleFraction), r.perRound.sampleFractionOfRoundPeak)}; peaks ${rr.map((x) => (x.peakGflops as number).toFixed(0)).join(' / ')} GFLOP/s`);
    }
  }
  console.log('\nPeers, measured elsewhere (not comparable with this run; see REFERENCES):');
  for (const ref of REFERENCES) console.log(`  ${ref.case} ${ref.what}: ${ref.ms} ms, ${ref.peer} (${ref.measured})`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      configs: { type: 'string', default: 'tiny-32/8,bench-S,bench-M,bench-XL-forward' },
      heads: { type: 'string', default: HEADS.join(',') },
      kernels: { type: 'string', default: 'project,stock' },
      'stock-configs': { type: 'string', default: 'bench-S' },
      reps: { type: 'string' },
      rounds: { type: 'string' },
      'no-micro': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results.json' },
      history: { type: 'string', default: 'bench/history.jsonl' },
      case: { type: 'string' },
    },
  });
  const reps = Number(values.reps ?? (values.quick ? 3 : 10));
  const quick = values.quick!;
  if (values.case) return runCase(values.case, reps, warmupFor(quick));
  const info = await initBackend();
  const heads = values.heads!.split(',') as BenchHead[];
  for (const h of heads) if (!HEADS.includes(h)) throw new Error(`unknown head ${h} (known: ${HEADS.join(', ')})`);
  const stockConfigs = new Set(values['stock-configs']!.split(','));
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: a positive integer expected`);
  // The cases to run, in order; project-kernel cases once per round (stock ones, slow, only in the first).
  const cases: { name: string; kernels: Kernels; head: BenchHead }[] = [];
  for (const name of values.configs!.split(',')) {
    if (!CASES[name]) throw new Error(`unknown config ${name} (known: ${Object.keys(CASES).join(', ')})`);
    for (const kernels of values.kernels!.split(',') as Kernels[]) {
      if (kernels !== 'project' && kernels !== 'stock') throw new Error(`unknown kernel set ${kernels} (known: project, stock)`);
      // plain wasm is the comparison: only on wasm, and only on the configs asked for (it is slow)
      if (kernels === 'stock' && (info.backend !== 'wasm' || !stockConfigs.has(name))) continue;
      // the recipe case is the main job's model as it trains: nerf head only
      for (const head of heads) if (!CASES[name]!.recipe || head === 'nerf') cases.push({ name, kernels, head });
    }
  }
  const parts = new Map<string, Row[]>();
  const peaks: Row[] = [];
  let roundPeak: number | null = null; // this round's sgemm GFLOP/s, kept with its cases' results
  const measurePeak = () => {
    const r = subprocess('sgemm', reps, quick);
    roundPeak = r.error ? null : (r.gflops as number);
    if (!r.error) peaks.push(r);
    console.log(`sgemm peak ... ${r.error ? `failed: ${r.error}` : `${(r.gflops as number).toFixed(0)} GFLOP/s (${r.blas})${r.bf16Gflops ? `; bf16 ${(r.bf16Gflops as number).toFixed(0)} GFLOP/s` : ''}`}`);
  };
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) console.log(`\nround ${round + 1}/${rounds}`);
    measurePeak(); // every round, beside the cases: the best is this run's peak
    for (const { name, kernels, head } of cases) {
      if (kernels === 'stock' && round > 0) continue;
      const n = kernels === 'stock' ? Math.min(reps, 3) : Math.ceil(reps / rounds);
      process.stdout.write(`${name} ${head} ${info.backend}/${kernels} ... `);
      const r = subprocess(`${name}:${head}:${kernels}`, n, quick || kernels === 'stock');
      if (r.skipped) console.log(`skipped: ${r.skipped}`);
      else if (r.error) console.log(`failed: ${r.error}`);
      else {
        const tr = r.trainStep as { median: number } | undefined;
        console.log(`train ${tr ? tr.median.toFixed(0) + ' ms' : '-'}  sample-forward ${(r.sampleForward as { median: number }).median.toFixed(0)} ms  peak RSS ${((r.peakRssBytes as number) / 2 ** 30).toFixed(2)} GiB`);
      }
      const key = `${name}:${head}:${kernels}`;
      parts.set(key, [...(parts.get(key) ?? []), { ...r, roundPeak }]);
    }
  }
  // the best sgemm of the run: what this machine (as busy as it was) can do
  const bf16Peaks = peaks.map((r) => r.bf16Gflops as number | null).filter((g): g is number => g !== null);
  const peak: Row | null = peaks.length
    ? { ...peaks.reduce((a, b) => ((b.gflops as number) > (a.gflops as number) ? b : a)), rounds: peaks.length, allGflops: peaks.map((r) => r.gflops), bf16Gflops: bf16Peaks.length ? Math.max(...bf16Peaks) : null, allBf16Gflops: bf16Peaks }
    : null;
  if (peak?.openblasCoretype) console.log(`note: OPENBLAS_CORETYPE=${peak.openblasCoretype} forces OpenBLAS's ${peak.openblasCoretype} kernels (unset it for the CPU's own; the bench leaves the environment as it is)${/oneDNN/.test(String(peak.blas)) ? '; it does not apply here: fp32 products run oneDNN, which picks its kernels from the CPU' : ''}`);
  const rows: Row[] = [];
  for (const { name, kernels, head } of cases) {
    const got = parts.get(`${name}:${head}:${kernels}`)!;
    if (got.some((r) => r.skipped)) continue;
    const base = CASES[name]!;
    const model = headModel(base.model(), head);
    const fwd = forwardFlops(model, base.batch).total;
    const row: Row = { config: name, head, backend: info.backend, kernels, depth: model.depth, forwardGflop: fwd / 1e9, rounds: got.length, ...mergeRounds(got) };
    if (!row.error) {
      row.sampleForward.gflops = (2 * fwd) / 1e9 / (row.sampleForward.median / 1000);
      if (row.trainStep) Object.assign(row.trainStep, { imagesPerSec: (1000 * base.batch) / row.trainStep.median, gflops: (3 * fwd) / 1e9 / (row.trainStep.median / 1000) });
      if (peak) {
        row.sampleForward.fractionOfPeak = row.sampleForward.gflops / (peak.gflops as number);
        if (row.trainStep) row.trainStep.fractionOfPeak = row.trainStep.gflops / (peak.gflops as number);
      }
      row.perRound = perRound(got, fwd);
    }
    rows.push(row);
  }
  overheads(rows);
  let micro: unknown = null;
  if (!values['no-micro'] && info.backend === 'wasm') {
    console.log('\nmicro-benchmarks (bench-S shapes): stock wasm | project kernels, BLAS 1 thread | project kernels');
    micro = subprocess('micro', reps, quick);
  }
  const out = { date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version }, backend: describeBackend(info), reps, warmup: warmupFor(quick), referencesMeasuredElsewhere: REFERENCES, sgemmPeak: peak, rows, micro };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileAtomic(values.out!, JSON.stringify(out, null, 2) + '\n');
  printTable(rows, peak);
  if (values.history) appendFileSync(values.history, JSON.stringify(historyLine(out)) + '\n');
  console.log(`\nwrote ${values.out}${values.history ? ` and a line of ${values.history}` : ''}`);
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exit(1);
});
