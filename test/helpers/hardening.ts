import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export { caught } from './errors.js';
