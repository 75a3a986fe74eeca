/**
 * Micro-benchmarks of the kernels that dominate a PixNerd step, on bench-S's shapes
 * (D=384, 6 heads, L=16 tokens, batch B=16; field hx=64, r=2, 16x16 patches, N=256 patches):
 * 2-D and batched matMuls, attention, the field's per-patch matMuls and a whole NerfBlock,
 * RMSNorm, softmax, SiLU and the L2 normalisation of the generated weights.
 *
 * Each case is timed three ways: `stock` (plain tfjs-backend-wasm: every project kernel off),
 * `native1` (the project's kernels, BLAS on 1 thread) and `project` (the project's kernels, BLAS
 * on the default threads). Run by bench/run.ts (`--micro`), which stores the rows in its results file.
 */
import * as tf from '@tensorflow/tfjs';
import { disableWasmKernelOverrides, enableWasmKernelOverrides } from '../kernel-lib/backend/native-kernels';
import { disableNativeMatmul, enableNativeMatmul } from '../kernel-lib/backend/native-matmul';
import { attention } from '../kernel-lib/model/attention';
import { rmsNorm, silu, l2Normalize, type Params } from '../kernel-lib/model/ops';
import { ropeTables } from '../kernel-lib/model/rope';
import { nerfBlock } from '../kernel-lib/heads/nerf-head';

const D = 384;
const L = 16;
const B = 16;
const H = 6;
const DH = D / H;
const N = 256; // patches
const P = 256; // pixels per 16x16 patch
const HX = 64;
const HR = 128;

interface Case {
  name: string;
  /** Analytic FLOPs (multiply-add = 2); 0 where GFLOP/s means nothing (element-wise). */
  flops: number;
  /** Bytes read + written once, for the element-wise kernels' GB/s. */
  bytes?: number;
  /** Makes the inputs; returns the timed function (its result is disposed) and the inputs to free. */
  setup: () => { run: () => tf.Tensor; inputs: tf.Tensor[] };
}

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

function matmulCase(name: string, a: number[], b: number[], tA = false, tB = false): Case {
  const M = tA ? a[a.length - 1]! : a[a.length - 2]!;
  const K = tA ? a[a.length - 2]! : a[a.length - 1]!;
  const Nn = tB ? b[b.length - 2]! : b[b.length - 1]!;
  const batch = a.slice(0, -2).reduce((p, d) => p * d, 1);
  return {
    name,
    flops: 2 * batch * M * Nn * K,
    setup: () => {
      const x = rand(a, 1), y = rand(b, 2);
      return { run: () => tf.matMul(x, y, tA, tB), inputs: [x, y] };
    },
  };
}

function elementwiseCase(name: string, shape: number[], passes: number, f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor): Case {
  const n = shape.reduce((p, d) => p * d, 1);
  return {
    name,
    flops: 0,
    bytes: 4 * n * passes,
    setup: () => {
      const x = rand(shape, 3), w = tf.ones([shape[shape.length - 1]!]);
      return { run: () => f(x, w), inputs: [x, w] };
    },
  };
}

