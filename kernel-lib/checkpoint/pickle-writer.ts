/**
 * A protocol-2 pickle emitter: the opcodes torch.save writes, one method each, so tests can
 * build byte-exact pickles (well-formed checkpoints and hostile ones). It writes bytes only:
 * nothing here interprets them.
 */

export class PickleWriter {
  private chunks: number[] = [];
  private memoNext = 0;

  private byte(...b: number[]): this {
    for (const x of b) this.chunks.push(x & 0xff);
    return this;
  }

  private u32(n: number): this {
    return this.byte(n, n >> 8, n >> 16, n >>> 24);
  }

  private ascii(s: string): this {
    for (const ch of s) this.byte(ch.charCodeAt(0));
    return this;
  }

  /** PROTO 2 */
  proto(v = 2): this {
    return this.byte(0x80, v);
  }
  stop(): this {
    return this.byte(0x2e);
  }
  mark(): this {
    return this.byte(0x28);
  }
  pop(): this {
    return this.byte(0x30);
  }
  none(): this {
    return this.byte(0x4e);
  }
  bool(v: boolean): this {
    return this.byte(v ? 0x88 : 0x89);
  }
  /** BININT1 / BININT2 / BININT / LONG1, whichever Python's pickler picks. */
  int(v: number | bigint): this {
    if (typeof v === 'number' && Number.isInteger(v)) {
      if (v >= 0 && v < 256) return this.byte(0x4b, v);
      if (v >= 0 && v < 65536) return this.byte(0x4d, v, v >> 8);
      if (v >= -(2 ** 31) && v < 2 ** 31) return this.byte(0x4a).u32(v);
    }
    return this.long1(BigInt(v));
  }
  /** LONG1: little-endian two's complement, as few bytes as hold the sign. */
  long1(v: bigint): this {
    const bytes: number[] = [];
    let x = v;
    for (;;) {
      const b = Number(x & 0xffn);
      bytes.push(b);
      x >>= 8n;
      if ((x === 0n && !(b & 0x80)) || (x === -1n && b & 0x80)) break;
    }
    if (v === 0n) bytes.length = 0;
    return this.byte(0x8a, bytes.length, ...bytes);
  }
  /** BINFLOAT: big-endian double. */
  float(v: number): this {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v, false);
    return this.byte(0x47, ...new Uint8Array(dv.buffer));
  }
  /** BINUNICODE */
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.byte(0x58).u32(b.length).byte(...b);
  }
  emptyDict(): this {
    return this.byte(0x7d);
  }
  emptyList(): this {
    return this.byte(0x5d);
  }
  emptyTuple(): this {
    return this.byte(0x29);
  }
  /** TUPLE (from MARK), or TUPLE1-3 for n = 1..3. */
  tuple(n?: number): this {
    if (n === 1) return this.byte(0x85);
    if (n === 2) return this.byte(0x86);
    if (n === 3) return this.byte(0x87);
    return this.byte(0x74);
  }
  setitem(): this {
    return this.byte(0x73);
  }
  setitems(): this {
    return this.byte(0x75);
  }
  append(): this {
    return this.byte(0x61);
  }
  appends(): this {
    return this.byte(0x65);
  }
  /** GLOBAL 'module\nname\n' */
  global(module: string, name: string): this {
    return this.byte(0x63).ascii(`${module}\n${name}\n`);
  }
  /** STACK_GLOBAL (protocol 4): module and name from the stack. */
  stackGlobal(): this {
    return this.byte(0x93);
  }
  reduce(): this {
    return this.byte(0x52);
  }
  build(): this {
    return this.byte(0x62);
  }
  newobj(): this {
    return this.byte(0x81);
  }
  binpersid(): this {
    return this.byte(0x51);
  }
  /** Any raw opcode byte(s), for opcodes without a method (EXT1, INST, ...). */
  raw(...b: number[]): this {
    return this.byte(...b);
  }
  /** BINPUT / LONG_BINPUT of the next memo slot; returns the slot through `slot`. */
  put(slot?: (i: number) => void): this {
    const i = this.memoNext++;
    slot?.(i);
    return i < 256 ? this.byte(0x71, i) : this.byte(0x72).u32(i);
  }
  /** BINGET / LONG_BINGET */
  get(i: number): this {
    return i < 256 ? this.byte(0x68, i) : this.byte(0x6a).u32(i);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
