import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { CollabperfError } from '../errors.js';

interface WriteFileAtomicLib {
  sync(filename: string, data: string | Uint8Array, options?: { mode?: number; fsync?: boolean }): void;
}

// write-file-atomic is CommonJS without bundled types; require keeps the ESM build free of interop shims.
const lib = createRequire(import.meta.url)('write-file-atomic') as WriteFileAtomicLib;

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Checks that `path` is absent or (after following symlinks) a regular file, and returns the path
 * that will really be replaced. Exported for the tests and for callers that want to fail before
 * doing expensive work.
 */
export function checkReplaceable(path: string): string {
  if (typeof path !== 'string' || path === '') throw new CollabperfError('E_INVALID_ARGUMENT', 'an output path is required');
  let link: Stats | undefined;
  try {
    link = lstatSync(path);
  } catch {
    return path; // does not exist yet (or a dangling path the write itself will report)
  }
  let target = path;
  let st = link;
  if (link.isSymbolicLink()) {
    try {
      target = realpathSync(path);
      st = statSync(target);
    } catch {
      throw new CollabperfError('E_FILE', 'is a symbolic link whose target does not exist; refusing to replace it', { file: path });
    }
  }
  if (!st.isFile()) {
    throw new CollabperfError('E_FILE', `is ${kindOf(st)}; only a regular file is ever replaced`, { file: target === path ? path : `${path} -> ${target}` });
  }
  return target;
}

/**
 * The one file writer of the package: readers see either the old file or the whole new one, never
 * a torn write. `write` receives a function that appends text or bytes; the content is collected
 * and handed to npm's `write-file-atomic`, which writes a temporary file next to the target, fsyncs
 * it, gives it the old file's mode and owner (a 0600 file stays 0600) and renames it over the
 * target, removing the temporary file on any error and on exit signals.
 *
 * Only a regular file is ever replaced: an existing directory, character or block device, FIFO or
 * socket at `path` is an `E_FILE` error naming the path, and nothing is written. A symbolic link is
 * followed: its target (which must be a regular file) is replaced and the link itself is kept, so
 * `model.json -> models/v3.json` keeps pointing at the updated `models/v3.json`. A dangling link is
 * refused. Errors from `write` are rethrown as they are (no temporary file is left, since nothing
 * is opened before `write` returns); I/O failures are `E_FILE` with the path.
 */
export function writeFileAtomic(path: string, write: (append: (chunk: string | Uint8Array) => void) => void): void {
  checkReplaceable(path);
  const chunks: Buffer[] = [];
  write((chunk) => {
    // copied: a caller may reuse its buffer after appending it
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  });
  // Buffers, not one string: a 20M-line triplet file would pass V8's maximum string length.
  const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  const release = holdExitSignals();
  try {
    lib.sync(path, data);
  } catch (e) {
    throw new CollabperfError('E_FILE', `cannot write: ${(e as Error).message}`, { file: path }, { cause: e });
  } finally {
    release();
  }
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Keeps an exit signal that arrives during a synchronous write from being lost. write-file-atomic
 * listens for exit signals only while it writes (to remove its temporary file), and Node delivers a
 * signal to JavaScript listeners after the synchronous call has returned and that listener is gone:
 * with no listener left, the signal was dropped and the process carried on. This listener stays
 * until the event loop has polled for signals once more, and re-raises the signal with the default
 * action when no other listener of the program's own handles it.
 */
function holdExitSignals(): () => void {
  let held = true;
  const stop = (): void => {
    if (!held) return;
    held = false;
    for (const s of EXIT_SIGNALS) process.off(s, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    stop();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }
  for (const s of EXIT_SIGNALS) process.on(s, onSignal);
  // Two turns: the write may itself run in a poll phase (ESM top-level code, an I/O callback),
  // after which one immediate would come before the poll that reads the signal.
  return () => {
    setImmediate(() => setImmediate(stop));
  };
}
