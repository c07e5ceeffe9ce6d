/**
 * Converts the raw public score tables (the shared data folder, see its README.md) into the
 * project's own versioned dataset format, written to `data/<name>.json` plus the listing
 * `data/index.json`. Output is deterministic: re-running on the same input gives identical bytes.
 *
 *   npx tsx scripts/convert-datasets.ts [--shared ../shared/data] [--out data] [--check]
 *
 * `--shared` defaults to `../shared/data` relative to the repository root, `--out` to `data/` in the
 * repository. `--check` writes nothing and exits with status 1 when a file would change.
 *
 * This is the ONLY code that reads the shared folder; the runtime and the tests read `data/` only.
 * Every rule applied here (name reconciliation, deduplication, excluded columns, suspicious source
 * values) is printed and recorded in the dataset's `notes`; `data/README.md` documents them.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CollabperfError } from '../src/errors.js';
import { parseNumberCell, isMissing } from '../src/app/data/cells.js';
import { parseCsv } from '../src/app/data/csv.js';
import {
  createDataset,
  density,
  observedCount,
  scaleBounds,
  type Dataset,
  type FactorSpec,
  type FactorValue,
  type Factors,
  type ScoreTuple,
  type SourceEntry,
  type TaskEntry,
  type TaskScale,
} from '../src/app/data/dataset.js';
import { attachModelFactors, attachTaskFactors, parseFactorTable, type AttachReport } from '../src/app/data/factor-table.js';
import { parseDatasetJson, serializeDataset } from '../src/app/data/format.js';
import { INDEX_FORMAT, INDEX_FORMAT_VERSION, type BuiltinDatasetInfo } from '../src/app/data/builtin.js';
import { parseWideTable } from '../src/app/data/wide-table.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// Sources (repository @ commit from the shared README; no URLs)
// ---------------------------------------------------------------------------------------------

const CPP_LICENSE =
  'no license file in the repository; scores are published results (papers, technical reports, model cards) collected for the CPP paper (Zhang et al., EMNLP 2024, arXiv 2407.01300)';
const SRC = {
  cppScores: {
    id: 'cpp-crowdsource',
    title: 'CPP collected score matrix: 72 models x 29 tasks gathered from papers, technical reports and model cards',
    citation: 'Don-Joey/CPP_LLM @ 4c4319a data/crowdsource_performance.csv',
    license: CPP_LICENSE,
  },
  cppModelFeatures: {
    id: 'cpp-model-features',
    title: 'CPP model factors (family, pretraining tokens, parameters, compute, architecture)',
    citation: 'Don-Joey/CPP_LLM @ 4c4319a data/model_feature.csv',
    license: CPP_LICENSE,
  },
  cppTaskFeatures: {
    id: 'cpp-task-features',
    title: 'CPP task factors (ability, family, output format, few-shot count)',
    citation: 'Don-Joey/CPP_LLM @ 4c4319a data/benchmark_feature.csv',
    license: CPP_LICENSE,
  },
  cppHelmCore: {
    id: 'cpp-helm-core',
    title: 'HELM classic leaderboard, core scenarios, as exported by the CPP authors (56 metrics x 88 models, metrics as rows)',
    citation: 'Don-Joey/CPP_LLM @ 4c4319a data/helm_core.csv',
    license: 'no license file in the repository; results originally published by the Stanford CRFM HELM classic leaderboard',
  },
  helmAccuracy: {
    id: 'benchbench-helm-accuracy',
    title: 'HELM classic accuracy view: 67 models x 16 scenarios (+ mean win rate)',
    citation: 'socialfoundations/benchbench @ 658cb69 benchbench/data/helm/accuracy.tsv',
    license: 'MIT (repository license); results originally published by the Stanford CRFM HELM classic leaderboard',
  },
  obsscaling: {
    id: 'obsscaling-base-llm',
    title: 'Observational scaling laws: 148 base models x 8 benchmarks with family, size, data and compute',
    citation: 'ryoungj/ObsScaling @ 4d6e1e4 eval_results/base_llm_benchmark_eval.csv',
    license: 'no license file in the repository; evaluation results published with Ruan et al., Observational Scaling Laws (arXiv 2405.10938)',
  },
  openllm: {
    id: 'openllm-v1-archive',
    title: 'Open LLM Leaderboard v1 archive: 7,169 rows x 6 benchmarks with model metadata',
    citation: 'felipemaiapolo/sloth @ 6dc6bb3 data/open-llm-leaderboard_old.csv',
    license: 'no license file in the repository; results originally published by the Hugging Face Open LLM Leaderboard (v1)',
  },
  frontier: {
    id: 'frontier-matrix',
    title: 'LLM benchmark matrix: 83 models released 2025-01 to 2026-02 x 49 benchmarks, each score with its reference; model and benchmark metadata',
    citation: 'anadim/llm-benchmark-matrix @ 910d344 data/llm_benchmark_data.json',
    license: 'MIT (repository license); each score is a published result cited by its reference_url (kept as the source of that score)',
  },
} satisfies Record<string, SourceEntry>;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

interface Converted {
  dataset: Dataset;
  /** Lines printed after the shape. */
  report: string[];
}

function readShared(shared: string, rel: string): string {
  const p = join(shared, rel);
  try {
    return readFileSync(p, 'utf8');
  } catch (e) {
    throw new CollabperfError('E_FILE', `cannot read ${p}: ${(e as Error).message} (pass --shared <dir>)`, { file: p });
  }
}

