/**
 * The sampling loop: integrate the flow ODE from noise (t = 0) to data (t = 1) on the time grid,
 * with classifier-free guidance. Samplers are pure step rules; this function owns the loop.
 *
 *   euler:  x <- x + v(x, t) dt
 *   heun:   x' = x + v dt;  x <- x + (v(x, t) + v(x', t')) / 2 dt     (2 evaluations per step;
 *           the last step, which ends at t = 1, is an Euler step: 2N - 1 evaluations)
 *   adams:  x <- x + (sum_j c_j v_j) dt over the last `order` velocities (adams.ts)
 *
 * Optionally the result is then replaced by the mean of the model's clean estimate over K
 * re-noisings of it at time t_a (`finalAverage`, see FinalAverage).
 *
 * Legend: B batch, images [B, H, W, C].
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/model-config';
import { cleanEstimate, toVelocity, type PredictionTarget } from '../diffusion/flow-matching';
import { pixnerdForward } from '../model/pixnerd';
import type { Params } from '../model/ops';
import { adamsCoefficients } from './adams';
import { guidedVelocity, type VelocityModel } from './guidance';
import { timeGrid } from './time-grid';
import { resolvePrecision, withMatmulPrecision, type MatmulPrecision } from '../backend/precision';
import { deriveSeed, tfSeed } from '../util/seed';
import { randomNormal } from '../util/random-normal';

export type SamplerKind = 'euler' | 'heun' | 'adams';
export const SAMPLER_KINDS: readonly SamplerKind[] = ['euler', 'heun', 'adams'];

/** Model evaluations per image of a sampler over `steps` steps, plus a final average's draws (Heun's last step is Euler; CFG's doubled batch not counted). */
export function modelEvaluations(sampler: SamplerKind, steps: number, finalDraws = 0): number {
  return (sampler === 'heun' ? 2 * steps - 1 : steps) + finalDraws;
}

/**
 * The final average: x <- (1/K) sum_k x_hat(t_a x + (1 - t_a) eps_k, t_a), with
 * x_hat(x_t, t) = x_t + (1 - t) v(x_t, t) and K fresh noises eps_k (seeded). Beyond the paper:
 * in the last, low-noise steps the neural field follows the noise of its own input pixel and
 * leaves isolated pixels (experiments/RESULTS.md, seventh round); each re-noising draws that
 * noise anew, so the average keeps what the K estimates agree on. K more evaluations, guided
 * where t_a lies inside the guidance interval (the main job ends its interval at t_a: unguided).
 */
export interface FinalAverage {
  /** t_a in (0, 1): the re-noising time (0.8 = 20 % noise). */
  t: number;
  /** K >= 1 re-noisings. */
  draws: number;
  /** Seed of the K noises. */
  seed: number;
}

/** A final average as options and configs give it: the sampler adds the seed. */
export type FinalAverageSpec = Pick<FinalAverage, 't' | 'draws'>;

/** Checks a final average's t and draws (Error naming the bad value). */
export function checkFinalAverage(a: FinalAverageSpec): void {
  if (!(typeof a.t === 'number' && a.t > 0 && a.t < 1)) throw new RangeError(`finalAverage.t must be in (0, 1), got ${a.t}`);
  if (!(Number.isInteger(a.draws) && a.draws >= 1)) throw new RangeError(`finalAverage.draws must be an integer >= 1, got ${a.draws}`);
}

export interface SampleOptions {
  sampler: SamplerKind;
  steps: number;
  /** Adams order 1..4 (2 = the paper's Adam2). */
  order?: number;
  shift?: number;
  lastStep?: number;
  /** CFG scale w (1 = off). */
  cfg?: number;
  /** Guidance interval (lo, hi), strict. Reference c2i: [0.1, 1]. */
  interval?: [number, number];
  /** Null label K (needed when cfg != 1). */
  nullLabel?: number;
  /** End with the mean clean estimate over re-noisings (FinalAverage); absent = off. */
  finalAverage?: FinalAverage;
  /** Keep x_t at every grid time and the velocities used. */
  returnTrajectory?: boolean;
  onStep?: (i: number, steps: number) => void;
}

export interface SampleResult {
  /** Samples at t = 1, [B, H, W, C]. */
  x: tf.Tensor4D;
  /** x at every grid time (N + 1 of them, noise first) when asked. */
  xs?: tf.Tensor4D[];
  /** The velocity each step used when asked. */
  vs?: tf.Tensor4D[];
}

