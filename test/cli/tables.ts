/**
 * Small user tables written to a temp directory, shaped like the spreadsheets researchers bring:
 * a 16-model wide table with a few gaps, the same scores as a long table, with `%` signs, with
 * decimal commas, and transposed. Scores are a deterministic function of model and task so the
 * variants hold exactly the same numbers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TASKS = ['MMLU', 'GSM8K', 'HellaSwag', 'ARC', 'TruthfulQA', 'Winogrande'];
export const MODELS = Array.from({ length: 16 }, (_, i) => `model-${i}`);

/** Score of model m on task t, or undefined for the planted gaps (about one cell per model). */
export function score(m: number, t: number): number | undefined {
  if ((m * 3 + t * 5) % 7 === 0) return undefined;
  // A strength per model plus a task offset, with a model x task wiggle, on one decimal.
  const v = 30 + 3 * m + 4 * t + 0.7 * ((m * 5 + t * 11) % 9) - 4;
  return Math.round(v * 10) / 10;
}

export const OBSERVED = MODELS.reduce((n, _, m) => n + TASKS.filter((_, t) => score(m, t) !== undefined).length, 0);

/** Writes the variants; returns their paths. */
export function writeTables(): { dir: string; wide: string; long: string; percent: string; comma: string; transposed: string } {
  const dir = mkdtempSync(join(tmpdir(), 'collabperf-cli-tables-'));
  const cell = (m: number, t: number, f: (x: number) => string = String) => {
    const v = score(m, t);
    return v === undefined ? '' : f(v);
  };
  const wide = join(dir, 'wide.csv');
  writeFileSync(wide, [['model', ...TASKS].join(','), ...MODELS.map((name, m) => [name, ...TASKS.map((_, t) => cell(m, t))].join(','))].join('\n') + '\n');
  const long = join(dir, 'long.csv');
  const longRows = ['Model,Benchmark,Score'];
  MODELS.forEach((name, m) => TASKS.forEach((task, t) => score(m, t) !== undefined && longRows.push(`${name},${task},${score(m, t)}`)));
  writeFileSync(long, longRows.join('\n') + '\n');
  const percent = join(dir, 'percent.csv');
  writeFileSync(percent, [['model', ...TASKS].join(','), ...MODELS.map((name, m) => [name, ...TASKS.map((_, t) => cell(m, t, (x) => `${x}%`))].join(','))].join('\n') + '\n');
  const comma = join(dir, 'comma.csv');
  writeFileSync(comma, [['model', ...TASKS].join(';'), ...MODELS.map((name, m) => [name, ...TASKS.map((_, t) => cell(m, t, (x) => String(x).replace('.', ',')))].join(';'))].join('\n') + '\n');
  const transposed = join(dir, 'transposed.csv');
  writeFileSync(transposed, [['benchmark', ...MODELS].join(','), ...TASKS.map((task, t) => [task, ...MODELS.map((_, m) => cell(m, t))].join(','))].join('\n') + '\n');
  return { dir, wide, long, percent, comma, transposed };
}
