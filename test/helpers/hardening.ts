import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CollabperfError } from '../../src/errors.js';

/** A fresh directory under the system temp dir, for files a hardening test writes. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `collabperf-${prefix}-`));
}

/** Writes `content` to `dir/name` and returns the path. */
export function writeIn(dir: string, name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Runs `f`, which must throw a CollabperfError, and returns that error for further checks. */
export function caught(f: () => unknown): CollabperfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CollabperfError);
    return e as CollabperfError;
  }
  throw new Error('expected a CollabperfError');
}
