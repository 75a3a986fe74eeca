/**
 * Child process for precision.test.ts: `node --import tsx precision.fixture.ts`, with the
 * environment under test (NATIVEBLAS_DNNL_LIB=none, NATIVEBLAS_SIMD=avx2, ...).
 *
 * Asks for bf16 three times (two matMuls and effectivePrecision) on the wasm backend and writes
 * one JSON line to stdout: {precision: what effectivePrecision('bf16') gave, same: whether the
 * bf16-asked product equals the fp32 one bit for bit, leaked: tensors left over}. The fallback
 * line, if any, goes to stderr.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend-ladder';
import { effectivePrecision, withMatmulPrecision } from './precision';

await initBackend({ backend: 'wasm', quiet: true });
const before = tf.memory().numTensors;
const a = tf.randomNormal([40, 70], 0, 1, 'float32', 1);
const b = tf.randomNormal([70, 50], 0, 1, 'float32', 2);
const fp32 = tf.matMul(a, b);
const asked = withMatmulPrecision('bf16', () => tf.matMul(a, b));
const again = withMatmulPrecision('bf16', () => tf.matMul(a, b));
const x = fp32.dataSync();
const y = asked.dataSync();
const same = x.length === y.length && x.every((v, i) => v === y[i]);
const precision = effectivePrecision('bf16');
tf.dispose([a, b, fp32, asked, again]);
process.stdout.write(`${JSON.stringify({ precision, same, leaked: tf.memory().numTensors - before })}\n`);
