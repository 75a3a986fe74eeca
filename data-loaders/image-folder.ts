/**
 * ImageNet-layout image folders: root/<class>/<...>/<image>.{jpg,jpeg,png,webp}, one sub-folder per
 * class (class ids = sorted folder names, as torchvision's ImageFolder). Images are decoded with
 * sharp to 8-bit RGB (alpha dropped, as Pillow's convert('RGB')), then brought to size x size
 * with the reference's ADM centre crop (center-crop.ts). Random flips are an augmentation of the
 * loader (augment.ts `randomHorizontalFlip`), seeded per (seed, epoch, index).
 *
 * Corrupt files: every file's header is read when the folder is opened; with `verify: 'full'`
 * every file is also decoded (and cached), with 'none' nothing is checked. A file that fails is skipped and counted
 * (`onCorrupt: 'skip'`, default) or is an error naming it (`'fail'`). A file that passes the
 * header check but fails to decode later is, under 'skip', replaced by the next good example
 * (deterministic) and counted in `report()`.
 *
 * Decoded crops are cached as uint8 up to `cacheBytes`, so later epochs do not decode again.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { loadSharp } from '../kernel-lib/util/heavy-modules';
import { admCenterCrop } from './center-crop';
import { checkIndex, DatasetError, type Dataset, type Sample } from './dataset';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;
/** Default decoded-image cache budget: 1 GiB of uint8 crops. */
export const DEFAULT_CACHE_BYTES = 2 ** 30;
/** Files checked at once when opening a folder. */
const OPEN_CONCURRENCY = 16;

export interface ImageFolderOptions {
  /** Side of the square output image (the ADM crop target), e.g. 256. */
  size: number;
  /** 'skip' (default): leave corrupt files out and count them; 'fail': throw on the first. */
  onCorrupt?: 'skip' | 'fail';
  /**
   * When opening: 'header' (default) reads each file's header; 'full' decodes every file (and
   * fills the cache); 'none' checks nothing (fastest for a huge, known-good folder).
   */
  verify?: 'none' | 'header' | 'full';
  /** Byte budget of the decoded-crop cache; 0 turns it off. Default 1 GiB. */
  cacheBytes?: number;
}

/** What happened so far: files found, skipped (with reasons), decodes and cache use. */
export interface ImageFolderReport {
  root: string;
  classes: number;
  /** Image files found (by extension). */
  found: number;
  /** Examples in the dataset (found minus those skipped when opening). */
  size: number;
  /** Files that failed, with the error, in the order they were met. */
  skipped: Array<{ file: string; reason: string }>;
  /** Files without an image extension, ignored. */
  ignored: number;
  /** Full decodes so far (a cache hit does not count). */
  decodes: number;
  cachedImages: number;
  cachedBytes: number;
}

export interface ImageFolderDataset extends Dataset {
  /** [size] file paths, index = example id. */
  readonly files: readonly string[];
  report(): ImageFolderReport;
  /** Drops every cached crop. */
  clearCache(): void;
}

/** Lists classes and image files, sorted. Throws when the root is missing, empty or has no images. */
function scan(root: string): { classes: string[]; files: Array<{ file: string; label: number }>; ignored: number } {
  if (!existsSync(root)) throw new DatasetError(`image folder ${root} does not exist`);
  if (!statSync(root).isDirectory()) throw new DatasetError(`image folder ${root} is not a directory`);
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) throw new DatasetError(`image folder ${root} has no class sub-folders (expected ${root}/<class>/<image>.jpg)`);
  const files: Array<{ file: string; label: number }> = [];
  let ignored = 0;
  const walk = (dir: string, label: number) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, label);
      else if ((IMAGE_EXTENSIONS as readonly string[]).includes(extname(e.name).toLowerCase())) files.push({ file: p, label });
      else ignored++;
    }
  };
  classes.forEach((c, label) => walk(join(root, c), label));
  const empty = classes.filter((_, label) => !files.some((f) => f.label === label));
  if (empty.length > 0) {
    throw new DatasetError(`image folder ${root}: class folder(s) ${empty.join(', ')} hold no ${IMAGE_EXTENSIONS.join('/')} files`);
  }
  return { classes, files, ignored };
}

