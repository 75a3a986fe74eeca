import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coordEncodingTable } from './coord-encoding';

test('DCT features equal the reference formula at sampled points', () => {
  const p = 16, M = 8;
  const t = coordEncodingTable('dct', p, p, M);
  assert.is(t.length, p * p * M * M);
  const fr = (a: number) => (8 * a) / 7; // linspace(0, 8, 8)
  for (const [i, j, a, b] of [[0, 0, 0, 0], [3, 7, 2, 5], [15, 1, 7, 7], [9, 15, 1, 6]] as const) {
    const ux = j / (p - 1), uy = i / (p - 1);
    const want = (Math.cos(Math.PI * ux * fr(a)) * Math.cos(Math.PI * uy * fr(b))) / (1 + fr(a) * fr(b));
    assert.ok(Math.abs(t[(i * p + j) * 64 + a * 8 + b]! - want) < 1e-6, `(${i},${j},${a},${b})`);
  }
});

test('a denser grid samples the same continuous field', () => {
  const coarse = coordEncodingTable('dct', 5, 5, 8);
  const fine = coordEncodingTable('dct', 9, 9, 8); // every 2nd point of the fine grid is a coarse point
  for (const [i, j] of [[0, 0], [2, 3], [4, 4]]) {
    for (let f = 0; f < 64; f++) assert.ok(Math.abs(coarse[(i! * 5 + j!) * 64 + f]! - fine[(2 * i! * 9 + 2 * j!) * 64 + f]!) < 1e-6);
  }
});

test('sincos has 4M features and none has zero', () => {
  const s = coordEncodingTable('sincos', 4, 4, 3);
  assert.is(s.length, 16 * 12);
  // pixel (1, 2): u_x = 2/3, u_y = 1/3, octave 1
  const row = (1 * 4 + 2) * 12;
  assert.ok(Math.abs(s[row + 4]! - Math.sin(2 * Math.PI * (2 / 3))) < 1e-6);
  assert.ok(Math.abs(s[row + 7]! - Math.cos(2 * Math.PI * (1 / 3))) < 1e-6);
  assert.is(coordEncodingTable('none', 4, 4, 8).length, 0);
});

test.run();
