/**
 * Class names: the 1,000 ImageNet-1k names in the standard id order (the table that
 * `@tensorflow-models/mobilenet` ships as dist/imagenet_classes.js; only that file is loaded, not
 * the TF model), and the lookup of classes given by id or by name.
 *
 *   resolveClasses(['207', 'golden retriever', 'Tench'], { numClasses: 1000, names: IMAGENET_CLASS_NAMES }); // [207, 207, 0]
 *   shortClassName(IMAGENET_CLASS_NAMES[999]!);   // 'toilet tissue'
 *
 * A name is matched case-insensitively against a class's whole name ('tench, Tinca tinca') or
 * any one of its comma-separated synonyms ('Tinca tinca'); a synonym must be unique. A whole
 * name is preferred: 'maillot' is class 638 ('maillot'), not 639 ('maillot, tank suit'). Names
 * that fit several classes ('crane': 134 the bird, 517 the machine) and unknown names are errors
 * that list the candidates with their ids.
 */
import { IMAGENET_CLASSES } from '@tensorflow-models/mobilenet/dist/imagenet_classes';

/** The number of ImageNet-1k classes. */
export const IMAGENET_NUM_CLASSES = 1000;

function imagenetTable(): readonly string[] {
  const names = Array.from({ length: IMAGENET_NUM_CLASSES }, (_, i) => IMAGENET_CLASSES[i]);
  const missing = names.findIndex((n) => typeof n !== 'string' || n.length === 0);
  if (missing >= 0) throw new Error(`@tensorflow-models/mobilenet's ImageNet class table has no name for id ${missing}`);
  return Object.freeze(names as string[]);
}

/** ImageNet-1k class names by id (0 'tench, Tinca tinca' ... 999 'toilet tissue, toilet paper, bathroom tissue'). */
export const IMAGENET_CLASS_NAMES: readonly string[] = imagenetTable();

/** A class name's first synonym: 'golden retriever', 'tench' (for labels). */
export function shortClassName(name: string): string {
  return name.split(',')[0]!.trim();
}

/** The class names a model's ids mean: `given` if any, else ImageNet's for a 1,000-class model. */
export function defaultClassNames(numClasses: number, given?: readonly string[]): readonly string[] | undefined {
  if (given && given.length > 0) return given;
  return numClasses === IMAGENET_NUM_CLASSES ? IMAGENET_CLASS_NAMES : undefined;
}

/** Splits a class list as typed: `207,golden retriever, 3` -> ['207', 'golden retriever', '3']. */
export function parseClassList(s: string): string[] {
  const items = s.split(',').map((x) => x.trim());
  const empty = items.findIndex((x) => x === '');
  if (empty >= 0) throw new Error(`class list "${s}": item ${empty + 1} is empty`);
  return items;
}

export interface ClassLookup {
  /** Ids must be in 0..numClasses - 1. */
  numClasses: number;
  /** Names by id (ImageNet's, a dataset's); without them only ids are accepted. */
  names?: readonly string[];
}

const norm = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');
const synonyms = (name: string) => name.split(',').map(norm).filter((x) => x.length > 0);

/** Levenshtein distance (small strings). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const describe = (id: number, names: readonly string[]) => `${id} "${names[id]}"`;

/** Up to `max` classes whose names are close to `query` (substring or a few edits), best first. */
export function closeClassNames(query: string, names: readonly string[], max = 5): number[] {
  const q = norm(query);
  const scored: Array<{ id: number; score: number }> = [];
  names.forEach((name, id) => {
    let best = Infinity;
    for (const s of synonyms(name)) {
      const d = editDistance(q, s);
      const contains = s.includes(q) || (s.length >= 3 && q.includes(s));
      best = Math.min(best, contains ? Math.min(d, 1 + Math.abs(s.length - q.length) / 100) : d);
    }
    if (best <= Math.max(2, Math.floor(q.length / 3))) scored.push({ id, score: best });
  });
  return scored.sort((a, b) => a.score - b.score || a.id - b.id).slice(0, max).map((s) => s.id);
}

/**
 * One class given by id ('207', 207) or by name (see the file comment). Throws an Error that
 * names the problem: an id out of range, an ambiguous name (with every candidate) or an unknown
 * one (with the closest names).
 */
export function resolveClass(spec: string | number, lookup: ClassLookup): number {
  const { numClasses, names } = lookup;
  const text = String(spec).trim();
  if (/^[+-]?\d+$/.test(text)) {
    const id = Number(text);
    if (!(id >= 0 && id < numClasses)) {
      throw new RangeError(`class ${id} is out of range: this model has ${numClasses} classes, ids 0..${numClasses - 1}`);
    }
    return id;
  }
  if (!names) throw new Error(`class "${text}" is not an id, and this model's classes have no names: give ids 0..${numClasses - 1}`);
  if (names.length !== numClasses) throw new Error(`${names.length} class names for a model with ${numClasses} classes`);
  const q = norm(text);
  const whole = names.flatMap((n, id) => (norm(n) === q ? [id] : []));
  if (whole.length === 1) return whole[0]!;
  const bySynonym = whole.length > 1 ? whole : names.flatMap((n, id) => (synonyms(n).includes(q) ? [id] : []));
  if (bySynonym.length === 1) return bySynonym[0]!;
  if (bySynonym.length > 1) {
    throw new Error(`class "${text}" is ambiguous: it names ${bySynonym.map((id) => describe(id, names)).join(', ')}; give the id or a longer name`);
  }
  const close = closeClassNames(text, names);
  const hint = close.length ? `; close: ${close.map((id) => describe(id, names)).join(', ')}` : '';
  throw new Error(`unknown class "${text}"${hint}`);
}

/** Every class of a list (see resolveClass); the first problem is thrown. */
export function resolveClasses(specs: ReadonlyArray<string | number>, lookup: ClassLookup): number[] {
  if (specs.length === 0) throw new Error('no classes given');
  return specs.map((s) => resolveClass(s, lookup));
}