export const MICRO_CASES: Case[] = [
  matmulCase('2-D qkv [B*L, D] x [D, 3D]', [B * L, D], [D, 3 * D]),
  matmulCase('2-D field generator [B*L, D] x [D, 2 hx hr]', [B * L, D], [D, 2 * HX * HR]),
  matmulCase('dW 2-D [B*L, D]^T x [B*L, 3D] (transposeA)', [B * L, D], [B * L, 3 * D], true),
  matmulCase('attention q k^T [B*h, L, Dh] x [B*h, L, Dh]^T', [B * H, L, DH], [B * H, L, DH], false, true),
  matmulCase('attention p v [B*h, L, L] x [B*h, L, Dh]', [B * H, L, L], [B * H, L, DH]),
  matmulCase('field fc1 [N, P, hx] x [N, hx, hr]', [N, P, HX], [N, HX, HR]),
  matmulCase('field fc2 [N, P, hr] x [N, hr, hx]', [N, P, HR], [N, HR, HX]),
  matmulCase('field dW [N, P, hx]^T x [N, P, hr] (transposeA)', [N, P, HX], [N, P, HR], true),
  {
    name: 'attention op [B, L, D] (qkv, q/k RMSNorm, RoPE, softmax, proj)',
    flops: 2 * B * L * 4 * D * D + 4 * B * L * L * D,
    setup: () => {
      const params: Params = {
        'a.qkv.weight': rand([D, 3 * D], 4).mul(0.05),
        'a.q_norm.weight': tf.ones([DH]),
        'a.k_norm.weight': tf.ones([DH]),
        'a.proj.weight': rand([D, D], 5).mul(0.05),
        'a.proj.bias': tf.zeros([D]),
      };
      const z = rand([B, L, D], 6) as tf.Tensor3D;
      const rope = ropeTables(4, 4, DH);
      return { run: () => attention(params, 'a', z, H, rope), inputs: [z, ...Object.values(params)] };
    },
  },
  {
    name: 'NerfBlock [N, P, hx] with generated fc1/fc2',
    flops: 2 * N * P * 2 * HX * HR,
    setup: () => {
      const params: Params = { 'blocks.0.norm.weight': tf.ones([HX]) };
      const z = rand([N, P, HX], 7) as tf.Tensor3D;
      const w = { fc1: rand([N, HX, HR], 8).mul(0.1) as tf.Tensor3D, fc2: rand([N, HR, HX], 9).mul(0.1) as tf.Tensor3D };
      return { run: () => nerfBlock(params, 0, z, w), inputs: [z, w.fc1, w.fc2, ...Object.values(params)] };
    },
  },
  elementwiseCase('RMSNorm trunk [B*L, D]', [B * L, D], 2, (x, w) => rmsNorm(x, w)),
  elementwiseCase('RMSNorm field [N, P, hx]', [N, P, HX], 2, (x, w) => rmsNorm(x, w)),
  elementwiseCase('softmax [B*h, L, L]', [B * H, L, L], 2, (x) => tf.softmax(x)),
  elementwiseCase('SiLU field [N, P, hr]', [N, P, HR], 2, (x) => silu(x)),
  elementwiseCase('L2-normalise fc1 [N, hx, hr] over hx', [N, HX, HR], 2, (x) => l2Normalize(x, 1)),
];

/** Median ms of `run`: 1 warm-up, then repeats until ~0.4 s or 15 runs (at least 3). */
function medianMs(run: () => tf.Tensor): number {
  const once = () => {
    const t0 = performance.now();
    const out = run(); // the wasm backend computes synchronously (no dataSync: it copies at ~0.3 GB/s)
    const ms = performance.now() - t0;
    out.dispose();
    return ms;
  };
  once();
  const times: number[] = [];
  let spent = 0;
  while (times.length < 3 || (spent < 400 && times.length < 15)) {
    const ms = once();
    times.push(ms);
    spent += ms;
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)]!;
}

export interface MicroTiming {
  ms: number;
  gflops: number | null;
  gbps: number | null;
}

export interface MicroRow {
  name: string;
  mflop: number;
  stock: MicroTiming;
  native1: MicroTiming | null;
  project: MicroTiming | null;
  /** stock / project. */
  speedup: number | null;
}

/** Runs every case three ways (see the file comment). Leaves the project's kernels enabled. */
export function microBenchmarks(log: (line: string) => void = () => {}): MicroRow[] {
  const kernels = enableWasmKernelOverrides();
  const native = enableNativeMatmul();
  const threads = native.active ? native.threads : undefined;
  const rows: MicroRow[] = [];
  for (const c of MICRO_CASES) {
    const { run, inputs } = c.setup();
    const timing = (ms: number): MicroTiming => ({
      ms: Number(ms.toFixed(3)),
      gflops: c.flops ? Number((c.flops / 1e6 / ms).toFixed(1)) : null,
      gbps: c.bytes ? Number((c.bytes / 1e6 / ms).toFixed(2)) : null,
    });
    disableNativeMatmul();
    disableWasmKernelOverrides();
    const stock = timing(medianMs(run));
    enableWasmKernelOverrides();
    let native1: MicroTiming | null = null;
    let project: MicroTiming | null = null;
    if (native.active) {
      enableNativeMatmul({ threads: 1 });
      native1 = timing(medianMs(run));
      enableNativeMatmul({ threads });
    }
    if (kernels.active || native.active) project = timing(medianMs(run));
    tf.dispose(inputs);
    const row: MicroRow = { name: c.name, mflop: Number((c.flops / 1e6).toFixed(2)), stock, native1, project, speedup: project ? Number((stock.ms / project.ms).toFixed(1)) : null };
    rows.push(row);
    const fmt = (t: MicroTiming | null) => (t ? `${t.ms.toFixed(2).padStart(8)} ms${t.gflops !== null ? ` ${t.gflops.toFixed(1).padStart(6)} GF/s` : t.gbps !== null ? ` ${t.gbps.toFixed(1).padStart(6)} GB/s` : ''}` : '        -');
    log(`${c.name.padEnd(64)} stock ${fmt(stock)} | 1 thr ${fmt(native1)} | project ${fmt(project)} | x${row.speedup ?? '-'}`);
  }
  return rows;
}
