import type { Command } from 'commander';
import { loadData, type LoadedData } from '../app/data/load.js';
import type { Dataset } from '../app/data/dataset.js';
import { DEFAULT_METHOD, PREDICTORS } from '../app/predictors/index.js';
import { WORKER_MIN_CELLS, startFitWorker, usesFitWorker } from '../app/predictors/fit-pool.js';
import type { BackendChoice } from '../backends/registry.js';
import { READER_NOTE } from '../app/data/wide-table.js';
import { observedOutsideScales, withDeclaredScales, type Scale } from '../app/data/scale.js';
import { CollabperfError, isCollabperfError } from '../errors.js';
import { scaleFlag } from './scales.js';

/** Flags every application command shares: where the data comes from and how it is read. */
export interface DataFlags {
  data?: string;
  tasksAsRows?: boolean;
  modelFactors?: string;
  taskFactors?: string;
  seed?: string;
  backend?: string;
  scale?: string;
  json?: boolean;
}

/** The data of a command: what the loader read, with the user's `--scale` applied. */
export interface FlagData extends LoadedData {
  /** The scales given with `--scale`, by task index (empty without the flag). */
  scales: Map<number, Scale>;
}

/** Adds the shared data flags to a command. */
export function withDataFlags(cmd: Command): Command {
  return cmd
    .option('--data <name|file>', 'built-in dataset name or a CSV/TSV/JSON file (default: crowdsource)')
    .option('--tasks-as-rows', 'the wide table has tasks as rows and models as columns')
    .option('--model-factors <file>', 'CSV of model factors (first column: model name)')
    .option('--task-factors <file>', 'CSV of task factors (first column: task name)')
    .option('--seed <n>', 'seed of every random choice (default 0)')
    .option('--backend <name>', 'factorization backend: auto, native or ts')
    .option('--scale <pairs>', 'task scales: "MMLU=0-100,Accuracy=0-1,Elo=unbounded" (fraction, percent, unbounded or MIN-MAX; default: the dataset\'s, else inferred)')
    .option('--json', 'machine-readable output');
}

/**
 * Loads the data named by the flags and declares the `--scale` scales on its tasks, so every
 * method, metric and clip of the command uses them; warnings go to stderr unless --json.
 */
export async function loadFromFlags(f: DataFlags): Promise<FlagData> {
  let loaded: LoadedData;
  try {
    loaded = await loadData(f.data, { tasksAsRows: f.tasksAsRows, modelFactors: f.modelFactors, taskFactors: f.taskFactors });
  } catch (e) {
    throw friendlyFileError(e);
  }
  // The readers leave what they had to guess (long layout, % signs, decimal commas, a transposed
  // table) in the dataset's notes; the user hears about it here, or in --json's `warnings`.
  for (const n of loaded.dataset.notes) if (n.startsWith(READER_NOTE)) loaded.warnings.push(n.slice(READER_NOTE.length));
  const scales = scaleFlag(loaded.dataset, f.scale);
  for (const w of observedOutsideScales(loaded.dataset, scales)) loaded.warnings.push(w.message);
  const data: FlagData = { ...loaded, dataset: withDeclaredScales(loaded.dataset, scales), scales };
  if (!f.json) for (const w of data.warnings) process.stderr.write(`collabperf: warning: ${w}\n`);
  return data;
}

/** The seed flag as a uint32. */
/**
 * Starts the fit worker, before the first fit asks for it, when one of the methods named (`"a,b"`,
 * `"all"`, or undefined for the default) uses it and the table is large enough for fits to go
 * there. Names are not checked here: the command reports unknown ones.
 */
export function warmUpMethods(names: string | undefined, ds: Dataset): void {
  if (ds.scores.value.length < WORKER_MIN_CELLS) return;
  const list = (names ?? DEFAULT_METHOD).split(',').map((n) => n.trim());
  if (PREDICTORS.some((p) => (list.includes('all') || list.includes(p.name)) && usesFitWorker(p))) startFitWorker();
}

export function seedFlag(v: string | undefined): number {
  if (v === undefined) return 0;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new CollabperfError('E_INVALID_ARGUMENT', `--seed must be an integer from 0 to 4294967295, got "${v}"`, { field: 'seed' });
  return x;
}

export function backendFlag(v: string | undefined): BackendChoice | undefined {
  if (v === undefined) return undefined;
  if (v !== 'auto' && v !== 'native' && v !== 'ts') throw new CollabperfError('E_INVALID_ARGUMENT', `--backend must be auto, native or ts, got "${v}"`, { field: 'backend' });
  return v;
}

/** The methods, one a line with their description, for the help of every command taking --method(s). */
export function methodsHelpText(): string {
  const w = Math.max(...PREDICTORS.map((p) => p.name.length));
  return `\nMethods (default ${DEFAULT_METHOD}):\n${PREDICTORS.map((p) => `  ${p.name.padEnd(w)}  ${p.description}${p.usesFactors ? ' [uses factors]' : ''}`).join('\n')}\n`;
}

/** Prints load warnings and other notes to stderr (never stdout, which --json owns). */
export function warn(f: { json?: boolean }, message: string): void {
  if (!f.json) process.stderr.write(`collabperf: warning: ${message}\n`);
}

const FS_REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'a part of the path is not a directory', EMFILE: 'too many open files' };

/** `cannot read FILE: no such file` (E_FILE, with the file) instead of Node's raw ENOENT text. */
export function friendlyFileError(e: unknown): unknown {
  if (!isCollabperfError(e) || e.code !== 'E_FILE' || e.file === undefined) return e;
  const sys = (e.cause as { code?: string } | undefined)?.code;
  const reason = sys !== undefined ? FS_REASONS[sys] : undefined;
  if (reason === undefined) return e;
  const err = new CollabperfError('E_FILE', reason, { file: e.file }, { cause: e.cause });
  // formatMessage puts "FILE: " first; say "cannot read FILE: reason" as the brief's wording.
  Object.defineProperty(err, 'message', { value: `cannot read ${e.file}: ${reason}` });
  return err;
}
