/**
 * Google's Noto emoji from the npm package `emoji-datasource-google` (16.0.0): the 64x64 RGBA
 * PNGs in img/google/64/, labelled by emoji.json's `category`. Decoded with sharp and
 * composited onto a WHITE background by default (`background: 'black'` to change), giving
 * [64, 64, 3] RGB in [0, 1].
 *
 * Classes (label = index, the order of the package's categories.json) and counts, with skin-tone
 * variants (which inherit their base emoji's category) / without:
 *
 *   0 Smileys & Emotion   169 / 169      5 Travel & Places   218 / 218
 *   1 People & Body      2261 / 386      6 Activities         85 /  85
 *   2 Component             5 /   5      7 Objects           264 / 264
 *   3 Animals & Nature    159 / 159      8 Symbols           224 / 224
 *   4 Food & Drink        131 / 131      9 Flags             270 / 270
 *                                        total             3786 / 1911
 *
 * With skin tones, People & Body is 60% of the data; `skinTones: false` keeps the 1,911 base
 * emoji. Images are decoded on first use and cached as uint8 (3786 x 12 KiB = 46 MB).
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRequire } from '../kernel-lib/util/load-module';
import { loadSharp } from '../kernel-lib/util/heavy-modules';
import { checkIndex, DatasetError, type Dataset } from './dataset';

export const EMOJI_SIZE = 64;
export const EMOJI_CLASSES = [
  'Smileys & Emotion', 'People & Body', 'Component', 'Animals & Nature', 'Food & Drink',
  'Travel & Places', 'Activities', 'Objects', 'Symbols', 'Flags',
] as const;

/** The fields of emoji.json that we use. */
interface EmojiEntry {
  image: string;
  category: string;
  sort_order: number;
  has_img_google: boolean;
  skin_variations?: Record<string, { image: string; has_img_google: boolean }>;
}

export interface EmojiOptions {
  /** Composite the alpha channel onto white (raw 1) or black (raw 0). Default 'white'. */
  background?: 'white' | 'black';
  /** Include the skin-tone variants (3,786 images) or only base emoji (1,911). Default true. */
  skinTones?: boolean;
}

/** The package root of emoji-datasource-google. */
export function emojiPackageDir(): string {
  return dirname(projectRequire().resolve('emoji-datasource-google/package.json'));
}

/** The labelled file list, in emoji.json order (sorted by sort_order, variants after their base). */
export function emojiIndex(opts: EmojiOptions = {}, root = emojiPackageDir()): Array<{ file: string; label: number }> {
  const jsonFile = join(root, 'emoji.json');
  let entries: EmojiEntry[];
  try {
    entries = JSON.parse(readFileSync(jsonFile, 'utf8')) as EmojiEntry[];
  } catch (e) {
    throw new DatasetError(`emoji: cannot read ${jsonFile}: ${(e as Error).message} (is emoji-datasource-google@16.0.0 installed?)`);
  }
  const imgDir = join(root, 'img', 'google', String(EMOJI_SIZE));
  const out: Array<{ file: string; label: number }> = [];
  const add = (image: string, category: string) => {
    const label = (EMOJI_CLASSES as readonly string[]).indexOf(category);
    if (label < 0) throw new DatasetError(`emoji: ${jsonFile}: ${image} has unknown category ${JSON.stringify(category)}`);
    out.push({ file: join(imgDir, image), label });
  };
  for (const e of [...entries].sort((a, b) => a.sort_order - b.sort_order)) {
    if (e.has_img_google) add(e.image, e.category);
    if (opts.skinTones ?? true) {
      for (const v of Object.values(e.skin_variations ?? {})) if (v.has_img_google) add(v.image, e.category);
    }
  }
  return out;
}

/** The emoji dataset: [64, 64, 3] RGB images in [0, 1], labelled by category. */
export function emoji(opts: EmojiOptions = {}): Dataset {
  const items = emojiIndex(opts);
  const white = (opts.background ?? 'white') === 'white';
  const px = EMOJI_SIZE * EMOJI_SIZE * 3;
  const cache = new Map<number, Uint8Array>();

  async function decode(file: string): Promise<Uint8Array> {
    if (!existsSync(file)) throw new DatasetError(`emoji: ${file} not found`);
    const { data, info } = await loadSharp()(file)
      .flatten({ background: white ? '#ffffff' : '#000000' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== EMOJI_SIZE || info.height !== EMOJI_SIZE || info.channels !== 3) {
      throw new DatasetError(`emoji: ${file} decoded to ${info.height}x${info.width}x${info.channels}, expected ${EMOJI_SIZE}x${EMOJI_SIZE}x3`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  const ds: Dataset = {
    name: 'emoji',
    numClasses: EMOJI_CLASSES.length,
    classNames: EMOJI_CLASSES,
    size: items.length,
    imageSize: [EMOJI_SIZE, EMOJI_SIZE],
    channels: 3,
    background: white ? 1 : 0,
    async get(i) {
      checkIndex(ds, i);
      let bytes = cache.get(i);
      if (bytes === undefined) {
        bytes = await decode(items[i]!.file);
        cache.set(i, bytes);
      }
      const image = new Float32Array(px);
      for (let k = 0; k < px; k++) image[k] = bytes[k]! / 255;
      return { image, label: items[i]!.label };
    },
  };
  return ds;
}
