/**
 * The ADM centre crop (openai/guided-diffusion `center_crop_arr`), which the PixNerd reference
 * uses for ImageNet:
 *
 *   while min(W, H) >= 2 * size:  halve both sides (floor) with a BOX filter
 *   scale = size / min(W, H);     bicubic resize to (round(W * scale), round(H * scale))
 *   centre crop size x size at ((H' - size) // 2, (W' - size) // 2)
 *
 * `round` is Python's (half to even) and the resizes are Pillow's, reproduced by `resampleU8`,
 * so the output matches the reference byte for byte.
 */
import { resampleU8 } from './resample';

/** The geometry of one crop: every intermediate size, for tests and logs. */
export interface CropPlan {
  /** Sizes [H, W] after each BOX halving, in order (empty if none). */
  halvings: Array<[number, number]>;
  /** Size [H, W] after the bicubic resize. */
  resized: [number, number];
  /** Top-left corner [y, x] of the size x size crop inside `resized`. */
  offset: [number, number];
}

/** Python 3's round(): to nearest, ties to even. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The crop geometry for an h x w image and a square target `size`. */
export function planAdmCrop(h: number, w: number, size: number): CropPlan {
  if (!Number.isInteger(size) || size < 1) throw new Error(`ADM crop: target size ${size} must be a positive integer`);
  if (h < 1 || w < 1) throw new Error(`ADM crop: image ${h}x${w} is empty`);
  const halvings: Array<[number, number]> = [];
  while (Math.min(h, w) >= 2 * size) {
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    halvings.push([h, w]);
  }
  const scale = size / Math.min(h, w);
  const resized: [number, number] = [roundHalfEven(h * scale), roundHalfEven(w * scale)];
  return { halvings, resized, offset: [Math.floor((resized[0] - size) / 2), Math.floor((resized[1] - size) / 2)] };
}

/**
 * ADM centre crop of a uint8 HWC image.
 *
 * @param img [h, w, ch] uint8
 * @returns [size, size, ch] uint8
 */
export function admCenterCrop(img: Uint8Array, h: number, w: number, ch: number, size: number): Uint8Array {
  const plan = planAdmCrop(h, w, size);
  let cur = img;
  for (const [nh, nw] of plan.halvings) {
    cur = resampleU8(cur, h, w, ch, nh, nw, 'box');
    [h, w] = [nh, nw];
  }
  const [rh, rw] = plan.resized;
  cur = resampleU8(cur, h, w, ch, rh, rw, 'bicubic');
  const [oy, ox] = plan.offset;
  const out = new Uint8Array(size * size * ch);
  for (let y = 0; y < size; y++) {
    const row = ((oy + y) * rw + ox) * ch;
    out.set(cur.subarray(row, row + size * ch), y * size * ch);
  }
  return out;
}
