/**
 * A protocol-2 unpickler for the opcodes torch.save writes, with a hard allowlist of globals.
 *
 * Pickle is a program: GLOBAL names any Python callable, REDUCE / NEWOBJ / BUILD call it.
 * This reader never calls anything that the file names. GLOBAL looks the dotted name up in the
 * caller's allowlist and throws `refused pickle global <module>.<name> in <source>` for any
 * other name, at the moment it is read: before any later opcode runs. An allowed global is a
 * data record (PickleGlobal) whose optional `reduce` is a value builder of this library. So:
 * - REDUCE applies only an allowlisted global's `reduce`;
 * - NEWOBJ, INST, OBJ, EXT1/2/4 (the copyreg registry) and PERSID are refused outright;
 * - BUILD only sets attributes of a collections.OrderedDict (a state_dict's `_metadata`);
 * - every other opcode pushes plain data.
 *
 * Opcodes: PROTO, STOP, MARK, POP, POP_MARK, DUP, EMPTY_DICT/LIST/TUPLE, SETITEM(S),
 * APPEND(S), TUPLE/TUPLE1-3, BINUNICODE, SHORT_BINUNICODE, BININT/BININT1/BININT2,
 * LONG1/LONG4 (signed little-endian two's complement), BINFLOAT (big-endian double),
 * NEWTRUE/NEWFALSE, NONE, GLOBAL, STACK_GLOBAL (same allowlist), REDUCE, BUILD, BINPERSID,
 * BINPUT/LONG_BINPUT, BINGET/LONG_BINGET, MEMOIZE, FRAME. Anything else is an error naming the
 * opcode and its byte offset.
 */
import { CheckpointError } from '../util/errors';
import {
  isDict,
  isGlobal,
  isList,
  isTuple,
  pickleTypeName,
  PickleOrderedDict,
  tuple,
  type PickleGlobal,
  type PickleKey,
  type PickleValue,
} from './pickle-values';