/** Rebuild a dataset with some tasks removed (their scores too). */
function dropTasks(ds: Dataset, drop: Set<string>): Dataset {
  const keep = ds.tasks.map((t, i) => (drop.has(t.name) ? -1 : i));
  const newIndex = new Map<number, number>();
  keep.filter((i) => i >= 0).forEach((old, j) => newIndex.set(old, j));
  const scores: ScoreTuple[] = [];
  for (let e = 0; e < ds.scores.value.length; e++) {
    const t = newIndex.get(ds.scores.task[e]);
    if (t !== undefined) scores.push([ds.scores.model[e], t, ds.scores.value[e], ds.scores.source[e]]);
  }
  return createDataset({ ...ds, tasks: ds.tasks.filter((t) => !drop.has(t.name)), scores });
}

/** A copy with new task entries (same names, same order), e.g. to set factors and scales. */
function withTasks(ds: Dataset, tasks: TaskEntry[], taskSchema: FactorSpec[]): Dataset {
  return createDataset({ ...ds, tasks, factorSchema: { model: ds.factorSchema.model, task: taskSchema } });
}

/** Check that every score of a task lies inside its declared scale; throws otherwise. */
function checkScales(ds: Dataset): void {
  for (let e = 0; e < ds.scores.value.length; e++) {
    const t = ds.tasks[ds.scores.task[e]];
    if (t.scale === undefined) continue;
    const { min, max } = scaleBounds(t.scale);
    const v = ds.scores.value[e];
    if (v < min || v > max) throw new Error(`${ds.name}: score ${v} of "${ds.models[ds.scores.model[e]].name}" on "${t.name}" is outside its scale ${JSON.stringify(t.scale)}`);
  }
}

/** Split HELM names "Scenario - Metric" into task factors. */
function helmTaskFactors(name: string): Factors {
  const i = name.lastIndexOf(' - ');
  return i < 0 ? { scenario: name } : { scenario: name.slice(0, i), metric: name.slice(i + 3) };
}

const HELM_TASK_SCHEMA: FactorSpec[] = [
  { name: 'scenario', type: 'categorical', description: 'HELM scenario (the part of the column name before " - ")' },
  { name: 'metric', type: 'categorical', description: 'HELM metric (the part of the column name after " - ")' },
];

/** Scale and direction of a HELM metric, by the metric part of its name. */
function helmScale(metric: string | undefined): { scale?: TaskScale; higherIsBetter?: boolean } {
  if (metric === undefined) return {};
  if (metric === 'BPB') return { higherIsBetter: false }; // bits per byte: lower is better, unbounded
  if (metric === 'HumanEval-relevance' || metric === 'HumanEval-coherence') return { scale: { min: 1, max: 5 } }; // 1-5 human ratings
  if (/^(EM|F1|RR@10|NDCG@10|ROUGE-2|BLEU-4|pass@1|Coverage|HumanEval-faithfulness)$/.test(metric) || metric.startsWith('Equivalent')) return { scale: 'unit' };
  return {}; // SummaC, QAFactEval, BERTScore (rescaled, can be negative), Density, Compression: no fixed range
}

function unmatchedNote(kind: string, r: AttachReport): string {
  const um = r.unmatched.map((u) => `"${u.name}" (line ${u.line})`);
  const wf = r.withoutFactors.map((w) => `"${w}"`);
  return `${kind} names without an exact match: ${r.matched.filter((x) => x.rule !== 'exact').map((x) => `"${x.tableName}" (matched "${x.datasetName}" by ${x.rule})`).join(', ') || 'none'}; factor rows matching no ${kind}: ${um.join(', ') || 'none'}; ${kind}s without a factor row: ${wf.join(', ') || 'none'}.`;
}

