/**
 * Reading input text files with limits. Every data reader gets its text from here, so a file that
 * is not line-oriented text (a 60 MB single-line CSV, a binary dump) is refused with the file and
 * line while it is read, before any parser builds its per-line copies of it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { CollabperfError } from '../../errors.js';

/** Limits of {@link readTextFileSync}. */
export interface TextLimits {
  /** Longest line accepted, in bytes (default {@link DEFAULT_MAX_LINE_BYTES}). */
  maxLineBytes?: number;
}

/** Default longest line: 1 MiB (a wide table with thousands of model columns stays far below it). */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

const CHUNK = 1 << 20;

/** Tracks line lengths across chunks without keeping more than the chunks themselves. */
class LineGuard {
  private line = 1;
  private current = 0;
  constructor(
    private readonly file: string,
    private readonly max: number,
  ) {}

  feed(buf: Buffer, n: number): void {
    let s = 0;
    for (let i = buf.indexOf(10, 0); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) {
      this.check(this.current + (i - s));
      this.current = 0;
      this.line++;
      s = i + 1;
    }
    this.current += n - s;
    this.check(this.current);
  }

  private check(len: number): void {
    if (len > this.max) {
      throw new CollabperfError('E_TOO_LARGE', `line is longer than ${this.max} bytes (maxLineBytes); is this really a text table?`, { file: this.file, line: this.line });
    }
  }
}

function maxOf(limits: TextLimits): number {
  const m = limits.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!(typeof m === 'number' && m > 0)) throw new CollabperfError('E_INVALID_ARGUMENT', `maxLineBytes must be a positive number, got ${String(m)}`, { field: 'maxLineBytes' });
  return m;
}

function fileError(path: string, e: unknown): CollabperfError {
  return new CollabperfError('E_FILE', `cannot read file: ${(e as Error).message}`, { file: path }, { cause: e });
}

/**
 * Reads a UTF-8 text file in 1 MiB chunks, refusing (E_TOO_LARGE, with file and line) a line longer
 * than `maxLineBytes` as soon as it is seen. Unreadable files and directories are E_FILE.
 */
export function readTextFileSync(path: string, limits: TextLimits = {}): string {
  const guard = new LineGuard(path, maxOf(limits));
  const chunks: Buffer[] = [];
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      let n: number;
      try {
        n = readSync(fd, buf, 0, CHUNK, null);
      } catch (e) {
        throw fileError(path, e);
      }
      if (n === 0) break;
      guard.feed(buf, n);
      chunks.push(n === CHUNK ? buf : buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Asynchronous {@link readTextFileSync}. */
export async function readTextFile(path: string, limits: TextLimits = {}): Promise<string> {
  const guard = new LineGuard(path, maxOf(limits));
  const chunks: Buffer[] = [];
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      let n: number;
      try {
        n = (await fh.read(buf, 0, CHUNK, null)).bytesRead;
      } catch (e) {
        throw fileError(path, e);
      }
      if (n === 0) break;
      guard.feed(buf, n);
      chunks.push(n === CHUNK ? buf : buf.subarray(0, n));
    }
  } finally {
    await fh.close();
  }
  return Buffer.concat(chunks).toString('utf8');
}
