import type { Command } from 'commander';
import { extname } from 'node:path';
import { completeMatrix, parseNewFactors, parseNewScores, predictNewModel } from '../../app/predict.js';
import { DEFAULT_METHOD, getPredictor } from '../../app/predictors/index.js';
import { checkLevel } from '../../app/trust/intervals.js';
import { CollabperfError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { toCsv } from '../../util/csv-write.js';
import { backendFlag, loadFromFlags, methodsHelpText, warmUpMethods, seedFlag, warn, withDataFlags, type DataFlags } from '../app-options.js';
import { givenScoreWarnings, inferredScaleLines } from '../scales.js';
import { withTaskHints } from '../suggest.js';
import { printJson } from '../output.js';
import type { CliRunner } from '../runner.js';

interface PredictFlags extends DataFlags {
  method?: string;
  model?: string;
  new?: string;
  factors?: string;
  name?: string;
  out?: string;
  level: string;
  intervals: boolean;
  verbose?: boolean;
}

// Two decimals for every score and bound, so `100.00` lines up with `87.66`.
const fmt = (x: number): string => x.toFixed(2);
const chosenText = (c: Record<string, unknown>): string => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(', ');

function writeOut(path: string, header: string[], rows: Array<Array<string | number | undefined>>, json: unknown): void {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') writeFileAtomic(path, (a) => a(`${JSON.stringify(json, null, 2)}\n`));
  else if (ext === '.csv' || ext === '.tsv' || ext === '') writeFileAtomic(path, (a) => a(toCsv(header, rows)));
  else throw new CollabperfError('E_INVALID_ARGUMENT', `--out must end in .csv or .json, got "${path}"`, { field: 'out' });
}

/** `collabperf predict`: fill the missing cells of a table, one model's row, or a new model's scores. */
export function registerPredict(program: Command, run: CliRunner): void {
  withDataFlags(
    program
      .command('predict')
      .description('predict missing scores: every missing cell, one model (--model), or a new model (--new / --factors)')
      .option('--method <name>', `prediction method (default ${DEFAULT_METHOD}; listed below)`)
      .option('--model <name>', 'only this model of the table')
      .option('--new <scores>', 'a model not in the table, from its scores: "MMLU=66.6,GSM8K=45.8"')
      .option('--factors <pairs>', 'the new model\'s factors: "params=8e9,tokens=15e12" (counts; K/M/B/T suffixes allowed)')
      .option('--name <name>', 'name of the new model (default "new model")')
      .option('--out <file>', 'write the predictions to a .csv or .json file')
      .option('--level <p>', 'level of the conformal prediction intervals (lower/upper)', '0.9')
      .option('--no-intervals', 'point predictions only (faster: no calibration fits)')
      .option('--verbose', 'also print the hyperparameters the method chose')
      .addHelpText('after', methodsHelpText()),
  ).action(async (f: PredictFlags) =>
    run(Boolean(f.json), async () => {
      const { dataset: ds, origin, warnings: loadWarnings, scales: scaleOverrides } = await loadFromFlags(f);
      warmUpMethods(f.method, ds);
      const predictor = getPredictor(f.method ?? DEFAULT_METHOD);
      const ctx = { seed: seedFlag(f.seed), backend: backendFlag(f.backend) };
      const level = f.intervals ? checkLevel(Number(f.level)) : undefined;
      const pct = level === undefined ? '' : `${Math.round(level * 1000) / 10}%`;
      const range = (c: { lower?: number; upper?: number }): string => (c.lower === undefined ? '' : `  [${fmt(c.lower!)}, ${fmt(c.upper!)}]`.padEnd(20));
      if (f.new !== undefined || f.factors !== undefined) {
        if (f.model !== undefined) throw new CollabperfError('E_INVALID_ARGUMENT', '--model and --new/--factors cannot be combined', { field: 'model' });
        const scores = f.new !== undefined ? withTaskHints(ds, () => parseNewScores(ds, f.new!)) : [];
        const factors = f.factors !== undefined ? parseNewFactors(ds, f.factors) : undefined;
        const model = f.name ?? 'new model';
        // The default gives way to a factor-aware method when the factors given are complete (see factorMethod).
        const factorMethod = f.method === undefined ? getPredictor('ncf-factors') : undefined;
        const r = await predictNewModel(ds, predictor, ctx, { scores, factors, name: f.name, level, scales: scaleOverrides, factorMethod });
        const scoreWarnings = givenScoreWarnings(r.warnings, scores, ds, r.scales, model);
        const methodWarnings = r.warnings.flatMap((w) => (w.kind === 'factors-unused' ? [w.message] : []));
        for (const w of [...scoreWarnings, ...methodWarnings]) warn(f, w);
        const warnings = [...loadWarnings, ...scoreWarnings, ...methodWarnings];
        const doc = { dataset: origin, warnings, model, method: r.method, ...(r.switchedFrom ? { switchedFrom: r.switchedFrom } : {}), mode: r.mode, chosen: r.chosen, level: level ?? null, scales: r.scales, given: Object.fromEntries(scores.map((s) => [ds.tasks[s.task].name, s.value])), factors: factors ?? {}, predictions: r.cells };
        if (f.out) writeOut(f.out, ['task', 'prediction', 'lower', 'upper', 'given'], r.cells.map((c) => [c.task, c.prediction, c.lower, c.upper, c.given]), doc);
        if (f.json) return printJson(doc);
        const w = Math.max(4, ...r.cells.map((c) => c.task.length));
        const lines = [
          `${doc.model} on ${origin}, method ${r.method}${r.switchedFrom ? ` (instead of ${r.switchedFrom}: every model factor was given)` : ''}, ${r.mode}`,
          ...(f.verbose ? [`chosen: ${chosenText(r.chosen)}`] : []),
          ...inferredScaleLines(r.scales),
          `${'task'.padEnd(w)}  predicted${level === undefined ? '' : `  ${`${pct} interval`.padEnd(18)}`}  given`,
        ];
        for (const c of r.cells) lines.push(`${c.task.padEnd(w)}  ${fmt(c.prediction).padStart(9)}${range(c)}  ${c.given === undefined ? '' : fmt(c.given)}`);
        process.stdout.write(`${lines.join('\n')}\n${f.out ? `written to ${f.out}\n` : ''}`);
        return;
      }
      const r = await completeMatrix(ds, predictor, ctx, { model: f.model, level, scales: scaleOverrides });
      // r.warnings are about the table's own cells against --scale (the loader already reported them)
      // and about factors the method does not use (not reported yet).
      const methodWarnings = r.warnings.flatMap((w) => (w.kind === 'factors-unused' ? [w.message] : []));
      // Filling a table whose factors the method ignores is what the default does on every built-in
      // table: a line on each run would be noise. It is in --json, and on stderr with --verbose; a
      // new model given --factors is warned about always (above).
      if (f.verbose) for (const w of methodWarnings) warn(f, w);
      const doc = { dataset: origin, warnings: [...loadWarnings, ...methodWarnings], method: r.method, chosen: r.chosen, level: level ?? null, scales: r.scales, missing: r.cells.length, predictions: r.cells };
      if (f.out) writeOut(f.out, ['model', 'task', 'prediction', 'lower', 'upper'], r.cells.map((c) => [c.model, c.task, c.prediction, c.lower, c.upper]), doc);
      if (f.json) return printJson(doc);
      const wm = Math.max(5, ...r.cells.map((c) => c.model.length));
      const wt = Math.max(4, ...r.cells.map((c) => c.task.length));
      const lines = [
        `${origin}: ${r.cells.length} missing cell(s) predicted with ${r.method}`,
        ...(f.verbose ? [`chosen: ${chosenText(r.chosen)}`] : []),
        ...inferredScaleLines(r.scales),
        `${'model'.padEnd(wm)}  ${'task'.padEnd(wt)}  predicted${level === undefined ? '' : `  ${pct} interval`}`,
      ];
      for (const c of r.cells) lines.push(`${c.model.padEnd(wm)}  ${c.task.padEnd(wt)}  ${fmt(c.prediction).padStart(9)}${range(c).trimEnd()}`);
      process.stdout.write(`${lines.join('\n')}\n${f.out ? `written to ${f.out}\n` : ''}`);
    }),
  );
}
