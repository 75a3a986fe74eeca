/**
 * Speckle: isolated pixels, the texture defect FID barely sees (a stray white dot, a dark hole
 * in a stroke, a ragged edge pixel) and the eye sees at once in a sample grid.
 *
 * A pixel (one channel, interior pixels only) is isolated when it differs from the median of its
 * 8 neighbours by more than half the value range (1 on [-1, 1]). Real images have some too (stroke
 * tips, one-pixel-wide lines), so the number means something only beside the same count on real
 * images of the same dataset: `evaluate` reports both.
 *
 * Hand-written: a 3x3 median filter on a host array is a few lines, and no dependency of the
 * project offers one (tfjs has no median pooling).
 */

/** Running count of isolated pixels over batches of images. */
export interface SpeckleCount {
  isolated: number;
  pixels: number;
}

export const emptySpeckleCount = (): SpeckleCount => ({ isolated: 0, pixels: 0 });

/** Isolated pixels per 1,000 interior pixels (NaN for no pixels). */
export function speckleRate(c: SpeckleCount): number {
  return c.pixels > 0 ? (1000 * c.isolated) / c.pixels : NaN;
}

/**
 * Adds the isolated pixels of `count` images to `acc`.
 * images [count, H, W, C] in [-1, 1] (values outside are clipped), H, W >= 3.
 */
export function countSpeckle(acc: SpeckleCount, images: ArrayLike<number>, count: number, H: number, W: number, C: number): SpeckleCount {
  if (images.length !== count * H * W * C) throw new Error(`countSpeckle: ${images.length} values for ${count} images of ${H}x${W}x${C}`);
  if (H < 3 || W < 3) return acc;
  const nb = new Float64Array(8);
  const at = (n: number, i: number, j: number, c: number) => Math.max(-1, Math.min(1, images[((n * H + i) * W + j) * C + c]!));
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 1; i < H - 1; i++) {
        for (let j = 1; j < W - 1; j++) {
          let k = 0;
          for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) if (di !== 0 || dj !== 0) nb[k++] = at(n, i + di, j + dj, c);
          nb.sort();
          if (Math.abs(at(n, i, j, c) - (nb[3]! + nb[4]!) / 2) > 1) acc.isolated++;
        }
      }
    }
  }
  acc.pixels += count * C * (H - 2) * (W - 2);
  return acc;
}
