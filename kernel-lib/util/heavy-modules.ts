/**
 * Packages that cost a notebook's first cell noticeable time to load, loaded on first use
 * instead of when `./kernel-lib/index` is imported: sharp (libvips, about 0.5 s) draws PNGs and
 * reads image files, arquero (about 0.35 s) makes result tables. Both are needed only when a
 * cell draws or tabulates, so importing the front door does not pay for them
 * (bench/import-cost.ts measures it).
 *
 *   const png = await loadSharp()(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
 *   const t = loadArquero().from(rows);
 */
import type * as Arquero from 'arquero';
import type Sharp from 'sharp';
import { projectRequire } from './load-module';

let sharp: typeof Sharp | undefined;
let arquero: typeof Arquero | undefined;

/** The sharp function (a CommonJS package), loaded once. */
export function loadSharp(): typeof Sharp {
  return (sharp ??= projectRequire()('sharp') as typeof Sharp);
}

/** arquero's exports (an ES module without top-level await, so `require` loads it), loaded once. */
export function loadArquero(): typeof Arquero {
  return (arquero ??= projectRequire()('arquero') as typeof Arquero);
}