function printReport(r: AttachReport, label: string): string[] {
  const out = [`${label}: ${r.matched.length} matched (${r.matched.filter((m) => m.rule === 'exact').length} exact, ${r.matched.filter((m) => m.rule === 'normalized').length} normalised, ${r.matched.filter((m) => m.rule === 'alias').length} alias)`];
  for (const m of r.matched) if (m.rule !== 'exact') out.push(`  ${m.rule}: "${m.tableName}" -> "${m.datasetName}"`);
  for (const u of r.unmatched) out.push(`  UNMATCHED factor row: "${u.name}" (line ${u.line})`);
  for (const w of r.withoutFactors) out.push(`  no factor row for: "${w}"`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// crowdsource (CPP collected matrix + model and task factors)
// ---------------------------------------------------------------------------------------------

/**
 * Name reconciliation between the score table and model_feature.csv, in this order:
 * 1. the explicit alias map below (factor-table name -> score-table name);
 * 2. exact equality;
 * 3. equality after normalisation (NFKC, lower case, runs of whitespace/-/_ as one space), when
 *    exactly one score-table model has that normalised name.
 * Anything left is printed and recorded in the dataset notes.
 */
export const CROWDSOURCE_MODEL_ALIASES: Record<string, string> = {
  // model_feature.csv omits the size suffix the score table carries; the factor rows' parameter
  // counts (13000, 30000, 70000 M) agree with the suffixes.
  'Luminous Base': 'Luminous Base-13B',
  'Luminous Extended': 'Luminous Extended-30B',
  'Luminous Supreme': 'Luminous Supreme-70B',
};

function convertCrowdsource(shared: string): Converted {
  const report: string[] = [];
  const scoresFile = 'cpp_llm/crowdsource_performance.csv';
  let ds = parseWideTable(readShared(shared, scoresFile), {
    file: scoresFile,
    name: 'crowdsource',
    description:
      'The CPP paper\'s collected matrix: 72 LLMs x 29 benchmark settings gathered from papers, technical reports and model cards (about 42% filled), with model factors (family, size, data, compute, architecture) and task factors (ability, family, output format, few-shot count). Scores are on each task\'s published scale, mostly percent; no normalisation applied.',
    source: SRC.cppScores,
  });

  const modelFile = 'cpp_llm/model_feature.csv';
  const modelTable = parseFactorTable(readShared(shared, modelFile), {
    file: modelFile,
    columns: {
      family: { name: 'family', type: 'categorical', description: 'model family (source column "family")' },
      'Pretraining Dataset Size(B)': { name: 'pretrainingTokens', type: 'numeric', unit: 'B tokens', description: 'pretraining data size (source column "Pretraining Dataset Size(B)")' },
      'Parameter Size(M)': { name: 'params', type: 'numeric', unit: 'M', description: 'parameter count in millions (source column "Parameter Size(M)")' },
      Finetuning: { name: 'finetuned', type: 'categorical', description: 'fine-tuned / aligned model, "Yes" or "No" (source column "Finetuning")' },
      GPUh: { name: 'gpuHours', type: 'numeric', unit: 'GPU hours', description: 'training GPU hours (source column "GPUh")' },
      FLOPs: {
        name: 'flops',
        type: 'numeric',
        description:
          'training compute as given in source column "FLOPs"; only 5 values, on inconsistent scales (chinchilla 5.76e23 is raw FLOPs; the Pythia-1.4B/2.8B values 7120/14240 continue the GPU-hour series of the other Pythia rows) - use with care',
      },
      'Context window': { name: 'contextWindow', type: 'numeric', unit: 'tokens', description: 'context length (source column "Context window")' },
      'batch size(M)': { name: 'batchSize', type: 'numeric', unit: 'M tokens', description: 'training batch size (source column "batch size(M)")' },
      Layers: { name: 'layers', type: 'numeric', description: 'number of layers (source column "Layers")' },
      'Number Heads': { name: 'heads', type: 'numeric', description: 'attention heads (source column "Number Heads")' },
      'Key/Value Size': { name: 'kvSize', type: 'numeric', description: 'key/value size (source column "Key/Value Size")' },
      'bottleneck activation size': { name: 'bottleneckSize', type: 'numeric', description: 'feed-forward (bottleneck) activation size (source column "bottleneck activation size")' },
      'Carbon Emission (tCO2Eq)': { name: 'co2', type: 'numeric', unit: 't CO2eq', description: 'training carbon emission (source column "Carbon Emission (tCO2Eq)")' },
    },
  });
  const unknownCols = modelTable.specs.filter((s) => s.description === undefined).map((s) => s.name);
  if (unknownCols.length) throw new Error(`model_feature.csv has unexpected columns ${unknownCols.join(', ')}: update the converter`);
  const m = attachModelFactors(ds, modelTable, { aliases: CROWDSOURCE_MODEL_ALIASES, label: SRC.cppModelFeatures.citation, source: SRC.cppModelFeatures });
  ds = m.dataset;
  report.push(...printReport(m.report, 'model factors'));

  const taskFile = 'cpp_llm/benchmark_feature.csv';
  const taskTable = parseFactorTable(readShared(shared, taskFile), {
    file: taskFile,
    layout: 'columns',
    columns: {
      ability: { name: 'ability', type: 'categorical', description: 'ability the task measures (source row "ability")' },
      family: { name: 'family', type: 'categorical', description: 'benchmark family (source row "family")' },
      output: { name: 'outputFormat', type: 'categorical', description: 'answer format (source row "output")' },
      'few-shot': { name: 'fewShot', type: 'numeric', unit: 'examples', description: 'number of in-context examples (source row "few-shot")' },
    },
  });
  const t = attachTaskFactors(ds, taskTable, { label: SRC.cppTaskFeatures.citation, source: SRC.cppTaskFeatures });
  ds = t.dataset;
  report.push(...printReport(t.report, 'task factors'));
  if (m.report.unmatched.length || t.report.unmatched.length) report.push('WARNING: some factor rows matched nothing (see above and the notes)');

  // every task is on a 0-100 scale (checked below)
  ds = withTasks(ds, ds.tasks.map((x) => ({ ...x, scale: 'percent' as const })), ds.factorSchema.task);
  checkScales(ds);

  const notes = [
    'Scores as published, on each task\'s own scale (all within 0-100: accuracy, pass@1 or exact match in percent); "-" and empty cells are missing. The CPP paper min-max normalises each task before training; this file does not.',
    'Model names are those of the score table. Factor rows were matched to them by (1) an explicit alias map, (2) exact name, (3) normalised name (NFKC, lower case, whitespace/-/_ runs as one space).',
    unmatchedNote('model', m.report),
    unmatchedNote('task', t.report),
    `Alias map used: ${Object.entries(CROWDSOURCE_MODEL_ALIASES).map(([a, b]) => `"${a}" -> "${b}"`).join(', ')} (model_feature.csv omits the size suffix; the factor rows' parameter counts agree with it).`,
    'Kept as in the source: the model "Gropher - 1.4B" (a misspelling of Gopher, identical in both source tables); INCITE-Base-7B has params 3000 (M) in model_feature.csv, which looks like a copy of INCITE-Base-3B; the "flops" factor mixes scales (see its description).',
    ...ds.notes,
  ];
  ds = createDataset({ ...ds, notes });
  return { dataset: ds, report };
}

// ---------------------------------------------------------------------------------------------
// helm-classic (benchbench HELM accuracy view)
// ---------------------------------------------------------------------------------------------

function convertHelmClassic(shared: string): Converted {
  const file = 'helm_classic/helm_accuracy.tsv';
  let ds = parseWideTable(readShared(shared, file), {
    file,
    name: 'helm-classic',
    description:
      'HELM classic accuracy view: 67 models x 16 core scenarios (one accuracy metric each, 0-1 scale), about 82% filled. The matrix of the CPP paper\'s HELM pilot.',
    source: SRC.helmAccuracy,
  });
  const aggregate = 'Mean win rate';
  if (!ds.tasks.some((t) => t.name === aggregate)) throw new Error(`${file}: expected a "${aggregate}" column`);
  ds = dropTasks(ds, new Set([aggregate]));
  ds = withTasks(
    ds,
    ds.tasks.map((t) => {
      const f = helmTaskFactors(t.name);
      return { ...t, factors: f, ...helmScale(f.metric as string | undefined) };
    }),
    HELM_TASK_SCHEMA,
  );
  checkScales(ds);
  ds = createDataset({
    ...ds,
    notes: [
      'The "Mean win rate" column of the source is NOT a task: it is HELM\'s aggregate of each model\'s win rates over the other columns, so it is left out (keeping it would leak the held-out cells into a feature).',
      '"-" cells are missing. Model names as in HELM (e.g. "Llama 2 (70B)"). Task factors "scenario" and "metric" are split from the column names.',
    ],
  });
  return { dataset: ds, report: [`dropped aggregate column "${aggregate}"`] };
}

// ---------------------------------------------------------------------------------------------
// helm-core (CPP's HELM export, transposed)
// ---------------------------------------------------------------------------------------------

function convertHelmCore(shared: string): Converted {
  const file = 'cpp_llm/helm_core.csv';
  let ds = parseWideTable(readShared(shared, file), {
    file,
    tasksAsRows: true,
    name: 'helm-core',
    description:
      'HELM classic leaderboard as exported by the CPP authors: 88 models x 56 metrics (accuracy and other quality metrics, bits per byte, summary statistics, human ratings), about 53% filled. Scales differ by metric: see each task\'s scale.',
    source: SRC.cppHelmCore,
  });
  ds = withTasks(
    ds,
    ds.tasks.map((t) => {
      const f = helmTaskFactors(t.name);
      return { ...t, factors: f, ...helmScale(f.metric as string | undefined) };
    }),
    HELM_TASK_SCHEMA,
  );
  checkScales(ds);
  const noScale = ds.tasks.filter((t) => t.scale === undefined).map((t) => t.name);
  ds = createDataset({
    ...ds,
    notes: [
      'The source file is transposed (metrics as rows, models as columns); read with tasksAsRows. "-" and empty cells are missing.',
      'Lower is better for the bits-per-byte metrics (higherIsBetter: false). Coverage, Density and Compression describe summaries rather than grade them (no better direction).',
      `Metrics without a fixed range (scale "unbounded"): ${noScale.join('; ')}.`,
      'Task factors "scenario" and "metric" are split from the row names at the last " - ".',
    ],
  });
  // declared unbounded, so that nothing downstream infers a range from the values seen
  ds = createDataset({ ...ds, tasks: ds.tasks.map((t) => (t.scale === undefined ? { ...t, unbounded: true } : t)) });
  return { dataset: ds, report: [`${noScale.length} metrics without a fixed range (scale "unbounded")`] };
}

// ---------------------------------------------------------------------------------------------
// obsscaling (base models with family, size, data, compute)
// ---------------------------------------------------------------------------------------------

function convertObsScaling(shared: string): Converted {
  const file = 'obsscaling/base_llm_benchmark_eval.csv';
  const { records } = parseCsv(readShared(shared, file), { file });
  const header = records[0].fields.map((f) => f.trim());
  const factorCols: Record<string, FactorSpec> = {
    'Model Family': { name: 'family', type: 'categorical', description: 'model family (source column "Model Family")' },
    'Model Size (B)': { name: 'params', type: 'numeric', unit: 'B', description: 'parameter count in billions (source column "Model Size (B)")' },
    'Pretraining Data Size (T)': { name: 'pretrainingTokens', type: 'numeric', unit: 'T tokens', description: 'pretraining data size (source column "Pretraining Data Size (T)")' },
    'FLOPs (1E21)': { name: 'flops', type: 'numeric', unit: '1e21 FLOPs', description: 'training compute (source column "FLOPs (1E21)")' },
  };
  if (header[0] !== 'Model') throw new Error(`${file}: first column should be "Model"`);
  const taskCols = header.slice(1).filter((h) => !(h in factorCols));
  const models: Array<{ name: string; factors: Factors }> = [];
  const scores: ScoreTuple[] = [];
  for (const rec of records.slice(1)) {
    if (rec.fields.length !== header.length) throw new CollabperfError('E_PARSE', 'ragged row', { file, line: rec.line });
    const factors: Factors = {};
    header.forEach((h, c) => {
      const spec = factorCols[h];
      if (!spec || isMissing(rec.fields[c])) return;
      factors[spec.name] = spec.type === 'numeric' ? parseNumberCell(rec.fields[c], { file, line: rec.line, field: h })! : rec.fields[c].trim();
    });
    const mi = models.length;
    models.push({ name: rec.fields[0].trim(), factors });
    taskCols.forEach((tc, ti) => {
      const v = parseNumberCell(rec.fields[header.indexOf(tc)], { file, line: rec.line, field: tc });
      if (v !== undefined) scores.push([mi, ti, v, 0]);
    });
  }
  const ds = createDataset(
    {
      name: 'obsscaling',
      description:
        'Observational scaling laws (Ruan et al.): 148 base (pretrained) models x 8 benchmarks (0-1 accuracy), with model factors family, parameters (B), pretraining tokens (T) and training FLOPs (1e21).',
      models,
      tasks: taskCols.map((n) => ({ name: n, factors: {}, scale: 'unit' as const })),
      factorSchema: { model: Object.values(factorCols), task: [] },
      sources: [SRC.obsscaling],
      scores,
      notes: [
        'Scores as in the source (0-1). Empty cells are missing (ARC-C 3, XWinograd 16, HumanEval 21 models).',
        'Model names are Hugging Face repository ids as in the source. Pretraining tokens and FLOPs are missing for 25 models in the source.',
      ],
    },
    { file },
  );
  checkScales(ds);
  return { dataset: ds, report: [] };
}

// ---------------------------------------------------------------------------------------------
// openllm-v1 (Open LLM Leaderboard v1 archive, deduplicated)
// ---------------------------------------------------------------------------------------------

/** Precision preference when a model was evaluated several times (higher wins). */
export const PRECISION_RANK: Record<string, number> = { float32: 4, bfloat16: 3, float16: 3, '8bit': 2, '4bit': 1, GPTQ: 1 };

function convertOpenLlm(shared: string): Converted {
  const file = 'openllm_v1/open-llm-leaderboard_old.csv';
  const { records } = parseCsv(readShared(shared, file), { file });
  const header = records[0].fields.map((f) => f.trim());
  const col = (n: string) => {
    const i = header.indexOf(n);
    if (i < 0) throw new Error(`${file}: no column "${n}"`);
    return i;
  };
  const taskCols = ['ARC', 'HellaSwag', 'MMLU', 'TruthfulQA', 'Winogrande', 'GSM8K'];
  const [cModel, cType, cArch, cWeight, cPrec, cParams, cDate] = ['Model', 'Type', 'Architecture', 'Weight type', 'Precision', '#Params (B)', 'date'].map(col);
  const cTasks = taskCols.map(col);

  interface Row {
    order: number;
    line: number;
    name: string;
    scores: Array<number | undefined>;
    nScores: number;
    precision: string;
    date: string;
    factors: Factors;
  }
  const groups = new Map<string, Row[]>();
  let nRows = 0;
  for (const rec of records.slice(1)) {
    const f = rec.fields;
    if (f.length !== header.length) throw new CollabperfError('E_PARSE', `ragged row: ${f.length} fields, header has ${header.length}`, { file, line: rec.line });
    const name = f[cModel].trim();
    const scores = cTasks.map((c, k) => parseNumberCell(f[c], { file, line: rec.line, field: taskCols[k] }));
    const factors: Factors = {};
    const type = f[cType].trim().replace(/^[^A-Za-z]+/, ''); // drop the leading emoji
    if (type !== '' && type !== '?') factors.type = type;
    const arch = f[cArch].trim();
    if (arch !== '' && arch !== '?' && arch !== 'Unknown') factors.architecture = arch;
    const params = parseNumberCell(f[cParams], { file, line: rec.line, field: '#Params (B)' });
    if (params !== undefined && params > 0) factors.params = params;
    if (f[cWeight].trim() !== '') factors.weightType = f[cWeight].trim();
    const precision = f[cPrec].trim();
    if (precision !== '') factors.precision = precision;
    const row: Row = { order: nRows++, line: rec.line, name, scores, nScores: scores.filter((s) => s !== undefined).length, precision, date: f[cDate].trim(), factors };
    const key = name.toLowerCase();
    const g = groups.get(key);
    if (g) g.push(row);
    else groups.set(key, [row]);
  }

  // Dedup rule, within a group of rows with the same name (compared case-insensitively, as Hugging Face
  // repository ids are): most scores, then precision rank, then latest date, then first in the file.
  const better = (a: Row, b: Row) =>
    b.nScores - a.nScores ||
    (PRECISION_RANK[b.precision] ?? 0) - (PRECISION_RANK[a.precision] ?? 0) ||
    (b.date > a.date ? 1 : b.date < a.date ? -1 : 0) ||
    a.order - b.order;
  const models: Array<{ name: string; factors: Factors }> = [];
  const scores: ScoreTuple[] = [];
  let merged = 0;
  let caseOnly = 0;
  let differing = 0;
  let filled = 0;
  for (const rows of groups.values()) {
    const sorted = [...rows].sort(better);
    const keep = sorted[0];
    merged += rows.length - 1;
    if (new Set(rows.map((r) => r.name)).size > 1) caseOnly++;
    if (rows.length > 1 && rows.some((r) => r.scores.some((s, k) => s !== keep.scores[k]))) differing++;
    const factors: Factors = { ...keep.factors };
    for (const other of sorted.slice(1)) {
      for (const [k, v] of Object.entries(other.factors)) {
        if (factors[k] === undefined && k !== 'precision') {
          factors[k] = v;
          filled++;
        }
      }
    }
    const mi = models.length;
    models.push({ name: keep.name, factors });
    keep.scores.forEach((s, k) => {
      if (s !== undefined) scores.push([mi, k, s, 0]);
    });
  }
  const multi = [...groups.values()].filter((g) => g.length > 1).length;
  const ds = createDataset(
    {
      name: 'openllm-v1',
      description:
        'Open LLM Leaderboard v1 archive: about 6.8k Hugging Face models x 6 benchmarks (ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K; percent), one row per model after merging repeated evaluations, with model factors type, architecture, parameters (B), weight type and precision.',
      models,
      tasks: taskCols.map((n) => ({ name: n, factors: {}, scale: 'percent' as const })),
      factorSchema: {
        model: [
          { name: 'type', type: 'categorical', description: 'leaderboard model type without its emoji (pretrained, continuously pretrained, fine-tuned on domain-specific datasets, chat models, base merges and moerges); "?" and empty are missing' },
          { name: 'architecture', type: 'categorical', description: 'transformers architecture class; "?" and "Unknown" are missing' },
          { name: 'params', type: 'numeric', unit: 'B', description: 'parameters in billions, rounded to whole billions in the source; 0 (unknown or below 0.5B) is treated as missing' },
          { name: 'weightType', type: 'categorical', description: 'Original, Adapter or Delta' },
          { name: 'precision', type: 'categorical', description: 'precision of the evaluation whose scores were kept (float16, bfloat16, 8bit, 4bit, GPTQ)' },
        ],
        task: [],
      },
      sources: [SRC.openllm],
      scores,
      notes: [
        `Deduplication: rows with the same model name, compared case-insensitively (Hugging Face repository ids are case-insensitive), are one model. Of each group the row kept is the one with (1) the most non-missing benchmark scores, then (2) the highest precision (float32 > bfloat16 = float16 > 8bit > 4bit = GPTQ), then (3) the latest evaluation date, then (4) the first in the file; its spelling of the name is used. Factors missing in the kept row are filled from the group's other rows in the same order (except precision).`,
        `Deduplication counts: ${nRows} rows -> ${models.length} models; ${merged} rows merged into ${multi} models that appeared more than once (${caseOnly} of them only through differently capitalised names); in ${differing} of those groups the merged rows had different scores; ${filled} factor values were filled from merged rows.`,
        'The "Average" column is an aggregate of the six benchmarks and is left out. The columns T (type emoji), Merged, Hub License, Hub hearts, Available on the hub, Model sha, Flagged, MoE and date are not carried over (Flagged and MoE are True for most rows, which does not match their names, so their meaning in this archive is unclear).',
      ],
    },
    { file },
  );
  checkScales(ds);
  return {
    dataset: ds,
    report: [`dedup: ${nRows} rows -> ${models.length} models (${merged} rows merged, ${multi} repeated models, ${caseOnly} case-only name variants, ${differing} groups with differing scores, ${filled} factor values filled)`],
  };
}

// ---------------------------------------------------------------------------------------------
// frontier (2025-2026 instruct and reasoning models, one cited reference per score)
// ---------------------------------------------------------------------------------------------

/**
 * Scale of a frontier benchmark. Every metric given as a percentage is 0-100. The others are named
 * explicitly: Elo-style ratings are unbounded; the AA Intelligence Index and LiveBench are averages
 * of 0-100 scores, so 0-100 too. An unknown metric stops the conversion rather than being guessed.
 */
function frontierScale(id: string, metric: string): { scale?: TaskScale; unbounded?: boolean } {
  const byId: Record<string, { scale?: TaskScale; unbounded?: boolean }> = {
    codeforces_rating: { unbounded: true }, // Codeforces Elo rating
    chatbot_arena_elo: { unbounded: true }, // LMArena Elo
    gdpval_aa: { unbounded: true }, // Artificial Analysis GDPval-AA Elo-style score (1606-1633 in the source)
    aa_intelligence_index: { scale: 'percent' }, // composite of 0-100 evaluations
    livebench: { scale: 'percent' }, // mean of 0-100 category scores
  };
  if (byId[id]) return byId[id];
  if (metric.includes('%')) return { scale: 'percent' };
  throw new Error(`frontier: benchmark "${id}" has metric "${metric}" with no known scale: add it to frontierScale`);
}

/** `"2025-04-14"` -> decimal year (year + (day of year - 1) / days in the year), rounded to 4 decimals (finer than a day). */
export function decimalYear(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  const y = Number(m[1]);
  const start = Date.UTC(y, 0, 1);
  const day = (Date.UTC(y, Number(m[2]) - 1, Number(m[3])) - start) / 86400000;
  const days = (Date.UTC(y + 1, 0, 1) - start) / 86400000;
  return Math.round((y + day / days) * 1e4) / 1e4;
}

interface FrontierFile {
  models: Array<{ id: string; name: string; provider: string | null; release_date: string | null; params_total_M: number | null; params_active_M: number | null; architecture: string | null; is_reasoning: boolean | null; open_weights: boolean | null }>;
  benchmarks: Array<{ id: string; name: string; category: string | null; metric: string | null; num_problems: number | null; source_url: string | null }>;
  scores: Array<{ model_id: string; benchmark_id: string; score: number; reference_url: string }>;
}

function convertFrontier(shared: string): Converted {
  const file = 'frontier/llm_benchmark_data.json';
  const raw = JSON.parse(readShared(shared, file)) as FrontierFile;
  const yesNo = (b: boolean | null) => (b === null ? undefined : b ? 'yes' : 'no');
  const put = (f: Factors, k: string, v: FactorValue | null | undefined) => {
    if (v !== null && v !== undefined) f[k] = v;
  };
  const modelIdx = new Map<string, number>();
  const models = raw.models.map((m, i) => {
    if (modelIdx.has(m.id)) throw new Error(`${file}: model id "${m.id}" repeats`);
    modelIdx.set(m.id, i);
    const f: Factors = {};
    put(f, 'provider', m.provider);
    put(f, 'released', m.release_date === null ? null : decimalYear(m.release_date));
    put(f, 'params', m.params_total_M);
    put(f, 'activeParams', m.params_active_M);
    put(f, 'architecture', m.architecture);
    put(f, 'reasoning', yesNo(m.is_reasoning));
    put(f, 'openWeights', yesNo(m.open_weights));
    return { name: m.name, factors: f };
  });
  const taskIdx = new Map<string, number>();
  const tasks: TaskEntry[] = raw.benchmarks.map((b, i) => {
    if (taskIdx.has(b.id)) throw new Error(`${file}: benchmark id "${b.id}" repeats`);
    taskIdx.set(b.id, i);
    const f: Factors = {};
    put(f, 'category', b.category);
    put(f, 'metric', b.metric);
    put(f, 'problems', b.num_problems);
    return { name: b.name, factors: f, ...frontierScale(b.id, b.metric ?? '') };
  });

  // Duplicates: the same (model, benchmark) given more than once. Rule: the first occurrence in the
  // file is kept (value and reference); later ones are dropped and listed in the notes.
  const kept = new Map<string, { m: number; t: number; score: number; url: string }>();
  const dropped: string[] = [];
  for (const s of raw.scores) {
    const m = modelIdx.get(s.model_id);
    const t = taskIdx.get(s.benchmark_id);
    if (m === undefined || t === undefined) throw new Error(`${file}: score for unknown model "${s.model_id}" or benchmark "${s.benchmark_id}"`);
    if (typeof s.score !== 'number' || !Number.isFinite(s.score)) throw new Error(`${file}: score of ${s.model_id} on ${s.benchmark_id} is ${JSON.stringify(s.score)}`);
    const key = `${m}\u0000${t}`;
    const first = kept.get(key);
    if (first) {
      const same = first.score === s.score ? 'same value' : 'DIFFERENT value';
      const ref = first.url === s.reference_url ? 'same reference' : `other reference ${s.reference_url}`;
      dropped.push(`"${models[m].name}" x "${tasks[t].name}": kept ${first.score} (${first.url}), dropped ${s.score} (${same}, ${ref})`);
      continue;
    }
    kept.set(key, { m, t, score: s.score, url: s.reference_url });
  }

  // one source per distinct reference_url of a kept score, in order of first appearance; source 0 is
  // the matrix itself (it gives the metadata)
  const sources: SourceEntry[] = [SRC.frontier];
  const sourceOf = new Map<string, number>();
  const uses = new Map<string, number>();
  for (const c of kept.values()) uses.set(c.url, (uses.get(c.url) ?? 0) + 1);
  const scores: ScoreTuple[] = [...kept.values()].map((c) => {
    let k = sourceOf.get(c.url);
    if (k === undefined) {
      k = sources.length;
      sourceOf.set(c.url, k);
      const host = /^[a-z]+:\/\/([^/]+)/i.exec(c.url)?.[1] ?? c.url;
      sources.push({ id: `ref-${String(k).padStart(3, '0')}`, title: `reference cited for ${uses.get(c.url)} score(s) (${host})`, citation: `${SRC.frontier.citation}, reference_url`, url: c.url });
    }
    return [c.m, c.t, c.score, k];
  });
  const ds = createDataset(
    {
      name: 'frontier',
      description:
        'Current models: 83 instruct and reasoning LLMs released 2025-01 to 2026-02 (GPT-5.x, Claude 4.x, Gemini 3, DeepSeek, Qwen3, Llama 4, ...) x 49 benchmarks (GPQA Diamond, AIME, SWE-bench Verified, HLE, ARC-AGI, Chatbot Arena Elo, ...), about 34% filled, every score with the reference it was published in. Mostly percent; Elo-style ratings are unbounded. Model factors: provider, release date, total/active parameters, architecture, reasoning, open weights; task factors: category, metric, number of problems.',
      models,
      tasks,
      factorSchema: {
        model: [
          { name: 'provider', type: 'categorical', description: 'developer (source field "provider")' },
          { name: 'released', type: 'numeric', unit: 'year', description: 'release date as a decimal year, year + (day of year - 1) / days in the year, rounded to 4 decimals (source field "release_date", YYYY-MM-DD)' },
          { name: 'params', type: 'numeric', unit: 'M', description: 'total parameters in millions (source field "params_total_M"); missing for most closed models' },
          { name: 'activeParams', type: 'numeric', unit: 'M', description: 'parameters active per token in millions, equal to params for dense models (source field "params_active_M")' },
          { name: 'architecture', type: 'categorical', description: 'Dense, MoE or Hybrid (source field "architecture"); missing for most closed models' },
          { name: 'reasoning', type: 'categorical', description: '"yes" for reasoning (thinking) models (source field "is_reasoning")' },
          { name: 'openWeights', type: 'categorical', description: '"yes" when the weights are published (source field "open_weights")' },
        ],
        task: [
          { name: 'category', type: 'categorical', description: 'benchmark area, e.g. Math, Coding, Agentic (source field "category")' },
          { name: 'metric', type: 'categorical', description: 'what the score measures, e.g. "% correct (pass@1)", "Elo rating" (source field "metric")' },
          { name: 'problems', type: 'numeric', unit: 'problems', description: 'number of problems in the benchmark (source field "num_problems"), when given' },
        ],
      },
      sources,
      scores,
      notes: [
        `Scores as published, on each benchmark's own scale. Every score's source is the reference the matrix cites for it (its "reference_url", kept as the source's url: ${sources.length - 1} distinct references); source 0 is the matrix itself, which also gives the model and benchmark metadata.`,
        `Duplicates: ${raw.scores.length} scores in the source for ${scores.length} distinct (model, benchmark) cells; ${dropped.length} cells are given more than once. Rule: the first occurrence in the source file is kept (its value and its reference) and later ones are dropped, so every kept number is one the cited reference reports; where the values differ and the references differ, the first is the model developer's own report. The cells: ${dropped.join('; ')}.`,
        'Scales: every metric given in % is 0-100 ("percent"); Codeforces Rating, Chatbot Arena Elo and GDP-Val AA (an Elo-style score) have no fixed range ("unbounded"); AA Intelligence Index and LiveBench are averages of 0-100 scores ("percent").',
        'Model names are the source\'s display names ("name"), not its ids (e.g. "o3-mini (high)" for id "o3-mini-high"). Booleans is_reasoning and open_weights become the categories "yes"/"no".',
        `Benchmark definitions cited by the source: ${raw.benchmarks.filter((b) => b.source_url).map((b) => `${b.name}: ${b.source_url}`).join('; ')}.`,
      ],
    },
    { file },
  );
  checkScales(ds);
  return { dataset: ds, report: [`${dropped.length} duplicated cells resolved (first occurrence kept)`, `${sources.length - 1} distinct references as sources`, ...dropped.map((d) => `  dup: ${d}`)] };
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

function parseArgs(argv: string[]): { shared: string; out: string; check: boolean } {
  let shared = resolve(repoRoot, '../shared/data');
  let out = resolve(repoRoot, 'data');
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--shared' || a === '--out') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a directory`);
      if (a === '--shared') shared = resolve(v);
      else out = resolve(v);
    } else if (a === '--check') check = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npx tsx scripts/convert-datasets.ts [--shared <raw data dir>] [--out <data dir>] [--check]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return { shared, out, check };
}

function main(): void {
  const { shared, out, check } = parseArgs(process.argv.slice(2));
  if (!existsSync(shared)) throw new Error(`shared data folder not found: ${shared} (pass --shared <dir>)`);
  const converters: Array<[string, (s: string) => Converted]> = [
    ['crowdsource', convertCrowdsource],
    ['helm-classic', convertHelmClassic],
    ['helm-core', convertHelmCore],
    ['obsscaling', convertObsScaling],
    ['openllm-v1', convertOpenLlm],
    ['frontier', convertFrontier],
  ];
  const index: BuiltinDatasetInfo[] = [];
  const files: Array<[string, string]> = [];
  for (const [name, convert] of converters) {
    const { dataset, report } = convert(shared);
    if (dataset.name !== name) throw new Error(`converter for ${name} produced ${dataset.name}`);
    const undeclared = dataset.tasks.filter((t) => t.scale === undefined && t.unbounded !== true).map((t) => t.name);
    if (undeclared.length) throw new Error(`${name}: tasks without a declared scale: ${undeclared.join(', ')} (every built-in task declares one)`);
    const text = serializeDataset(dataset);
    // round-trip check: what we write reads back to the same bytes
    if (serializeDataset(parseDatasetJson(text, { file: `${name}.json` })) !== text) throw new Error(`${name}: serialisation does not round-trip`);
    const file = `${name}.json`;
    files.push([file, text]);
    const info: BuiltinDatasetInfo = {
      name,
      description: dataset.description,
      models: dataset.models.length,
      tasks: dataset.tasks.length,
      observed: observedCount(dataset),
      density: Math.round(density(dataset) * 1e6) / 1e6,
      file,
    };
    index.push(info);
    console.log(`${name}: ${info.models} models x ${info.tasks} tasks, ${info.observed} observed (${(info.density * 100).toFixed(1)}%), ${(text.length / 1024).toFixed(0)} KiB`);
    for (const line of report) console.log(`  ${line}`);
  }
  const indexDoc = { format: INDEX_FORMAT, version: INDEX_FORMAT_VERSION, datasets: index };
  files.push(['index.json', `{"format":${JSON.stringify(INDEX_FORMAT)},"version":${INDEX_FORMAT_VERSION},"datasets":[\n${indexDoc.datasets.map((d) => JSON.stringify(d)).join(',\n')}\n]}\n`]);

  let changed = 0;
  if (!check) mkdirSync(out, { recursive: true });
  for (const [file, text] of files) {
    const p = join(out, file);
    const old = existsSync(p) ? readFileSync(p, 'utf8') : undefined;
    if (old === text) continue;
    changed++;
    if (check) console.log(`would change: ${p}`);
    else writeFileSync(p, text);
  }
  console.log(check ? (changed ? `${changed} file(s) out of date` : 'all files up to date') : `${changed} file(s) written to ${out}`);
  if (check && changed) process.exitCode = 1;
}

main();
