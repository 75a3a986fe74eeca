/**
 * The backend ladder: pick the fastest tfjs backend that loads on this machine.
 *
 *   tensorflow (tfjs-node-gpu, then tfjs-node)  >  wasm (SIMD)  >  cpu
 *
 * `PIXNERD_BACKEND=tensorflow|wasm|cpu` (or `initBackend({backend})`) forces one; a forced
 * backend that cannot load is an error, never a silent fallback. Call `await initBackend()`
 * before creating any tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { registerWasmKernels } from './wasm-kernels';
import { projectRequire } from '../util/load-module';
import { enableNativeMatmul } from './native-matmul';
import { enableWasmKernelOverrides } from './native-kernels';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  backend: BackendName;
  /** The npm package that provides it. */
  package: string;
  /** Threads the backend computes with (wasm in Node: always 1). */
  threads: number;
  /** wasm SIMD (null where it does not apply). */
  simd: boolean | null;
  tfjsVersion: string;
  /** Which matMul implementation runs (native BLAS add-on or the backend's own) and why. */
  matmul: string;
  /** Why this backend: forced, or what failed above it on the ladder. */
  reason: string;
}

let current: BackendInfo | null = null;

/**
 * Why a tfjs-node package cannot load, checked without loading it, or null when its native
 * binding (lib/napi-v<N>/tfjs_binding.node, built from libtensorflow by its install script) is
 * there. Requiring a package that has no binding registers its kernels before it fails, and the
 * second package then prints one "already registered" line per kernel on stderr.
 */
export function missingBinding(pkg: string, require: { resolve(id: string): string } = projectRequire()): string | null {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return 'not installed';
  }
  const lib = join(dir, 'lib');
  const built = existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  return built ? null : 'installed without its native binding (its install script, which downloads libtensorflow, did not run or failed)';
}

/** Tries to load the native TensorFlow binding; returns the package name or the failure. */
function loadTensorflowBinding(): { pkg: string } | { error: string } {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    const missing = missingBinding(pkg);
    if (missing) {
      errors.push(`${pkg}: ${missing}`);
      continue;
    }
    try {
      projectRequire()(pkg);
      return { pkg };
    } catch (e) {
      errors.push(`${pkg}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { error: errors.join('; ') };
}

async function tryTensorflow(): Promise<BackendInfo | string> {
  const loaded = loadTensorflowBinding();
  if ('error' in loaded) return loaded.error;
  if (!(await tf.setBackend('tensorflow'))) return `${loaded.pkg} loaded but the tensorflow backend failed to initialise`;
  return {
    backend: 'tensorflow',
    package: loaded.pkg,
    threads: 0,
    simd: null,
    tfjsVersion: tf.version.tfjs,
    matmul: 'libtensorflow',
    reason: '',
  };
}

async function tryWasm(): Promise<BackendInfo | string> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return `@tensorflow/tfjs-backend-wasm: ${(e as Error).message.split('\n')[0]}`;
  }
  if (!(await tf.setBackend('wasm'))) return '@tensorflow/tfjs-backend-wasm failed to initialise';
  registerWasmKernels();
  const native = enableNativeMatmul();
  enableWasmKernelOverrides(); // zero-copy Identity/Cast/Slice, one-pass Sum, fused kernels (add-on)
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  return {
    backend: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    threads: wasm.getThreadsCount(),
    simd,
    tfjsVersion: tf.version.tfjs,
    matmul: native.active
      ? native.reason
      : `stock wasm (XNNPACK for 2-D; batched and transposed matMuls are slow) — native BLAS off: ${native.reason}`,
    reason: '',
  };
}

async function tryCpu(): Promise<BackendInfo | string> {
  if (!(await tf.setBackend('cpu'))) return 'cpu backend failed to initialise';
  return {
    backend: 'cpu',
    package: '@tensorflow/tfjs-backend-cpu',
    threads: 1,
    simd: null,
    tfjsVersion: tf.version.tfjs,
    matmul: 'plain JS',
    reason: '',
  };
}

const TRY: Record<BackendName, () => Promise<BackendInfo | string>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Selects and initialises a backend (once; later calls return the same info unless a
 * different backend is asked for). `backend` overrides `PIXNERD_BACKEND`.
 */
export async function initBackend(opts: { backend?: BackendName; quiet?: boolean } = {}): Promise<BackendInfo> {
  const forcedRaw = opts.backend ?? process.env.PIXNERD_BACKEND;
  const forced = forcedRaw === undefined || forcedRaw === '' ? undefined : forcedRaw;
  if (forced !== undefined && !BACKEND_NAMES.includes(forced as BackendName)) {
    throw new Error(`unknown backend "${forced}" (PIXNERD_BACKEND must be one of ${BACKEND_NAMES.join(', ')})`);
  }
  if (current && (forced === undefined || forced === current.backend) && tf.getBackend() === current.backend) {
    return current;
  }
  let info: BackendInfo;
  if (forced !== undefined) {
    const r = await TRY[forced as BackendName]();
    if (typeof r === 'string') throw new Error(`backend "${forced}" was asked for but cannot load: ${r}`);
    info = { ...r, reason: 'forced' };
  } else {
    const failures: string[] = [];
    let found: BackendInfo | null = null;
    for (const name of BACKEND_NAMES) {
      const r = await TRY[name]();
      if (typeof r === 'string') failures.push(`${name}: ${r}`);
      else {
        found = { ...r, reason: failures.length ? `fell back past ${failures.join(' | ')}` : 'first on the ladder' };
        break;
      }
    }
    if (!found) throw new Error(`no tfjs backend could load: ${failures.join(' | ')}`);
    info = found;
  }
  current = info;
  if (!opts.quiet) console.log(describeBackend(info));
  return info;
}

/** The backend chosen by the last initBackend call (null before). */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** One line for logs: backend, package, threads, SIMD, tfjs version, matMul path. */
export function describeBackend(info: BackendInfo): string {
  const threads = info.threads > 0 ? `${info.threads} thread${info.threads === 1 ? '' : 's'}` : 'native threads';
  const simd = info.simd === null ? '' : `, SIMD ${info.simd ? 'on' : 'off'}`;
  return `backend ${info.backend} (${info.package}; ${threads}${simd}) · tfjs ${info.tfjsVersion} · matMul: ${info.matmul}`;
}
