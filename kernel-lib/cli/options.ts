/**
 * Argument parsers for the command line (commander calls them with the raw string; a bad value
 * becomes commander's `error: option '--steps <n>' argument 'x' is invalid. <reason>`).
 */
import { InvalidArgumentError } from 'commander';
import { checkFinalAverage, type FinalAverageSpec } from '../sampling/sample';

/** An integer >= min. */
export const int = (min = 0) => (s: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
  return n;
};

/** A finite number. */
export function num(s: string): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

/** A comma-separated list of numbers: `0.1,1`. */
export function numList(s: string): number[] {
  return s.split(',').map((x) => {
    const n = Number(x.trim());
    if (x.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${x}" is not a number`);
    return n;
  });
}

/** A comma-separated list of integers >= 1: `5,10,20`. */
export function positiveIntList(s: string): number[] {
  return numList(s).map((n) => {
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${n}" is not a positive integer`);
    return n;
  });
}

/** A guidance interval `a,b` with 0 <= a <= b <= 1. */
export function interval(s: string): [number, number] {
  const v = numList(s);
  if (v.length !== 2 || !(v[0]! >= 0 && v[0]! <= v[1]! && v[1]! <= 1)) throw new InvalidArgumentError('must be a,b with 0 <= a <= b <= 1');
  return [v[0]!, v[1]!];
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A final average `t,k` (re-noising time in (0, 1), K >= 1 draws), or `none` (off: null). */
export function finalAverage(s: string): FinalAverageSpec | null {
  if (s.trim() === 'none') return null;
  const v = numList(s);
  if (v.length !== 2) throw new InvalidArgumentError('must be t,k (e.g. 0.8,8) or none');
  const [t, draws] = v as [number, number];
  try {
    checkFinalAverage({ t, draws }); // the sampler's own rule, one copy
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return { t, draws };
}
