/**
 * Host-side augmentations for the data loader. An augmentation maps one raw image [H, W, C]
 * (HWC, in [0, 1]) to a new one of the same size, drawing only from the `rand` it is given; the
 * loader seeds `rand` from (seed, epoch, example index), so results do not depend on batch
 * order, prefetching or where a run resumed.
 */

/** Must not write to `image` (datasets may share it); returns the augmented copy, or `image` unchanged. */
export type Augment = (image: Float32Array, shape: readonly [number, number, number], rand: () => number) => Float32Array;

/** Mirrors an image left-right: [H, W, C] -> [H, W, C]. */
export function flipHorizontal(image: Float32Array, [H, W, C]: readonly [number, number, number]): Float32Array {
  const out = new Float32Array(image.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const src = (y * W + x) * C;
      const dst = (y * W + (W - 1 - x)) * C;
      for (let c = 0; c < C; c++) out[dst + c] = image[src + c]!;
    }
  }
  return out;
}

/** Random horizontal flip with probability `p` (the reference flips ImageNet with p = 0.5). */
export function randomHorizontalFlip(p = 0.5): Augment {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`randomHorizontalFlip: p = ${p} must be in [0, 1]`);
  return (image, shape, rand) => (rand() < p ? flipHorizontal(image, shape) : image);
}
