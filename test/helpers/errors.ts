import { expect } from 'vitest';
import { CollabperfError } from '../../src/errors.js';

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

/** The code of the CollabperfError a promise rejects with, or undefined when it resolves. */
export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CollabperfError);
    return (e as CollabperfError).code;
  }
  return undefined;
}
