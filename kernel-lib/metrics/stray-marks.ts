/**
 * Stray marks: small blots detached from the subject (a dot under a 9, a fleck beside a 4), the
 * defect a sample grid shows at a glance and that neither FID nor the isolated-pixel count
 * (speckle.ts) sees: a blot of 2-4 pixels has neighbours of its own colour, so it is not
 * "isolated", and one fleck in a thousand pixels hardly moves the features.
 *
 * Per image: the background is the median of the border pixels (channels averaged); a pixel is
 * foreground when it differs from the background by more than half the value range (1 on
 * [-1, 1]); foreground pixels form 8-connected components. A stray mark is a component of at most
 * `maxPixels` (4) pixels that is not the largest one. The measure is the fraction of images with
 * at least one. Real images have some (a broken stroke, a dotted i), so the number means something
 * only beside the same fraction on real images of the same dataset: `evaluate` reports both.
 *
 * Hand-written: a flood fill over a 32 x 32 host array is a few lines, and no dependency of the
 * project labels connected components (tfjs has none).
 */

/** Running count of images with a stray mark, over batches. */
export interface StrayMarkCount {
  /** Images with at least one stray mark. */
  marked: number;
  images: number;
}

export const emptyStrayMarkCount = (): StrayMarkCount => ({ marked: 0, images: 0 });

/** The fraction of images with a stray mark (NaN for no images). */
export function strayMarkRate(c: StrayMarkCount): number {
  return c.images > 0 ? c.marked / c.images : NaN;
}

/** Components of at most this many pixels (and not the largest) are stray marks. */
export const STRAY_MARK_MAX_PIXELS = 4;

/**
 * Sizes of the 8-connected components of `fg` (an H x W mask), largest first.
 * fg [H * W], 1 = foreground.
 */
export function componentSizes(fg: Uint8Array, H: number, W: number): number[] {
  const seen = new Uint8Array(H * W);
  const stack: number[] = [];
  const sizes: number[] = [];
  for (let s = 0; s < H * W; s++) {
    if (seen[s] || !fg[s]) continue;
    seen[s] = 1;
    stack.push(s);
    let size = 0;
    while (stack.length > 0) {
      const p = stack.pop()!;
      size++;
      const i = Math.floor(p / W), j = p % W;
      for (let a = Math.max(0, i - 1); a <= Math.min(H - 1, i + 1); a++) {
        for (let b = Math.max(0, j - 1); b <= Math.min(W - 1, j + 1); b++) {
          const q = a * W + b;
          if (!seen[q] && fg[q]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    sizes.push(size);
  }
  return sizes.sort((x, y) => y - x);
}

/**
 * Adds `count` images to `acc`, counting those with a stray mark.
 * images [count, H, W, C] in [-1, 1].
 */
export function countStrayMarks(acc: StrayMarkCount, images: ArrayLike<number>, count: number, H: number, W: number, C: number, maxPixels = STRAY_MARK_MAX_PIXELS): StrayMarkCount {
  if (images.length !== count * H * W * C) throw new Error(`countStrayMarks: ${images.length} values for ${count} images of ${H}x${W}x${C}`);
  const grey = new Float64Array(H * W);
  const fg = new Uint8Array(H * W);
  const border: number[] = [];
  for (let n = 0; n < count; n++) {
    for (let p = 0; p < H * W; p++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += images[(n * H * W + p) * C + c]!;
      grey[p] = s / C;
    }
    border.length = 0;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) if (i === 0 || j === 0 || i === H - 1 || j === W - 1) border.push(grey[i * W + j]!);
    border.sort((a, b) => a - b);
    const m = border.length >> 1;
    const bg = border.length % 2 ? border[m]! : (border[m - 1]! + border[m]!) / 2;
    for (let p = 0; p < H * W; p++) fg[p] = Math.abs(grey[p]! - bg) > 1 ? 1 : 0;
    const sizes = componentSizes(fg, H, W);
    if (sizes.slice(1).some((s) => s <= maxPixels)) acc.marked++;
  }
  acc.images += count;
  return acc;
}
