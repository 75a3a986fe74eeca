/**
 * A read-only view of a zip archive of STORED entries, read in place from the file.
 *
 * The central directory (zip64 included) is parsed by yauzl, which also checks each local
 * header and that every entry's data lies inside the file. What stays open is the file
 * descriptor: `readAt` reads any byte range with positional reads, so a 2.8 GB archive is never
 * held in memory. Entry data starts at local header offset + 30 + name length + the LOCAL extra
 * length (PyTorch pads the local extra field to align data to 64 bytes).
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import yauzl from 'yauzl';
import { CheckpointError } from '../util/errors';
import { openForRead } from './open-file';

export interface ZipEntry {
  name: string;
  /** File position of the entry's first data byte. */
  dataStart: number;
  /** Bytes of data (STORED: compressed size = uncompressed size). */
  size: number;
}

export interface ZipArchive {
  path: string;
  /** File size in bytes. */
  fileSize: number;
  /** Entries in central-directory order. */
  entries: ZipEntry[];
  byName: Map<string, ZipEntry>;
  /** Fills `target` with the file's bytes from `position`; throws if the file ends first. */
  readAt(target: Uint8Array, position: number): void;
  /** An entry's whole data (for small entries: data.pkl, byteorder). */
  readEntry(entry: ZipEntry): Uint8Array;
  close(): void;
}

/** Largest single readSync (Node caps one read at 2 GiB - 1). */
const READ_CHUNK = 1 << 30;

/** Positional read of exactly target.byteLength bytes. */
export function readFully(fd: number, target: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, Math.min(READ_CHUNK, target.byteLength - done), position + done);
    if (n === 0) throw new CheckpointError(`${path}: truncated: needed ${target.byteLength} bytes at ${position}, the file ended after ${done}`);
    done += n;
  }
}

/** Opens `path` as a zip archive. Throws CheckpointError for a truncated, corrupt or compressed archive. */
export async function openZip(path: string): Promise<ZipArchive> {
  const fd = openForRead(path);
  try {
    const fileSize = fstatSync(fd).size;
    const entries = await listEntries(fd, path);
    const byName = new Map(entries.map((e) => [e.name, e]));
    let open = true;
    const readAt = (target: Uint8Array, position: number) => {
      if (!open) throw new CheckpointError(`${path}: read after close`);
      readFully(fd, target, position, path);
    };
    return {
      path,
      fileSize,
      entries,
      byName,
      readAt,
      readEntry: (entry) => {
        const out = new Uint8Array(entry.size);
        readAt(out, entry.dataStart);
        return out;
      },
      close: () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

async function listEntries(fd: number, path: string): Promise<ZipEntry[]> {
  const corrupt = (e: unknown) => new CheckpointError(`${path}: not a readable zip archive, truncated or corrupt (${(e as Error).message})`);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromFdPromise(fd, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: true });
  } catch (e) {
    throw corrupt(e);
  }
  const raw: yauzl.Entry[] = [];
  try {
    for await (const entry of zip.eachEntry()) raw.push(entry);
    const out: ZipEntry[] = [];
    for (const entry of raw) {
      if (entry.compressionMethod !== 0) {
        throw new CheckpointError(`${path}: entry ${entry.fileName} is compressed (method ${entry.compressionMethod}); PyTorch checkpoints store entries uncompressed`);
      }
      if (entry.isEncrypted()) throw new CheckpointError(`${path}: entry ${entry.fileName} is encrypted`);
      const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
      out.push({ name: entry.fileName, dataStart: fileDataStart, size: entry.uncompressedSize });
    }
    return out;
  } catch (e) {
    throw e instanceof CheckpointError ? e : corrupt(e);
  }
}