export interface UnpickleOptions {
  /** Names the pickle in messages (`data.pkl`). */
  source: string;
  /** The allowlist: dotted name -> global. Any name not here is refused. */
  globals: ReadonlyMap<string, PickleGlobal>;
  /** BINPERSID: turns a persistent id (torch: a storage tuple) into a value. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
}

/** Opcode bytes (Python's pickle.py names). */
const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  BINFLOAT: 0x47, // G
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  EMPTY_DICT: 0x7d, // }
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_TUPLE: 0x29, // )
  PROTO: 0x80,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

/** Opcodes that construct or call objects outside the allowlist's REDUCE path. */
const REFUSED_OPS: Record<number, string> = {
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a little-endian two's-complement integer (LONG1 / LONG4 payload). */
export function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Unpickles `bytes`. Throws CheckpointError for a refused global, a refused or unknown
 * opcode, a malformed stream or a truncated one; the message names `opts.source`.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): PickleValue {
  const { source } = opts;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let stack: PickleValue[] = [];
  const metastack: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  const fail = (what: string, at = pos): never => {
    throw new CheckpointError(`${source}: ${what} (pickle byte ${at})`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`truncated: needs ${n} more byte(s), ${bytes.length - pos} left`);
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: GLOBAL name without a newline');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const text = (n: number) => {
    const raw = take(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1]!;
  };
  /** The items pushed since the last MARK; the stack below it comes back. */
  const popMark = (): PickleValue[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail('no MARK for this opcode');
    stack = prev!;
    return items;
  };
  const key = (k: PickleValue): PickleKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k as PickleKey;
    return fail(`unsupported dict key of type ${pickleTypeName(k)}`);
  };
  const setItems = (d: PickleValue, kv: PickleValue[]) => {
    if (!isDict(d)) fail(`SETITEM(S) on a ${pickleTypeName(d)}, not a dict`);
    if (kv.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) (d as Map<PickleKey, PickleValue>).set(key(kv[i]!), kv[i + 1]!);
  };
  const appendItems = (l: PickleValue, items: PickleValue[]) => {
    if (!isList(l)) fail(`APPEND(S) on a ${pickleTypeName(l)}, not a list`);
    for (const item of items) (l as PickleValue[]).push(item);
  };
  const resolveGlobal = (module: string, name: string): PickleGlobal => {
    const dotted = `${module}.${name}`;
    const g = opts.globals.get(dotted);
    if (!g) throw new CheckpointError(`refused pickle global ${dotted} in ${source}: not on the allowlist of a weights file; nothing was called`);
    return g;
  };
  const memoGet = (i: number): PickleValue => {
    if (!memo.has(i)) fail(`memo ${i} was never stored`);
    return memo.get(i)!;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO: {
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`, at);
        break;
      }
      case OP.FRAME:
        take(8); // frame length: a hint only
        break;
      case OP.STOP: {
        const result = pop();
        if (stack.length !== 0 || metastack.length !== 0) fail('STOP with items left on the stack', at);
        return result;
      }
      case OP.MARK:
        metastack.push(stack);
        stack = [];
        break;
      case OP.POP: // like pickle.py: an empty stack means "pop the MARK"
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        stack.push(top());
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        need(4);
        stack.push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(u16());
        break;
      case OP.LONG1:
        stack.push(decodeLong(take(u8())));
        break;
      case OP.LONG4: {
        const n = u32();
        if (n > 1 << 20) fail(`LONG4 of ${n} bytes`, at);
        stack.push(decodeLong(take(n)));
        break;
      }
      case OP.BINFLOAT:
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case OP.BINUNICODE:
        stack.push(text(u32()));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(u8()));
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_TUPLE:
        stack.push(tuple([]));
        break;
      case OP.TUPLE: {
        const items = popMark(); // before reading `stack`: popMark replaces it
        stack.push(tuple(items));
        break;
      }
      case OP.TUPLE1: {
        const a = pop();
        stack.push(tuple([a]));
        break;
      }
      case OP.TUPLE2: {
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case OP.SETITEMS: {
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case OP.APPEND: {
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
        stack.push(memoGet(u8()));
        break;
      case OP.LONG_BINGET:
        stack.push(memoGet(u32()));
        break;
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name)); // throws for any name off the allowlist
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        if (!isGlobal(fn)) fail(`REDUCE on a ${pickleTypeName(fn)}: only allowlisted globals can be applied`, at);
        const g = fn as PickleGlobal;
        if (!g.reduce) fail(`REDUCE on ${g.name}, which is not callable in a weights file`, at);
        if (!isTuple(args)) fail(`REDUCE of ${g.name} with ${pickleTypeName(args)} arguments (need a tuple)`, at);
        try {
          stack.push(g.reduce!(args as readonly PickleValue[]));
        } catch (e) {
          if (e instanceof CheckpointError) throw new CheckpointError(`${source}: ${e.message} (pickle byte ${at})`);
          throw e;
        }
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const obj = top();
        if (!(obj instanceof PickleOrderedDict)) fail(`BUILD on a ${pickleTypeName(obj)}: only a collections.OrderedDict's attributes can be set`, at);
        if (!isDict(state)) fail(`BUILD of an OrderedDict with ${pickleTypeName(state)} state (need a dict of attributes)`, at);
        for (const [k, v] of state as Map<PickleKey, PickleValue>) {
          if (typeof k !== 'string') fail(`BUILD attribute name of type ${pickleTypeName(k)}`, at);
          (obj as PickleOrderedDict).attributes.set(k as string, v);
        }
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        if (!opts.persistentLoad) fail('BINPERSID without a persistent loader', at);
        try {
          stack.push(opts.persistentLoad!(pid));
        } catch (e) {
          if (e instanceof CheckpointError) throw new CheckpointError(`${source}: ${e.message} (pickle byte ${at})`);
          throw e;
        }
        break;
      }
      default: {
        const refused = REFUSED_OPS[op];
        if (refused) fail(`refused pickle opcode ${refused}: it builds objects outside the allowlist`, at);
        const ch = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}${ch}`, at);
      }
    }
  }
}
