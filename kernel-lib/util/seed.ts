/**
 * Deterministic seed derivation. kernel-lib never calls Math.random: every random op
 * gets a seed derived from the config's seed and a stable name.
 */

/** 32-bit FNV-1a hash of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The seed to hand a tfjs random op (randomNormal, randomUniform) for a user's seed. tfjs treats a
 * falsy seed as none and draws from Math.random() (`seed ? seed : Math.random()` in rand_util),
 * so seed 0 was silently unseeded; 0 maps to a fixed constant instead, every other seed passes
 * through unchanged (so results recorded with them stay valid).
 */
export function tfSeed(seed: number): number {
  return seed === 0 ? 0x5eed0 : seed;
}

/** A seed for the random op named `name`, derived from a base seed. Stable across runs. */
export function deriveSeed(base: number, name: string): number {
  return hashString(`${base >>> 0}:${name}`);
}

/** Small seeded PRNG (mulberry32) for host-side sampling (shuffles, label dropout masks). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
