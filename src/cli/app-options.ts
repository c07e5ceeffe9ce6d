import type { Command } from 'commander';
import { loadData, type LoadedData } from '../app/data/load.js';
import { DEFAULT_METHOD, PREDICTORS } from '../app/predictors/index.js';
import type { BackendChoice } from '../backends/registry.js';
import { CollabperfError } from '../errors.js';

/** Flags every application command shares: where the data comes from and how it is read. */
export interface DataFlags {
  data?: string;
  tasksAsRows?: boolean;
  modelFactors?: string;
  taskFactors?: string;
  seed?: string;
  backend?: string;
  json?: boolean;
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
    .option('--json', 'machine-readable output');
}

/** Loads the data named by the flags; warnings go to stderr unless --json. */
export async function loadFromFlags(f: DataFlags): Promise<LoadedData> {
  const loaded = await loadData(f.data, { tasksAsRows: f.tasksAsRows, modelFactors: f.modelFactors, taskFactors: f.taskFactors });
  if (!f.json) for (const w of loaded.warnings) process.stderr.write(`collabperf: warning: ${w}\n`);
  return loaded;
}

/** The seed flag as a uint32. */
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
