/**
 * The matMul precision of the sampling forward: `fp32` (default) or `bf16`.
 *
 * bf16 runs every BatchMatMul / _FusedMatMul of the model's forward with bf16 products and fp32
 * sums (the inputs rounded to bf16 on the fly), through the nativeblas add-on's oneDNN GEMM
 * (./native-matmul.ts). It needs the wasm backend with the add-on and a BLAS library, a CPU with
 * AVX512_BF16 and oneDNN (Debian libdnnl2); where any is missing, asking for bf16 prints one line
 * (on stderr) saying which, and the forward runs fp32. Only sampling forwards use it
 * (`modelVelocity`): training, and the feature networks that score samples, stay fp32.
 *
 * Asked for by a `precision` option (library: sampleClasses, sampleWeights, evaluateRun; CLI:
 * `sample` / `evaluate --precision`), else `PIXNERD_PRECISION=fp32|bf16`, else fp32.
 *
 * Example:
 *   await initBackend();
 *   const cfg = PRESETS['tiny-32/8'];
 *   const velocity = modelVelocity(initParams(cfg, 0), cfg, 'v', undefined, resolvePrecision('bf16'));
 *   const v = velocity(tf.randomNormal([2, 32, 32, 1]) as tf.Tensor4D, tf.fill([2], 0.5) as tf.Tensor1D, tf.tensor1d([3, 7], 'int32'));
 *   const p = withMatmulPrecision('bf16', () => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]))); // any matMuls
 */
import { nativeBf16Support, nativeMatmulActive, setNativeMatmulBf16 } from './native-matmul';

export type MatmulPrecision = 'fp32' | 'bf16';
export const MATMUL_PRECISIONS: readonly MatmulPrecision[] = ['fp32', 'bf16'];

/** `value` as a precision; throws an Error naming `source` on anything else. */
export function parsePrecision(value: string, source = 'precision'): MatmulPrecision {
  if ((MATMUL_PRECISIONS as readonly string[]).includes(value)) return value as MatmulPrecision;
  throw new Error(`${source} must be one of ${MATMUL_PRECISIONS.join(', ')}, got "${value}"`);
}

/** The precision asked for: `opt`, else PIXNERD_PRECISION, else fp32 (either validated). */
export function resolvePrecision(opt?: string): MatmulPrecision {
  if (opt !== undefined) return parsePrecision(opt);
  const env = process.env.PIXNERD_PRECISION;
  return env === undefined || env === '' ? 'fp32' : parsePrecision(env, 'PIXNERD_PRECISION');
}

const told = new Set<string>();

/**
 * The precision that runs for `wanted`: bf16 where supported, else fp32 after one line saying
 * what is missing (`log`, default stderr; once per process and reason).
 */
export function effectivePrecision(wanted: MatmulPrecision, log: (line: string) => void = (l) => console.error(l)): MatmulPrecision {
  if (wanted === 'fp32') return 'fp32';
  const s = nativeBf16Support();
  if (s.available) return 'bf16';
  const line = `bf16 matMuls unavailable: ${s.missing}; running fp32`;
  if (!told.has(line)) {
    told.add(line);
    log(line);
  }
  return 'fp32';
}

/** One line for logs: what `wanted` runs as here. */
export function describePrecision(wanted: MatmulPrecision): string {
  if (wanted === 'fp32') return 'matMul precision: fp32';
  const s = nativeBf16Support();
  return s.available ? `matMul precision: bf16 products, fp32 sums (${s.how})` : `matMul precision: fp32 (bf16 asked for, ${s.missing})`;
}

/**
 * fn() with the native matMuls in `precision` (bf16 where supported, see effectivePrecision),
 * the previous setting restored after, also when fn throws. tfjs runs kernels synchronously, so
 * every matMul fn issues is inside.
 */
export function withMatmulPrecision<T>(precision: MatmulPrecision, fn: () => T): T {
  const on = precision === 'bf16' && effectivePrecision('bf16') === 'bf16';
  if (!on && !nativeMatmulActive()) return fn();
  const prev = setNativeMatmulBf16(on);
  try {
    return fn();
  } finally {
    setNativeMatmulBf16(prev);
  }
}
