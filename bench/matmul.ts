/**
 * matMul micro-benchmark on the model's shapes: stock tfjs wasm kernels vs the native BLAS
 * override (kernel-lib/backend/native-matmul.ts). Writes bench/matmul-results.json.
 *
 *   npx tsx bench/matmul.ts            (PIXNERD_BLAS_THREADS=n to set the native threads)
 *
 * Columns: stock wasm, native with 1 thread, native with the default threads. On a shared
 * machine the multi-threaded column suffers first (a BLAS thread waits for a free core).
 *
 * Shapes (bench-S: D=384, 6 heads, L=16 tokens, batch B=16; NerF head hx=64, r=2, 16x16 patches):
 * the 2-D qkv projection, attention q k^T and p v over all heads in one batched call, the field's
 * per-patch batched matMul, and the transposeA products the backward pass runs for dW.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../kernel-lib/backend/backend-ladder';
import { disableNativeMatmul, enableNativeMatmul, loadNativeBlas } from '../kernel-lib/backend/native-matmul';

interface Case {
  name: string;
  a: number[];
  b: number[];
  transposeA?: boolean;
  transposeB?: boolean;
}

const D = 384;
const L = 16;
const B = 16;
const H = 6;
const DH = D / H;
const N = 256; // patches in the field case
const P = 256; // pixels per 16x16 patch
const HX = 64;
const HR = 128;

const CASES: Case[] = [
  { name: `2-D qkv [B*L, D] x [D, 3D]`, a: [B * L, D], b: [D, 3 * D] },
  { name: `attention q k^T [B*h, L, Dh] x [B*h, L, Dh]^T`, a: [B * H, L, DH], b: [B * H, L, DH], transposeB: true },
  { name: `attention p v [B*h, L, L] x [B*h, L, Dh]`, a: [B * H, L, L], b: [B * H, L, DH] },
  { name: `field fc1 [N, 256, 64] x [N, 64, 128]`, a: [N, P, HX], b: [N, HX, HR] },
  { name: `dW-like 2-D [B*L, D]^T x [B*L, 3D] (transposeA)`, a: [B * L, D], b: [B * L, 3 * D], transposeA: true },
  { name: `field dW-like [N, 256, 64]^T x [N, 256, 128] (transposeA)`, a: [N, P, HX], b: [N, P, HR], transposeA: true },
];

function flops(c: Case): number {
  const ra = c.a.length;
  const M = c.transposeA ? c.a[ra - 1]! : c.a[ra - 2]!;
  const K = c.transposeA ? c.a[ra - 2]! : c.a[ra - 1]!;
  const rb = c.b.length;
  const Nn = c.transposeB ? c.b[rb - 2]! : c.b[rb - 1]!;
  const batch = c.a.slice(0, -2).reduce((p, d) => p * d, 1);
  return 2 * batch * M * Nn * K;
}

/** Median ms of one matMul: 1 warm-up, then runs until ~0.4 s or 15 runs (at least 3). */
function time(a: tf.Tensor, b: tf.Tensor, c: Case): number {
  const once = () => {
    const t0 = performance.now();
    const out = tf.matMul(a, b, c.transposeA, c.transposeB);
    const ms = performance.now() - t0; // the wasm backend computes synchronously
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

async function main(): Promise<void> {
  const info = await initBackend({ backend: 'wasm', quiet: true });
  const addon = loadNativeBlas();
  const native = enableNativeMatmul();
  console.log(describeBackend(info));
  if (!native.active) console.log(`native BLAS is off (${native.reason}): only the stock column is measured`);
  const rows = [];
  for (const c of CASES) {
    const a = tf.randomNormal(c.a, 0, 1, 'float32', 1);
    const b = tf.randomNormal(c.b, 0, 1, 'float32', 2);
    const mflop = flops(c) / 1e6;
    disableNativeMatmul();
    const stockMs = time(a, b, c);
    const nat = enableNativeMatmul({ threads: 1 });
    const native1Ms = nat.active ? time(a, b, c) : null;
    enableNativeMatmul({ threads: native.threads });
    const nativeMs = nat.active ? time(a, b, c) : null;
    tf.dispose([a, b]);
    const row = {
      name: c.name,
      a: c.a,
      b: c.b,
      transposeA: Boolean(c.transposeA),
      transposeB: Boolean(c.transposeB),
      mflop: Number(mflop.toFixed(2)),
      stock: { ms: Number(stockMs.toFixed(3)), gflops: Number((mflop / stockMs).toFixed(1)) },
      native1: native1Ms === null ? null : { ms: Number(native1Ms.toFixed(3)), gflops: Number((mflop / native1Ms).toFixed(1)) },
      native: nativeMs === null ? null : { threads: native.threads, ms: Number(nativeMs.toFixed(3)), gflops: Number((mflop / nativeMs).toFixed(1)) },
      speedup: nativeMs === null ? null : Number((stockMs / nativeMs).toFixed(1)),
    };
    rows.push(row);
    const fmt = (x: { ms: number; gflops: number } | null) => (x ? `${x.gflops.toFixed(1).padStart(7)} GF/s ${x.ms.toFixed(2).padStart(8)} ms` : '      -');
    console.log(`${c.name.padEnd(58)} ${mflop.toFixed(1).padStart(8)} MFLOP  stock ${fmt(row.stock)}  native 1 thr ${fmt(row.native1)}  native ${native.threads ?? '-'} thr ${fmt(row.native)}  ${row.speedup === null ? '' : `x${row.speedup}`}`);
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?' },
    backend: describeBackend(info),
    native: { ...native, addon: typeof addon === 'string' ? addon : addon.info() },
    cases: rows,
    leakedTensors: tf.memory().numTensors,
  };
  writeFileSync(new URL('./matmul-results.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  console.log('wrote bench/matmul-results.json');
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
