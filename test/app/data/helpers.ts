import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { CollabperfError, type CollabperfErrorCode } from '../../../src/errors.js';

/** Absolute path of a fixture in test/fixtures/data/. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/data/${name}`, import.meta.url));
}

/** Run `fn`, expect a CollabperfError, check its code and (when given) line and field; return it. */
export function expectError(
  fn: () => unknown,
  code: CollabperfErrorCode,
  where: { line?: number; field?: string; file?: string | RegExp; message?: RegExp } = {},
): CollabperfError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(CollabperfError);
  const err = caught as CollabperfError;
  expect(err.code, err.message).toBe(code);
  if ('line' in where) expect(err.line, err.message).toBe(where.line);
  if ('field' in where) expect(err.field, err.message).toBe(where.field);
  if (where.file instanceof RegExp) expect(err.file ?? '', err.message).toMatch(where.file);
  else if (where.file !== undefined) expect(err.file, err.message).toBe(where.file);
  if (where.message) expect(err.message).toMatch(where.message);
  return err;
}

/** Async variant of {@link expectError}. */
export async function expectRejects(
  p: Promise<unknown>,
  code: CollabperfErrorCode,
  where: { line?: number; field?: string; message?: RegExp } = {},
): Promise<CollabperfError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  return expectError(() => {
    throw caught;
  }, code, where);
}
