/**
 * Costs of running benchmarks, for cost-aware advice: from `NAME=COST` pairs on the command line, a
 * CSV/TSV file of `task,cost` rows, or a numeric task factor (a "cost column") of the dataset.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { CollabperfError, isCollabperfError, type ErrorLocation } from '../../errors.js';
import { parseCsv } from '../data/csv.js';
import { looksNumeric, parseNumberCell } from '../data/cells.js';
import type { Dataset } from '../data/dataset.js';
import { resolveTask } from '../predict.js';

function checkCost(ds: Dataset, t: number, v: number, where: ErrorLocation): void {
  if (!(v > 0)) throw new CollabperfError('E_INVALID_ARGUMENT', `the cost of "${ds.tasks[t].name}" must be a positive number, got ${v}`, where);
}

function taskAt(ds: Dataset, name: string, where: ErrorLocation): number {
  try {
    return resolveTask(ds, name.trim());
  } catch (e) {
    // resolveTask reports field "task"; say where in the costs the name was instead.
    if (isCollabperfError(e)) throw new CollabperfError(e.code, e.message.replace(/^field "task": /, ''), where, { cause: e });
    throw e;
  }
}

function isTask(ds: Dataset, name: string): boolean {
  try {
    resolveTask(ds, name.trim());
    return true;
  } catch {
    return false;
  }
}

function add(ds: Dataset, out: Map<number, number>, lineOf: Map<number, string>, t: number, v: number, where: ErrorLocation, here: string): void {
  checkCost(ds, t, v, where);
  const prev = lineOf.get(t);
  if (prev !== undefined) throw new CollabperfError('E_DUPLICATE_ENTRY', `task "${ds.tasks[t].name}" has a cost twice (${prev} and ${here})`, where);
  lineOf.set(t, here);
  out.set(t, v);
}

/**
 * Parses benchmark costs into task index → cost (tasks not listed cost 1 in {@link advise}). `spec`
 * is, in this order of precedence:
 *
 * - an existing file: CSV/TSV with a header naming a `task` and a `cost` column (other columns are
 *   ignored; case-insensitive), or without a header two columns `task,cost`;
 * - `NAME=COST` pairs separated by commas (`"MMLU=2,GSM8K=1"`), names resolved like `--new`;
 * - the name of a numeric task factor of the dataset, whose values are the costs (tasks without a
 *   value are not listed).
 *
 * Errors name the file, line and field: `E_FILE` (unreadable file, or `spec` is none of the three),
 * `E_PARSE` (a malformed pair, a missing or non-numeric cost, a header without `task`/`cost`),
 * `E_NOT_FOUND` (unknown task), `E_DUPLICATE_ENTRY` (a task given twice), `E_INVALID_ARGUMENT` (a
 * cost that is not positive), `E_NON_FINITE` (an infinite cost).
 */
export function parseCosts(ds: Dataset, spec: string): Map<number, number> {
  const out = new Map<number, number>();
  const seen = new Map<number, string>();
  const s = spec.trim();
  if (s === '') throw new CollabperfError('E_PARSE', 'costs are empty: give NAME=COST pairs, a CSV file of task,cost rows, or a numeric task factor', { field: '--costs' });

  if (existsSync(s) && statSync(s).isFile()) {
    let text: string;
    try {
      text = readFileSync(s, 'utf8');
    } catch (e) {
      throw new CollabperfError('E_FILE', `cannot read costs file: ${(e as Error).message}`, { file: s }, { cause: e });
    }
    const { records } = parseCsv(text, { file: s });
    if (records.length === 0) throw new CollabperfError('E_PARSE', 'the costs file has no rows', { file: s });
    let taskCol = 0;
    let costCol = 1;
    let first = 0;
    const head = records[0].fields.map((f) => f.trim().toLowerCase());
    // A header names the task or cost column; a first row whose cost is a number, or whose first
    // cell is a task, is data (a headerless file); anything else is a header missing its columns.
    const looksHeader = head.includes('task') || head.includes('cost') || head.length < 2 || (!looksNumeric(head[1]) && !isTask(ds, records[0].fields[0]));
    if (looksHeader) {
      taskCol = head.indexOf('task');
      costCol = head.indexOf('cost');
      if (taskCol < 0 || costCol < 0) {
        throw new CollabperfError('E_PARSE', `the header needs a "task" and a "cost" column (found: ${records[0].fields.map((f) => JSON.stringify(f)).join(', ')})`, {
          file: s,
          line: records[0].line,
          field: taskCol < 0 ? 'task' : 'cost',
        });
      }
      first = 1;
    }
    for (let r = first; r < records.length; r++) {
      const { line, fields } = records[r];
      const name = fields[taskCol] ?? '';
      if (name.trim() === '') throw new CollabperfError('E_PARSE', 'the task name is missing', { file: s, line, field: 'task' });
      const t = taskAt(ds, name, { file: s, line, field: 'task' });
      const v = parseNumberCell(fields[costCol] ?? '', { file: s, line, field: 'cost' }, 'cost');
      if (v === undefined) throw new CollabperfError('E_PARSE', `the cost of "${name.trim()}" is missing`, { file: s, line, field: 'cost' });
      add(ds, out, seen, t, v, { file: s, line, field: 'cost' }, `line ${line}`);
    }
    return out;
  }

  if (s.includes('=')) {
    for (const part of s.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const i = part.lastIndexOf('=');
      if (i <= 0) throw new CollabperfError('E_PARSE', `"${part}" is not NAME=COST`, { field: '--costs' });
      const name = part.slice(0, i).trim();
      const t = taskAt(ds, name, { field: '--costs' });
      const v = parseNumberCell(part.slice(i + 1), { field: '--costs' }, `cost of "${name}"`);
      if (v === undefined) throw new CollabperfError('E_PARSE', `the cost of "${name}" is missing`, { field: '--costs' });
      add(ds, out, seen, t, v, { field: '--costs' }, `"${part}"`);
    }
    return out;
  }

  const factor = ds.factorSchema.task.find((f) => f.name === s) ?? ds.factorSchema.task.find((f) => f.name.toLowerCase() === s.toLowerCase());
  if (factor) {
    if (factor.type !== 'numeric') throw new CollabperfError('E_INVALID_ARGUMENT', `task factor "${factor.name}" is categorical; costs need a numeric one`, { field: '--costs' });
    ds.tasks.forEach((task, t) => {
      const v = task.factors[factor.name];
      if (typeof v === 'number') add(ds, out, seen, t, v, { field: factor.name }, `task ${t}`);
    });
    return out;
  }
  throw new CollabperfError('E_FILE', `"${s}" is not NAME=COST pairs, an existing file, or a numeric task factor of dataset "${ds.name}"`, { file: s });
}