/** Integrates from `noise` with labels `y` (int32 [B]). Deterministic: all randomness is in `noise`. */
export function sample(model: VelocityModel, noise: tf.Tensor4D, y: tf.Tensor1D, opts: SampleOptions): SampleResult {
  if (!(['euler', 'heun', 'adams'] as const).includes(opts.sampler)) throw new Error(`unknown sampler "${opts.sampler}" (euler, heun, adams)`);
  const times = timeGrid(opts.steps, { lastStep: opts.lastStep, shift: opts.shift });
  const scale = opts.cfg ?? 1;
  if (scale !== 1 && opts.nullLabel === undefined) throw new Error('CFG needs nullLabel (= numClasses)');
  if (opts.finalAverage) checkFinalAverage(opts.finalAverage);
  const g = { scale, interval: opts.interval ?? ([0, 1] as [number, number]), nullLabel: opts.nullLabel ?? -1 };
  const velocity = (x: tf.Tensor4D, t: number) => guidedVelocity(model, x, t, y, g);
  const order = opts.order ?? 2;
  const keep = opts.returnTrajectory ?? false;
  const xs: tf.Tensor4D[] = keep ? [noise.clone()] : [];
  const vs: tf.Tensor4D[] = [];
  const history: tf.Tensor4D[] = []; // Adams: recent velocities, oldest first
  let x = noise.clone();
  for (let i = 0; i < opts.steps; i++) {
    const t = times[i]!, tNext = times[i + 1]!, dt = tNext - t;
    let v: tf.Tensor4D;
    switch (opts.sampler) {
      case 'euler':
        v = velocity(x, t);
        break;
      case 'heun':
        // The last step ends at t = 1, where the model was never trained (logit-normal t) and
        // the guidance interval is off: as in EDM's Heun, that step is a plain Euler step.
        if (i === opts.steps - 1) {
          v = velocity(x, t);
          break;
        }
        v = tf.tidy(() => {
          const v1 = velocity(x, t);
          const v2 = velocity(tf.add(x, tf.mul(v1, dt)) as tf.Tensor4D, tNext);
          return tf.mul(tf.add(v1, v2), 0.5) as tf.Tensor4D;
        });
        break;
      case 'adams': {
        history.push(velocity(x, t));
        if (history.length > order) history.shift()!.dispose();
        const c = adamsCoefficients(times, i, order);
        const recent = history.slice(history.length - c.length);
        v = tf.tidy(() => tf.addN(recent.map((h, j) => tf.mul(h, c[j]!))) as tf.Tensor4D);
        break;
      }
    }
    const next = tf.tidy(() => tf.add(x, tf.mul(v, dt)) as tf.Tensor4D);
    x.dispose();
    x = next;
    if (keep) {
      xs.push(x.clone());
      vs.push(v);
    } else v.dispose();
    opts.onStep?.(i + 1, opts.steps);
  }
  tf.dispose(history);
  if (opts.finalAverage) {
    const { t, draws, seed } = opts.finalAverage;
    const averaged = tf.tidy(() => {
      let sum: tf.Tensor = tf.zerosLike(x);
      for (let k = 0; k < draws; k++) {
        const eps = randomNormal(x.shape, tfSeed(deriveSeed(seed, `final-average:${k}`)));
        const xt = tf.add(tf.mul(x, t), tf.mul(eps, 1 - t)) as tf.Tensor4D;
        sum = tf.add(sum, cleanEstimate(xt, velocity(xt, t), t));
      }
      return tf.div(sum, draws) as tf.Tensor4D;
    });
    x.dispose(); // the trajectory (returnTrajectory) keeps its own clone of it
    x = averaged;
  }
  return keep ? { x, xs, vs } : { x };
}

/**
 * The model as a VelocityModel: a PixNerd forward, turned into a velocity for x-prediction
 * models, optionally decoding at another resolution (trunkSize, nerf head only), its matMuls in
 * `precision` (default PIXNERD_PRECISION, else fp32; bf16 where supported, see
 * ../backend/precision.ts).
 */
export function modelVelocity(params: Params, cfg: ModelConfig, prediction: PredictionTarget = 'v', trunkSize?: number, precision: MatmulPrecision = resolvePrecision()): VelocityModel {
  return (x, t, y) =>
    withMatmulPrecision(precision, () =>
      tf.tidy(() => {
        const out = pixnerdForward(params, cfg, x, t, y, { trunkSize }).v;
        return toVelocity(out, x, t, prediction);
      }),
    );
}
