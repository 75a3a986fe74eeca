/**
 * A streaming writer of STORED zip archives laid out like PyTorch's (miniz) writer: a local
 * header with zero CRC and sizes, an `FB` extra field padding each entry's data to a 64-byte
 * boundary, the data, a data descriptor, then the central directory and always a zip64 end
 * record + locator before the classic end record. Entries at or past 4 GiB get zip64 extra
 * fields. Used to make test and benchmark checkpoints; data is streamed from chunk iterators, so
 * a multi-GB archive never sits in memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import * as zlib from 'node:zlib';

export interface ZipEntrySource {
  name: string;
  /** The bytes, or a function giving them chunk by chunk (called once, while writing). */
  data: Uint8Array | (() => Iterable<Uint8Array>);
}

export interface ZipWriteOptions {
  /** Data alignment in bytes (PyTorch: 64); 0 writes no padding field. */
  align?: number;
  /** 'always' gives every entry zip64 extra fields even when small (to test zip64 readers). */
  zip64?: 'auto' | 'always';
}

const U32_MAX = 0xffffffff;
const crc32 = (zlib as unknown as { crc32(data: Uint8Array, value?: number): number }).crc32;

interface Written {
  name: Uint8Array;
  offset: number;
  size: number;
  crc: number;
}

/** Little-endian record builder. */
function record(size: number, fill: (dv: DataView) => void): Uint8Array {
  const out = new Uint8Array(size);
  fill(new DataView(out.buffer));
  return out;
}

/** Writes the archive to `path` (overwriting). Returns the number of bytes written. */
export function writeStoredZip(path: string, entries: Iterable<ZipEntrySource>, opts: ZipWriteOptions = {}): number {
  const align = opts.align ?? 64;
  const fd = openSync(path, 'w');
  let pos = 0;
  const put = (bytes: Uint8Array) => {
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    pos += bytes.byteLength;
  };
  try {
    const written: Written[] = [];
    for (const entry of entries) {
      const name = new TextEncoder().encode(entry.name);
      const offset = pos;
      let extra = new Uint8Array(0);
      if (align > 0) {
        const base = offset + 30 + name.length + 4;
        const pad = (align - (base % align)) % align;
        extra = record(4 + pad, (dv) => {
          dv.setUint16(0, 0x4246, true); // 'FB'
          dv.setUint16(2, pad, true);
          for (let i = 0; i < pad; i++) dv.setUint8(4 + i, 0x5a); // 'Z'
        });
      }
      put(
        record(30, (dv) => {
          dv.setUint32(0, 0x04034b50, true);
          dv.setUint16(4, 45, true); // version needed: 4.5 (zip64)
          dv.setUint16(6, 0x0808, true); // data descriptor follows; UTF-8 names
          dv.setUint16(8, 0, true); // STORED
          // time, date, crc, sizes: 0 (the data descriptor and central directory have them)
          dv.setUint16(26, name.length, true);
          dv.setUint16(28, extra.length, true);
        }),
      );
      put(name);
      put(extra);
      let size = 0;
      let crc = 0;
      const chunks = typeof entry.data === 'function' ? entry.data() : [entry.data];
      for (const chunk of chunks) {
        crc = crc32(chunk, crc);
        size += chunk.byteLength;
        put(chunk);
      }
      const big = size >= U32_MAX;
      put(
        record(big ? 24 : 16, (dv) => {
          dv.setUint32(0, 0x08074b50, true);
          dv.setUint32(4, crc, true);
          if (big) {
            dv.setBigUint64(8, BigInt(size), true);
            dv.setBigUint64(16, BigInt(size), true);
          } else {
            dv.setUint32(8, size, true);
            dv.setUint32(12, size, true);
          }
        }),
      );
      written.push({ name, offset, size, crc });
    }
    const cdStart = pos;
    for (const w of written) put(centralHeader(w, opts.zip64 === 'always'));
    const cdSize = pos - cdStart;
    const eocd64 = pos;
    put(
      record(56, (dv) => {
        dv.setUint32(0, 0x06064b50, true);
        dv.setBigUint64(4, 44n, true);
        dv.setUint16(12, 45, true);
        dv.setUint16(14, 45, true);
        dv.setBigUint64(24, BigInt(written.length), true);
        dv.setBigUint64(32, BigInt(written.length), true);
        dv.setBigUint64(40, BigInt(cdSize), true);
        dv.setBigUint64(48, BigInt(cdStart), true);
      }),
    );
    put(
      record(20, (dv) => {
        dv.setUint32(0, 0x07064b50, true);
        dv.setBigUint64(8, BigInt(eocd64), true);
        dv.setUint32(16, 1, true);
      }),
    );
    const n = Math.min(written.length, 0xffff);
    put(
      record(22, (dv) => {
        dv.setUint32(0, 0x06054b50, true);
        dv.setUint16(8, n, true);
        dv.setUint16(10, n, true);
        dv.setUint32(12, Math.min(cdSize, U32_MAX), true);
        dv.setUint32(16, Math.min(cdStart, U32_MAX), true);
      }),
    );
    return pos;
  } finally {
    closeSync(fd);
  }
}

/** One central-directory header, with a zip64 extra field where a value does not fit 32 bits. */
function centralHeader(w: Written, forceZip64: boolean): Uint8Array {
  const sizeBig = forceZip64 || w.size >= U32_MAX;
  const offsetBig = forceZip64 || w.offset >= U32_MAX;
  const fields: number[] = [];
  if (sizeBig) fields.push(w.size, w.size); // uncompressed, compressed
  if (offsetBig) fields.push(w.offset);
  const extraLen = fields.length ? 4 + 8 * fields.length : 0;
  const out = record(46 + w.name.length + extraLen, (dv) => {
    dv.setUint32(0, 0x02014b50, true);
    dv.setUint16(4, 45, true);
    dv.setUint16(6, 45, true);
    dv.setUint16(8, 0x0808, true);
    dv.setUint16(10, 0, true);
    dv.setUint32(16, w.crc, true);
    dv.setUint32(20, sizeBig ? U32_MAX : w.size, true);
    dv.setUint32(24, sizeBig ? U32_MAX : w.size, true);
    dv.setUint16(28, w.name.length, true);
    dv.setUint16(30, extraLen, true);
    dv.setUint32(42, offsetBig ? U32_MAX : w.offset, true);
    if (extraLen) {
      const at = 46 + w.name.length;
      dv.setUint16(at, 0x0001, true);
      dv.setUint16(at + 2, 8 * fields.length, true);
      fields.forEach((v, i) => dv.setBigUint64(at + 4 + 8 * i, BigInt(v), true));
    }
  });
  out.set(w.name, 46);
  return out;
}
