import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { adamsCoefficients } from './adams';
import { guidedVelocity, type VelocityModel } from './guidance';
import { modelEvaluations, sample, type SamplerKind } from './sample';
import { timeGrid } from './time-grid';

// Gaussian data x ~ N(m, s^2) per pixel, noise eps ~ N(0, 1), x_t = t x + (1 - t) eps.
// Exact velocity: v(x_t, t) = m + (t s^2 - (1 - t)) (x_t - t m) / (t^2 s^2 + (1 - t)^2),
// and the exact flow maps noise z to m + s z at t = 1.
const m = 0.7, s = 0.4;
const analytic: VelocityModel = (x, t) =>
  tf.tidy(() => {
    const tb = t.reshape([-1, 1, 1, 1]);
    const a = tb, b = tf.sub(1, tb);
    const varT = tf.add(tf.mul(tf.square(a), s * s), tf.square(b));
    return tf.add(m, tf.div(tf.mul(tf.sub(tf.mul(a, s * s), b), tf.sub(x, tf.mul(a, m))), varT)) as tf.Tensor4D;
  });

const noise = tf.randomNormal([64, 4, 4, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
const y = tf.zeros([64], 'int32') as tf.Tensor1D;
const exact = tf.add(m, tf.mul(noise, s));

function error(sampler: SamplerKind, steps: number, order = 2): number {
  const { x } = sample(analytic, noise, y, { sampler, steps, order });
  const e = tf.sub(x, exact).abs().max().dataSync()[0]!;
  x.dispose();
  return e;
}

/** Least-squares slope of log(err) against log(N). */
function slope(sampler: SamplerKind, ns: number[]): number {
  const pts = ns.map((n) => [Math.log(n), Math.log(error(sampler, n))] as const);
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length, my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  return pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
}

test('Euler converges like 1/N, Heun like 1/N^2 on the analytic Gaussian flow', () => {
  const se = slope('euler', [8, 16, 32, 64]);
  const sh = slope('heun', [16, 32, 64, 128]); // the asymptotic regime starts near N = 16
  assert.ok(se < -0.85 && se > -1.2, `euler slope ${se}`);
  assert.ok(sh < -1.8 && sh > -2.3, `heun slope ${sh}`);
});

test('Adams-2 beats Euler at 10 steps; sampled mean and variance match the data', () => {
  const eE = error('euler', 10), eA = error('adams', 10, 2);
  assert.ok(eA < eE / 2, `adams ${eA} vs euler ${eE}`);
  const big = tf.randomNormal([4096, 1, 1, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
  const { x } = sample(analytic, big, tf.zeros([4096], 'int32') as tf.Tensor1D, { sampler: 'heun', steps: 20 });
  const { mean, variance } = tf.moments(x);
  assert.ok(Math.abs(mean.dataSync()[0]! - m) < 0.03, `mean ${mean.dataSync()[0]}`);
  assert.ok(Math.abs(Math.sqrt(variance.dataSync()[0]!) - s) < 0.02, `std ${Math.sqrt(variance.dataSync()[0]!)}`);
  tf.dispose([big, x, mean, variance]);
});

test('Adams coefficients: uniform order 2 is (-1/2, 3/2); every step sums to 1; first step is Euler', () => {
  const grid = timeGrid(10);
  assert.ok(adamsCoefficients(grid, 5, 2).every((c, j) => Math.abs(c - [-0.5, 1.5][j]!) < 1e-12));
  const first = adamsCoefficients(grid, 0, 3);
  assert.ok(first.length === 1 && Math.abs(first[0]! - 1) < 1e-12);
  const shifted = timeGrid(10, { shift: 3 });
  for (let i = 0; i < 10; i++) for (const o of [1, 2, 3, 4]) assert.ok(Math.abs(adamsCoefficients(shifted, i, o).reduce((a, b) => a + b, 0) - 1) < 1e-12);
  // order 3 on a uniform grid: AB3 (5, -16, 23) / 12
  assert.ok(adamsCoefficients(grid, 4, 3).every((c, j) => Math.abs(c - [5 / 12, -16 / 12, 23 / 12][j]!) < 1e-12));
});

test('time grid: linspace(0, 1, N+1) by default, last_step and shift honoured', () => {
  assert.equal(timeGrid(4), [0, 0.25, 0.5, 0.75, 1]);
  const g = timeGrid(3, { lastStep: 0.1 });
  assert.ok(Math.abs(g[2]! - 0.9) < 1e-12 && g[3] === 1);
  const sh = timeGrid(2, { shift: 3 });
  assert.ok(Math.abs(sh[1]! - 0.5 / (0.5 + 0.5 * 3)) < 1e-12);
});

test('CFG: scale 1 equals the conditional prediction; outside the interval the scale is ignored; uncond half first', () => {
  const seen: number[][] = [];
  // a label-dependent toy model: v = x * (1 + label)
  const toy: VelocityModel = (x, _t, yy) => {
    seen.push(Array.from(yy.dataSync()));
    return tf.tidy(() => tf.mul(x, tf.add(1, yy.toFloat().reshape([-1, 1, 1, 1]))) as tf.Tensor4D);
  };
  const x = tf.ones([2, 1, 1, 1]) as tf.Tensor4D;
  const lab = tf.tensor1d([1, 2], 'int32');
  const cond = toy(x, tf.fill([2], 0.5) as tf.Tensor1D, lab).dataSync();
  const g = (scale: number, t: number) => guidedVelocity(toy, x, t, lab, { scale, interval: [0.1, 1], nullLabel: 10 }).dataSync();
  assert.equal(Array.from(g(1, 0.5)), Array.from(cond));
  seen.length = 0;
  assert.equal(Array.from(g(3, 0.05)), Array.from(cond)); // t < 0.1: unguided
  assert.equal(seen[0], [10, 10, 1, 2]);
  assert.equal(Array.from(g(3, 0.1)), Array.from(cond)); // strict: t = 0.1 is outside
  // inside: v_u + 3 (v_c - v_u) with v_u = 11 x
  assert.equal(Array.from(g(3, 0.5)), [11 + 3 * (2 - 11), 11 + 3 * (3 - 11)]);
});

test('sampling is deterministic and returns the trajectory', () => {
  const a = sample(analytic, noise, y, { sampler: 'euler', steps: 5, returnTrajectory: true });
  const b = sample(analytic, noise, y, { sampler: 'euler', steps: 5 });
  assert.equal(a.x.dataSync(), b.x.dataSync());
  assert.is(a.xs!.length, 6);
  assert.is(a.vs!.length, 5);
  assert.equal(a.xs![5]!.dataSync(), a.x.dataSync());
  tf.dispose([a.x, b.x, ...a.xs!, ...a.vs!]);
});

test('final average: the mean posterior estimate over re-noisings, seeded, K more evaluations', () => {
  // Gaussian data: E_eps[x_hat(t x + (1 - t) eps, t)] = m + k (x - m), k = t^2 s^2 / (t^2 s^2 + (1 - t)^2)
  const t = 0.8, k = (t * t * s * s) / (t * t * s * s + (1 - t) ** 2);
  const plain = sample(analytic, noise, y, { sampler: 'heun', steps: 8 }).x;
  const avg = (draws: number, seed: number) => sample(analytic, noise, y, { sampler: 'heun', steps: 8, finalAverage: { t, draws, seed } }).x;
  const many = avg(64, 1);
  const expected = tf.add(m, tf.mul(tf.sub(plain, m), k));
  const err = tf.sub(many, expected).abs().max().dataSync()[0]!;
  assert.ok(err < 0.12, `64 draws: max error ${err} against m + k (x - m)`); // per-draw noise std 0.18 / 8
  const [a, b, c] = [avg(4, 3), avg(4, 3), avg(4, 4)];
  assert.equal(a.dataSync(), b.dataSync(), 'same seed, same average');
  assert.not.equal(a.dataSync(), c.dataSync(), 'another seed, other noises');
  assert.is(modelEvaluations('heun', 10, 4), 23);
  assert.throws(() => sample(analytic, noise, y, { sampler: 'euler', steps: 2, finalAverage: { t: 1, draws: 4, seed: 0 } }), /finalAverage\.t must be in \(0, 1\), got 1/);
  assert.throws(() => sample(analytic, noise, y, { sampler: 'euler', steps: 2, finalAverage: { t: 0.5, draws: 0, seed: 0 } }), /finalAverage\.draws must be an integer >= 1, got 0/);
  const before = tf.memory().numTensors;
  avg(2, 0).dispose();
  assert.is(tf.memory().numTensors, before, 'no tensors leak');
  tf.dispose([plain, many, expected, a, b, c]);
});

test('no tensors leak from sampling', () => {
  sample(analytic, noise, y, { sampler: 'adams', steps: 3, order: 3 }).x.dispose();
  const before = tf.memory().numTensors;
  for (const k of ['euler', 'heun', 'adams'] as const) sample(analytic, noise, y, { sampler: k, steps: 4, cfg: 2, nullLabel: 1 }).x.dispose();
  assert.is(tf.memory().numTensors, before);
});

test.run();
