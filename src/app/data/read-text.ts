/**
 * Reading input text files with limits. Every data reader gets its text from here, so a file that
 * is not line-oriented text (a 60 MB single-line CSV, a binary dump) is refused with the file and
 * line while it is read, before any parser builds its per-line copies of it.
 */
import { constants } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { CollabperfError } from '../../errors.js';

/** Limits of {@link readTextFileSync}. */
export interface TextLimits {
  /** Longest line accepted, in bytes (default {@link DEFAULT_MAX_LINE_BYTES}). */
  maxLineBytes?: number;
}

/** Default longest line: 1 MiB (a wide table with thousands of model columns stays far below it). */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

const CHUNK = 1 << 20;

/**
 * Tracks line lengths across chunks without keeping more than the chunks themselves. Lines end at
 * LF, CRLF or a lone CR (old Mac files), counted as the CSV reader counts them, so a CR-only table
 * is not one long line and the line numbers of both agree.
 */
class LineGuard {
  private line = 1;
  private current = 0;
  // the last chunk ended in CR: an LF starting the next one is the rest of a CRLF
  private afterCr = false;
  constructor(
    private readonly file: string,
    private readonly max: number,
  ) {}

  feed(buf: Buffer): void {
    const n = buf.length;
    let s = 0;
    // Both positions are searched once each and advanced only when used: searching both from every
    // break would rescan a CR-free chunk to its end at each LF.
    let lf = buf.indexOf(10, 0);
    let cr = buf.indexOf(13, 0);
    for (;;) {
      const i = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (i === -1) break;
      if (i === lf && i === s && this.afterCr) {
        this.afterCr = false;
      } else {
        this.check(this.current + (i - s));
        this.current = 0;
        this.line++;
        this.afterCr = i === cr;
      }
      s = i + 1;
      if (i === lf) lf = buf.indexOf(10, s);
      else cr = buf.indexOf(13, s);
    }
    if (s < n) this.afterCr = false;
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
 * More bytes than this cannot become one string (V8's limit, about 512 MiB); refused as E_TOO_LARGE
 * instead of the engine's plain "Cannot create a string longer than..." error.
 */
const MAX_TEXT_BYTES = constants.MAX_STRING_LENGTH;

function tooBig(path: string, bytes: number): CollabperfError {
  return new CollabperfError('E_TOO_LARGE', `file holds ${bytes} bytes or more, over the ${MAX_TEXT_BYTES} a text can have in memory`, { file: path });
}

/**
 * The reading loop of {@link readTextFileSync} and {@link readTextFile}, written once: it yields a
 * buffer to fill, is resumed with the number of bytes read into it (0 at the end of the file) and
 * returns the text. `size` (from fstat; 0 for pipes and devices) refuses a huge file before reading.
 */
function* textReader(path: string, max: number, size: number): Generator<Buffer, string, number> {
  if (size > MAX_TEXT_BYTES) throw tooBig(path, size);
  const guard = new LineGuard(path, max);
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = yield buf;
    if (n === 0) break;
    total += n;
    if (total > MAX_TEXT_BYTES) throw tooBig(path, total);
    const chunk = n === CHUNK ? buf : buf.subarray(0, n);
    guard.feed(chunk);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads a UTF-8 text file in 1 MiB chunks, refusing (E_TOO_LARGE, with file and line) a line longer
 * than `maxLineBytes` as soon as it is seen, and a file too big to be a string. Unreadable files and
 * directories are E_FILE.
 */
export function readTextFileSync(path: string, limits: TextLimits = {}): string {
  const max = maxOf(limits);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (e) {
      throw fileError(path, e);
    }
    const reader = textReader(path, max, size);
    for (let step = reader.next(); ; ) {
      if (step.done) return step.value;
      const buf = step.value;
      let n: number;
      try {
        n = readSync(fd, buf, 0, CHUNK, null);
      } catch (e) {
        throw fileError(path, e);
      }
      step = reader.next(n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Asynchronous {@link readTextFileSync}. */
export async function readTextFile(path: string, limits: TextLimits = {}): Promise<string> {
  const max = maxOf(limits);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    let size: number;
    try {
      size = (await fh.stat()).size;
    } catch (e) {
      throw fileError(path, e);
    }
    const reader = textReader(path, max, size);
    for (let step = reader.next(); ; ) {
      if (step.done) return step.value;
      const buf = step.value;
      let n: number;
      try {
        n = (await fh.read(buf, 0, CHUNK, null)).bytesRead;
      } catch (e) {
        throw fileError(path, e);
      }
      step = reader.next(n);
    }
  } finally {
    await fh.close();
  }
}