/** Decodes a file to 8-bit RGB [h, w, 3] (alpha dropped, grey expanded). */
async function decodeRgb(file: string): Promise<{ data: Uint8Array; h: number; w: number }> {
  const { data, info } = await loadSharp()(file, { failOn: 'warning' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), h: info.height, w: info.width };
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Opens an ImageNet-layout folder as a dataset of [size, size, 3] RGB images in [0, 1].
 * Throws a DatasetError when the folder is missing or empty, and under `onCorrupt: 'fail'` on
 * the first corrupt file.
 */
export async function imageFolder(root: string, opts: ImageFolderOptions): Promise<ImageFolderDataset> {
  const size = opts.size;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`imageFolder: size ${size} must be a positive integer`);
  const onCorrupt = opts.onCorrupt ?? 'skip';
  const verify = opts.verify ?? 'header';
  const cacheBytes = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const scanned = scan(root);
  const skipped: Array<{ file: string; reason: string }> = [];
  const cache = new Map<number, Uint8Array>();
  const bytesPer = size * size * 3;
  let decodes = 0;

  const corrupt = (file: string, e: unknown) => {
    const reason = (e as Error).message;
    if (onCorrupt === 'fail') throw new DatasetError(`image folder: cannot decode ${file}: ${reason}`);
    skipped.push({ file, reason });
  };
  const crop = async (file: string): Promise<Uint8Array> => {
    const { data, h, w } = await decodeRgb(file);
    decodes++;
    return admCenterCrop(data, h, w, 3, size);
  };
  const remember = (i: number, bytes: Uint8Array) => {
    if ((cache.size + 1) * bytesPer <= cacheBytes) cache.set(i, bytes);
  };

  // Check every file when opening: the header, or a full decode (kept in the cache).
  const crops = new Map<string, Uint8Array>();
  const ok = await mapLimit(scanned.files, OPEN_CONCURRENCY, async ({ file }) => {
    try {
      switch (verify) {
        case 'none':
          break;
        case 'header': {
          const m = await loadSharp()(file).metadata();
          if (!m.width || !m.height) throw new Error('no image size in the header');
          break;
        }
        case 'full': {
          const c = await crop(file);
          if ((crops.size + 1) * bytesPer <= cacheBytes) crops.set(file, c); // keep what the cache will hold
          break;
        }
        default: {
          const never: never = verify;
          throw new RangeError(`imageFolder: unknown verify ${String(never)}`);
        }
      }
      return true;
    } catch (e) {
      return e;
    }
  });
  // Report failures in file order (the checks above ran concurrently).
  scanned.files.forEach(({ file }, k) => {
    if (ok[k] !== true) corrupt(file, ok[k]);
  });
  const items = scanned.files.filter((_, k) => ok[k] === true);
  if (items.length === 0) throw new DatasetError(`image folder ${root}: none of its ${scanned.files.length} image files could be read`);
  items.forEach(({ file }, i) => {
    const c = crops.get(file);
    if (c) remember(i, c);
  });
  crops.clear();

  const bad = new Set<number>(); // examples that failed after opening (onCorrupt 'skip')
  const inflight = new Map<number, Promise<Uint8Array>>(); // one decode per example at a time
  const cropOf = (i: number): Promise<Uint8Array> => {
    const hit = cache.get(i);
    if (hit) return Promise.resolve(hit);
    let p = inflight.get(i);
    if (!p) {
      p = crop(items[i]!.file).then((bytes) => {
        remember(i, bytes);
        return bytes;
      });
      inflight.set(i, p);
      void p.then(() => inflight.delete(i), () => inflight.delete(i));
    }
    return p;
  };
  const load = async (i: number): Promise<Sample> => {
    const bytes = await cropOf(i);
    const image = new Float32Array(bytesPer);
    for (let k = 0; k < bytesPer; k++) image[k] = bytes[k]! / 255;
    return { image, label: items[i]!.label };
  };

  const ds: ImageFolderDataset = {
    name: `image-folder:${root}`,
    numClasses: scanned.classes.length,
    classNames: scanned.classes,
    size: items.length,
    imageSize: [size, size],
    channels: 3,
    background: 0,
    files: items.map((f) => f.file),
    async get(i) {
      checkIndex(ds, i);
      // Under 'skip', an example that fails to decode is replaced by the next good one.
      for (let k = 0; k < items.length; k++) {
        const j = (i + k) % items.length;
        if (bad.has(j)) continue;
        try {
          return await load(j);
        } catch (e) {
          if (!bad.has(j)) {
            corrupt(items[j]!.file, e); // throws under 'fail'
            bad.add(j); // counted once even if a concurrent get met it too
          }
        }
      }
      throw new DatasetError(`image folder ${root}: every image failed to decode`);
    },
    report() {
      return {
        root,
        classes: scanned.classes.length,
        found: scanned.files.length,
        size: items.length,
        skipped: skipped.map((s) => ({ file: relative(root, s.file), reason: s.reason })),
        ignored: scanned.ignored,
        decodes,
        cachedImages: cache.size,
        cachedBytes: cache.size * bytesPer,
      };
    },
    clearCache() {
      cache.clear();
    },
  };
  return ds;
}
