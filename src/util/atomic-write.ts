import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { CollabperfError } from '../errors.js';

/**
 * Writes a file so that readers see either the old file or the whole new one, never a torn
 * write: the content goes to a temporary file in the same folder, is flushed, then renamed.
 * `write` receives a function that appends text or bytes.
 */
export function writeFileAtomic(path: string, write: (append: (chunk: string | Uint8Array) => void) => void): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new CollabperfError('E_FILE', `cannot write: ${(e as Error).message}`, { file: path });
  }
  try {
    write((chunk) => {
      if (typeof chunk === 'string') writeSync(fd, chunk);
      else writeSync(fd, chunk, 0, chunk.length);
    });
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    rmSync(tmp, { force: true });
    if (e instanceof CollabperfError) throw e;
    throw new CollabperfError('E_FILE', `cannot write: ${(e as Error).message}`, { file: path });
  }
}
