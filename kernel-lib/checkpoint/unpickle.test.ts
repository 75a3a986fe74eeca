import '../../test/setup';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CheckpointError } from '../util/errors';
import { isTuple, PickleOrderedDict, type PickleValue } from './pickle-values';
import { PickleWriter } from './pickle-writer';
import { TORCH_GLOBALS } from './torch-globals';
import { decodeLong, unpickle } from './unpickle';

const load = (w: PickleWriter) => unpickle(w.stop().bytes(), { source: 'data.pkl', globals: TORCH_GLOBALS });
const p = () => new PickleWriter().proto();

test('ints: BININT1, BININT2, BININT (negative), LONG1 (big and negative), as numbers or bigint', () => {
  const values: (number | bigint)[] = [0, 255, 256, 65535, 65536, -1, -5, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40, -(2 ** 35), 2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 53n, -(2n ** 63n), 2n ** 100n, -(2n ** 100n) - 7n];
  for (const v of values) {
    const got = load(p().int(v));
    const want = typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    assert.is(got, want, `int ${v}`);
  }
});

test('decodeLong: two\'s complement little-endian, empty = 0', () => {
  assert.is(decodeLong(new Uint8Array([])), 0);
  assert.is(decodeLong(new Uint8Array([0xff])), -1);
  assert.is(decodeLong(new Uint8Array([0x80, 0x00])), 128);
  assert.is(decodeLong(new Uint8Array([0x00, 0x00, 0x00, 0x00, 0x00, 0x01])), 2 ** 40);
  assert.is(decodeLong(new Uint8Array([0x00, 0x00, 0x00, 0x00, 0xf8])), -(2 ** 35));
});

test('floats (big-endian BINFLOAT), strings (UTF-8), None, bools', () => {
  assert.is(load(p().float(2.5)), 2.5);
  assert.is(load(p().float(-1e-300)), -1e-300);
  assert.ok(Number.isNaN(load(p().float(NaN)) as number));
  assert.is(load(p().str('blocks.0.attn.qkv.weight — ü')), 'blocks.0.attn.qkv.weight — ü');
  assert.is(load(p().none()), null);
  assert.is(load(p().bool(true)), true);
  assert.is(load(p().bool(false)), false);
});

test('nested dicts, lists and tuples; tuples come back frozen, lists mutable', () => {
  const w = p().emptyDict().put().mark();
  w.str('list').emptyList().mark().int(1).emptyTuple().int(2).int(3).tuple(2).mark().int(4).int(5).int(6).int(7).tuple().appends();
  w.str('one').int(1).tuple(1);
  w.str('three').int(1).int(2).int(3).tuple(3);
  w.str('empty').emptyDict();
  w.setitems();
  const d = load(w) as Map<string, PickleValue>;
  assert.equal([...d.keys()], ['list', 'one', 'three', 'empty']);
  const list = d.get('list') as PickleValue[];
  assert.ok(!isTuple(list));
  assert.equal(list, [1, [], [2, 3], [4, 5, 6, 7]]);
  assert.ok(isTuple(list[1]!) && isTuple(list[2]!) && isTuple(list[3]!));
  assert.equal(d.get('one'), [1]);
  assert.equal(d.get('three'), [1, 2, 3]);
  assert.ok(d.get('empty') instanceof Map);
});

test('memo: BINPUT/BINGET and LONG_BINPUT/LONG_BINGET share the same object', () => {
  const w = p().emptyList().mark();
  for (let i = 0; i < 300; i++) w.str(`s${i}`).put();
  w.emptyDict().put().get(5).get(299).get(300).appends();
  const l = load(w) as PickleValue[];
  assert.is(l.length, 304);
  assert.is(l[301], 's5');
  assert.is(l[302], 's299');
  assert.is(l[303], l[300], 'same dict object');
});

test('collections.OrderedDict: REDUCE, SETITEMS, BUILD with _metadata', () => {
  const w = p().global('collections', 'OrderedDict').put().emptyTuple().reduce().mark().str('a').int(1).str('b').int(2).setitems();
  w.emptyDict().str('_metadata').get(0).emptyTuple().reduce().str('').emptyDict().str('version').int(1).setitem().setitem().setitem().build();
  const d = load(w);
  assert.instance(d, PickleOrderedDict);
  assert.equal([...(d as PickleOrderedDict).entries()], [['a', 1], ['b', 2]]);
  const meta = (d as PickleOrderedDict).attributes.get('_metadata') as PickleOrderedDict;
  assert.equal((meta.get('') as Map<string, number>).get('version'), 1);
});

test('errors name the problem and the byte: truncated, unknown opcode, bad structure', () => {
  const cases: [Uint8Array, RegExp][] = [
    [p().str('abc').bytes().subarray(0, 6), /data\.pkl: truncated/],
    [p().raw(0x58, 0xff, 0xff, 0xff, 0x7f).bytes(), /truncated: needs 2147483647 more byte/],
    [p().raw(0xfe).stop().bytes(), /unsupported pickle opcode 0xfe \(pickle byte 2\)/],
    [p().raw(0x50).stop().bytes(), /refused pickle opcode PERSID/],
    [p().int(1).int(2).stop().bytes(), /STOP with items left on the stack/],
    [p().stop().bytes(), /stack underflow/],
    [p().str('x').emptyTuple().reduce().stop().bytes(), /REDUCE on a str: only allowlisted globals can be applied/],
    [p().emptyDict().emptyDict().build().stop().bytes(), /BUILD on a dict: only a collections\.OrderedDict's attributes can be set/],
    [p().emptyTuple().int(1).append().stop().bytes(), /APPEND\(S\) on a tuple, not a list/],
    [p().emptyDict().emptyList().int(1).setitem().stop().bytes(), /unsupported dict key of type list/],
    [p().raw(0x68, 7).stop().bytes(), /memo 7 was never stored/],
    [p().raw(0x74).stop().bytes(), /no MARK for this opcode/],
    [p().global('torch._utils', '_rebuild_tensor_v2').emptyTuple().reduce().stop().bytes(), /_rebuild_tensor_v2: expected 6 or 7 arguments, got 0/],
    [p().mark().int(1).stop().bytes(), /stack underflow|STOP with items left/],
  ];
  for (const [bytes, re] of cases) {
    try {
      unpickle(bytes, { source: 'data.pkl', globals: TORCH_GLOBALS });
      assert.unreachable(`accepted ${re}`);
    } catch (e) {
      assert.instance(e, CheckpointError, String(e));
      assert.match((e as Error).message, re);
    }
  }
});

test('a refused global is reported before the opcodes after it run', () => {
  let loads = 0;
  const w = p().emptyList().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(1).tuple().binpersid();
  w.global('posix', 'system').mark().str('storage').global('torch', 'FloatStorage').str('1').str('cpu').int(1).tuple().binpersid().appends();
  assert.throws(
    () => unpickle(w.stop().bytes(), { source: 'data.pkl', globals: TORCH_GLOBALS, persistentLoad: () => (loads++, null) }),
    /^refused pickle global posix\.system in data\.pkl/,
  );
  assert.is(loads, 1, 'the persistent id after the refused global was never loaded');
});

test.run();
