/**
 * The sampling time grid shared by every sampler (paper.md 3.1): linspace(0, 1 - last_step, N)
 * with 1.0 appended (last_step defaults to 1/N, giving linspace(0, 1, N + 1)), then shifted
 * t / (t + (1 - t) shift).
 */
import { shiftTime } from '../diffusion/flow-matching';

/** N + 1 times from 0 (noise) to 1 (data). */
export function timeGrid(steps: number, opts: { lastStep?: number; shift?: number } = {}): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  const last = opts.lastStep ?? 1 / steps;
  if (!(last > 0 && last <= 1)) throw new Error(`lastStep must be in (0, 1], got ${last}`);
  const shift = opts.shift ?? 1;
  const grid = steps === 1 ? [0] : Array.from({ length: steps }, (_, i) => ((1 - last) * i) / (steps - 1));
  grid.push(1);
  return grid.map((t) => shiftTime(t, shift));
}
