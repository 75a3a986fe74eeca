/** Opening an untrusted weights file for reading, with the reader's error type. */
import { openSync } from 'node:fs';
import { CheckpointError } from '../util/errors';

/** A read-only file descriptor of `path`; a CheckpointError naming the file when it cannot be opened. */
export function openForRead(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`);
  }
}
