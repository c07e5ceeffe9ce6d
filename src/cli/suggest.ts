import type { Dataset } from '../app/data/dataset.js';
import { CollabperfError, isCollabperfError } from '../errors.js';

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition), so `GSMK8` is one
 * edit from `GSM8K`: swapped characters are the commonest typo in benchmark names.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2][j - 2] + 1);
      d[i][j] = v;
    }
  }
  return d[m][n];
}

const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '');

/**
 * Names closest to `query` by edit distance, best first: each name is compared whole and without a
 * trailing `(5-shot)`-style qualifier, case and punctuation ignored; only names within about a third
 * of the query's length are kept.
 */
export function closestNames(query: string, names: readonly string[], max = 3): string[] {
  const q = norm(query);
  if (q === '') return [];
  const limit = Math.max(1, Math.min(3, Math.floor(q.length / 3)));
  return names
    .map((name) => {
      const bare = norm(name.replace(/\s*\(.*\)\s*$/, ''));
      return { name, d: Math.min(editDistance(q, norm(name)), bare === '' ? Infinity : editDistance(q, bare)) };
    })
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, max)
    .map((x) => x.name);
}

/**
 * Runs `body` (which resolves task names typed by the user) and turns its "no task named X" error
 * into one that suggests the closest task names by edit distance and lists a few tasks.
 */
export function withTaskHints<T>(ds: Dataset, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (!isCollabperfError(e) || e.code !== 'E_NOT_FOUND') throw e;
    const m = /no task named "([^"]*)"/.exec(e.message);
    if (!m) throw e;
    throw new CollabperfError('E_NOT_FOUND', taskHint(ds, m[1]), { field: e.field ?? 'task' }, { cause: e });
  }
}

/** `no task named "GSMK8"; did you mean "GSM8K(5-shot)"? (29 tasks: A, B, C, ...)`. */
export function taskHint(ds: Dataset, name: string): string {
  const names = ds.tasks.map((t) => t.name);
  const close = closestNames(name, names);
  const few = names.slice(0, 6).map((n) => JSON.stringify(n)).join(', ');
  return (
    `no task named "${name}" in dataset "${ds.name}"` +
    (close.length ? `; did you mean ${close.map((c) => JSON.stringify(c)).join(' or ')}?` : '') +
    ` (${names.length} tasks: ${few}${names.length > 6 ? ', ...; `collabperf datasets` and --json list them all' : ''})`
  );
}
