import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { IMAGENET_CLASS_NAMES, IMAGENET_NUM_CLASSES, closeClassNames, defaultClassNames, parseClassList, resolveClass, resolveClasses, shortClassName } from './class-names';

const IMAGENET = { numClasses: IMAGENET_NUM_CLASSES, names: IMAGENET_CLASS_NAMES };

test('the ImageNet table has 1,000 names in the standard order', () => {
  assert.is(IMAGENET_CLASS_NAMES.length, 1000);
  // anchors of the standard ILSVRC-2012 order (synset-sorted), as every c2i model numbers them
  const anchors: Array<[number, string]> = [
    [0, 'tench'],
    [1, 'goldfish'],
    [2, 'great white shark'],
    [88, 'macaw'],
    [207, 'golden retriever'],
    [281, 'tabby'],
    [388, 'giant panda'],
    [409, 'analog clock'],
    [417, 'balloon'],
    [530, 'digital clock'],
    [933, 'cheeseburger'],
    [954, 'banana'],
    [980, 'volcano'],
    [999, 'toilet tissue'],
  ];
  for (const [id, name] of anchors) assert.is(shortClassName(IMAGENET_CLASS_NAMES[id]!), name, `class ${id}`);
  assert.is(IMAGENET_CLASS_NAMES[0], 'tench, Tinca tinca');
  assert.is(new Set(IMAGENET_CLASS_NAMES).size, 999, "one whole name repeats: 'crane' (134 the bird, 517 the machine)");
});

test('the table is the mobilenet package file alone (no TF model is imported)', () => {
  const src = readFileSync('kernel-lib/sampling/class-names.ts', 'utf8');
  const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  assert.equal(imports, ['@tensorflow-models/mobilenet/dist/imagenet_classes']);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  assert.match(pkg.dependencies['@tensorflow-models/mobilenet'], /^\d+\.\d+\.\d+$/, 'pinned to an exact version');
});

test('ids, whole names and unique synonyms, case-insensitively', () => {
  assert.is(resolveClass('207', IMAGENET), 207);
  assert.is(resolveClass(207, IMAGENET), 207);
  assert.is(resolveClass('golden retriever', IMAGENET), 207);
  assert.is(resolveClass('Golden  Retriever', IMAGENET), 207);
  assert.is(resolveClass('tench, Tinca tinca', IMAGENET), 0);
  assert.is(resolveClass('TINCA TINCA', IMAGENET), 0);
  assert.is(resolveClass('toilet paper', IMAGENET), 999);
  assert.is(resolveClass('maillot', IMAGENET), 638, "a whole name wins over another class's synonym (639 'maillot, tank suit')");
  assert.is(resolveClass('tank suit', IMAGENET), 639);
  assert.equal(resolveClasses(parseClassList('207,golden retriever, tench ,999'), IMAGENET), [207, 207, 0, 999]);
});

test('ambiguous and unknown names are errors that list candidates', () => {
  assert.throws(() => resolveClass('crane', IMAGENET), /class "crane" is ambiguous: it names 134 "crane", 517 "crane"; give the id/);
  assert.throws(() => resolveClass('panda', IMAGENET), /class "panda" is ambiguous: it names 387 "lesser panda, [^"]+", 388 "giant panda, [^"]+"/);
  assert.throws(() => resolveClass('golden retreiver', IMAGENET), /unknown class "golden retreiver"; close: 207 "golden retriever"/);
  assert.throws(() => resolveClass('retriever', IMAGENET), /unknown class "retriever"; close: .*207 "golden retriever"/);
  assert.throws(() => resolveClass('xyzzy plugh', IMAGENET), (e: Error) => e.message === 'unknown class "xyzzy plugh"');
  assert.ok(closeClassNames('goldfsh', IMAGENET_CLASS_NAMES).includes(1));
});

test('ids out of range, names without a name table, empty items', () => {
  assert.throws(() => resolveClass('1000', IMAGENET), /class 1000 is out of range: this model has 1000 classes, ids 0\.\.999/);
  assert.throws(() => resolveClass('-1', IMAGENET), /class -1 is out of range/);
  assert.throws(() => resolveClass('12', { numClasses: 10 }), /class 12 is out of range: this model has 10 classes, ids 0\.\.9/);
  assert.throws(() => resolveClass('tench', { numClasses: 10 }), /class "tench" is not an id, and this model's classes have no names: give ids 0\.\.9/);
  assert.is(resolveClass('Sneaker', { numClasses: 3, names: ['T-shirt/top', 'Trouser', 'Sneaker'] }), 2);
  assert.throws(() => parseClassList('1,,2'), /item 2 is empty/);
  assert.throws(() => resolveClasses([], IMAGENET), /no classes given/);
});

test('defaultClassNames: ImageNet for a 1,000-class model only, given names first', () => {
  assert.is(defaultClassNames(1000), IMAGENET_CLASS_NAMES);
  assert.is(defaultClassNames(10), undefined);
  assert.equal(defaultClassNames(2, ['a', 'b']), ['a', 'b']);
});

test.run();
