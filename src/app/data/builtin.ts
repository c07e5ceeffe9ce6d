/**
 * The datasets shipped with the package in `data/<name>.json` (made from public tables by
 * `scripts/convert-datasets.ts`) and their listing `data/index.json`.
 *
 * The data folder is found relative to this module: `src/app/data/` (tsx, vitest) and
 * `dist/app/data/` (compiled) are both three levels below the package root.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CollabperfError } from '../../errors.js';
import type { Dataset } from './dataset.js';
import { parseDatasetJson } from './format.js';
import { parseJsonText } from './json-lines.js';

/** The dataset used when none is named. */
export const DEFAULT_DATASET = 'crowdsource';

/** Value of the `format` field of `data/index.json`. */
export const INDEX_FORMAT = 'collabperf-dataset-index';
/** Version of `data/index.json`. */
export const INDEX_FORMAT_VERSION = 1;

/** One line of {@link listBuiltinDatasets}. */
export interface BuiltinDatasetInfo {
  name: string;
  description: string;
  models: number;
  tasks: number;
  /** Observed (model, task) cells. */
  observed: number;
  /** observed / (models × tasks). */
  density: number;
  /** File name inside the data folder. */
  file: string;
}

/** The folder holding the built-in datasets (`<package root>/data/`). */
export function builtinDataDir(): URL {
  return new URL('../../../data/', import.meta.url);
}

function readText(url: URL): string {
  try {
    return readFileSync(url, 'utf8');
  } catch (e) {
    throw new CollabperfError('E_FILE', `cannot read built-in data file: ${(e as Error).message}`, { file: fileURLToPath(url) }, { cause: e });
  }
}

/**
 * The built-in datasets with their shapes, read from `data/index.json` (written by the converter
 * together with the datasets, so it stays consistent with them).
 */
export function listBuiltinDatasets(): BuiltinDatasetInfo[] {
  const url = new URL('index.json', builtinDataDir());
  const file = fileURLToPath(url);
  const doc = parseJsonText(readText(url), file) as { format?: unknown; version?: unknown; datasets?: unknown };
  if (typeof doc !== 'object' || doc === null || doc.format !== INDEX_FORMAT) {
    throw new CollabperfError('E_PARSE', `not a collabperf dataset index (expected "format": "${INDEX_FORMAT}")`, { file });
  }
  if (doc.version !== INDEX_FORMAT_VERSION) {
    throw new CollabperfError('E_VERSION', `dataset index has version ${JSON.stringify(doc.version)}; this collabperf reads version ${INDEX_FORMAT_VERSION}`, { file });
  }
  if (!Array.isArray(doc.datasets)) throw new CollabperfError('E_PARSE', '"datasets" must be an array', { file, field: 'datasets' });
  return (doc.datasets as BuiltinDatasetInfo[]).map((d) => ({
    name: d.name,
    description: d.description,
    models: d.models,
    tasks: d.tasks,
    observed: d.observed,
    density: d.density,
    file: d.file,
  }));
}

/** Names of the built-in datasets. */
export function builtinDatasetNames(): string[] {
  return listBuiltinDatasets().map((d) => d.name);
}

/** True when `name` is a built-in dataset (case-insensitive). */
export function isBuiltinDataset(name: string): boolean {
  const n = name.toLowerCase();
  return listBuiltinDatasets().some((d) => d.name.toLowerCase() === n);
}

/**
 * Load a built-in dataset by name (case-insensitive; default {@link DEFAULT_DATASET}). An unknown name
 * is `E_NOT_FOUND`, listing the available ones. A fresh object is returned on every call.
 */
export function loadBuiltinDataset(name: string = DEFAULT_DATASET): Dataset {
  const all = listBuiltinDatasets();
  const info = all.find((d) => d.name.toLowerCase() === name.toLowerCase());
  if (!info) {
    throw new CollabperfError('E_NOT_FOUND', `no built-in dataset named "${name}"; available: ${all.map((d) => d.name).join(', ')}`, { field: 'dataset' });
  }
  const url = new URL(info.file, builtinDataDir());
  return parseDatasetJson(readText(url), { file: fileURLToPath(url) });
}
