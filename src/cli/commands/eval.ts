import type { Command } from 'commander';
import type { Dataset } from '../../app/data/dataset.js';
import { parseProtocol } from '../../app/eval/protocols.js';
import { evaluate, evaluationSummary, predictionsCsv, type EvaluationResult } from '../../app/eval/evaluate.js';
import { readSplitFile, writeSplitFile } from '../../app/eval/protocols.js';
import { evaluateProbes, parseProbesProtocol } from '../../app/advise/index.js';
import { parseMethods } from '../../app/predictors/index.js';
import { checkLevel, evaluateIntervals, type IntervalEvaluation } from '../../app/trust/index.js';
import { CollabperfError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { backendFlag, loadFromFlags, methodsHelpText, warmUpMethods, withDataFlags, type DataFlags } from '../app-options.js';
import { printJson, Progress, wrapText } from '../output.js';
import type { CliRunner } from '../runner.js';

interface EvalFlags extends DataFlags {
  methods: string;
  protocol: string;
  seeds: string;
  split?: string;
  exportSplit?: string;
  predictions?: string;
  level?: string;
  wide?: boolean;
  columns?: string;
}

const pm = (m: number, s: number, d: number, scale = 1): string => (Number.isNaN(m) ? '—' : `${(m * scale).toFixed(d)}${Number.isNaN(s) ? '' : `±${(s * scale).toFixed(d)}`}`);

/** Columns of the default table: fits an 80-column terminal with a few methods. */
export const CORE_COLUMNS = ['method', 'MAE100', 'RMSE100', '±5pt', 'Spearman', 'seconds'] as const;

/** Held-out cells per seed below which a cells:p estimate is mostly noise. */
export const MIN_HELD_OUT_CELLS = 30;

/**
 * The protocol and seeds to use when the user left both at their defaults: on a small table the
 * default `cells:0.05` holds out a handful of cells, so the fraction is raised (up to 0.2) and, if
 * that is still short of {@link MIN_HELD_OUT_CELLS} per seed, more seeds are run (up to 50) so the
 * mean rests on enough cells. Returns the note to show, or none when the defaults are fine.
 */
export function protocolForSize(nnz: number, protocol: string, seeds: number, userProtocol: boolean, userSeeds: boolean): { protocol: string; seeds: number; note?: string } {
  let spec;
  try {
    spec = parseProtocol(protocol);
  } catch {
    return { protocol, seeds }; // evaluate() reports the bad protocol with its own message
  }
  if (spec.kind !== 'cells') return { protocol, seeds };
  const held = Math.max(1, Math.round(spec.fraction * nnz));
  if (held >= MIN_HELD_OUT_CELLS) return { protocol, seeds };
  if (userProtocol) {
    return { protocol, seeds, note: `protocol ${protocol} holds out only ${held} cell(s) per seed of ${nnz} (fewer than ${MIN_HELD_OUT_CELLS}); the metrics are noisy, consider cells:0.2 or more --seeds` };
  }
  const fraction = Math.min(0.2, Math.ceil((100 * MIN_HELD_OUT_CELLS) / nnz) / 100);
  const heldNow = Math.max(1, Math.round(fraction * nnz));
  const newSeeds = userSeeds || heldNow >= MIN_HELD_OUT_CELLS ? seeds : Math.min(50, Math.max(seeds, Math.ceil((MIN_HELD_OUT_CELLS * 5) / heldNow)));
  const chosen = `cells:${fraction}`;
  return {
    protocol: chosen,
    seeds: newSeeds,
    note: `the default protocol ${protocol} would hold out only ${held} cell(s) per seed of this table's ${nnz}; using ${chosen} (${heldNow} held-out cells per seed)${newSeeds !== seeds ? ` and ${newSeeds} seeds` : ''} instead (pass --protocol to choose)`,
  };
}

/** Parses --columns: `core` (default), `all`, or a comma-separated list of column names. */
export function evalColumns(wide: boolean | undefined, columns: string | undefined): string[] | 'all' {
  if (wide || columns?.trim() === 'all') return 'all';
  if (columns === undefined || columns.trim() === 'core') return [...CORE_COLUMNS];
  const want = columns.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const known = ['method', 'MAE', 'MAE100', 'medAE100', 'RMSE100', '±3pt', '±5pt', 'Spearman', 'nMSE', 'nL1', 'rank acc', 'MAE@2', 'pool', 'seconds'];
  for (const c of want) {
    if (!known.some((k) => k.toLowerCase() === c.toLowerCase())) throw new CollabperfError('E_INVALID_ARGUMENT', `unknown column "${c}"; columns: ${known.join(', ')}, or core, or all`, { field: 'columns' });
  }
  const list = known.filter((k) => want.some((c) => c.toLowerCase() === k.toLowerCase()));
  return list.includes('method') ? list : ['method', ...list];
}

/**
 * The per-method table a person reads: by default the {@link CORE_COLUMNS}, which fit 80 columns;
 * `columns: 'all'` is every metric (about 240 characters wide). --json has every number.
 */
export function evalTable(r: EvaluationResult, columns: readonly string[] | 'all' = CORE_COLUMNS): string {
  const head = ['method', 'MAE', 'MAE100', 'medAE100', 'RMSE100', '±3pt', '±5pt', 'Spearman', 'nMSE', 'nL1', 'rank acc', 'MAE@2', 'pool', 'seconds'];
  const rows = r.methods.map((m) => {
    const a = m.mean;
    const s = m.std;
    return [
      m.method,
      pm(a.mae, s.mae, 3),
      pm(a.mae100, s.mae100, 2),
      pm(a.medianAe100, s.medianAe100, 2),
      pm(a.rmse100, s.rmse100, 2),
      pm(a.within3, s.within3, 0, 100) + '%',
      pm(a.within5, s.within5, 0, 100) + '%',
      pm(a.spearman, s.spearman, 2),
      pm(a.nmse, s.nmse, 4),
      pm(a.nl1, s.nl1, 4),
      pm(a.rankAccuracy, s.rankAccuracy, 0, 100) + '%',
      pm(a.mae2, s.mae2, 0, 100) + '%',
      a.rankPool.toFixed(1),
      (m.ms / 1000).toFixed(2),
    ];
  });
  const keep = head.map((h) => columns === 'all' || columns.includes(h));
  const pick = (cells: string[]) => cells.filter((_, i) => keep[i]);
  const h2 = pick(head);
  const rows2 = rows.map(pick);
  const widths = h2.map((h, i) => Math.max(h.length, ...rows2.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(h2), ...rows2.map(line)].join('\n');
}

/** `collabperf eval`: held-out accuracy of methods under a protocol, over seeds. */
export function registerEval(program: Command, run: CliRunner): void {
  withDataFlags(
    program
      .command('eval')
      .description('measure methods on held-out cells: cells:p, model-kfold:K, new-model:k, new-task:k, family-out, or --split FILE')
      .option('--methods <list>', 'comma-separated methods, or all', 'all')
      .option('--protocol <spec>', 'cells:p | model-kfold:K | new-model:k | new-task:k | family-out', 'cells:0.05')
      .option('--seeds <n>', 'number of seeds (0..n-1)', '5')
      .option('--split <file>', 'held-out cells from a split file instead of a protocol')
      .option('--export-split <file>', 'write the folds used, to rerun them here or in another tool')
      .option('--predictions <file>', 'write every held-out prediction as CSV (method, seed, fold, model, task, truth, prediction)')
      .option('--level <p>', 'also measure conformal prediction intervals at this level: coverage and mean width per method')
      .option('--wide', 'print every metric column (same as --columns all; wider than 80 columns)')
      .option('--columns <list>', 'core (default: method, MAE100, RMSE100, ±5pt, Spearman, seconds), all, or a comma-separated list')
      .addHelpText('after', methodsHelpText()),
  ).action(async (f: EvalFlags, cmd: Command) =>
    run(Boolean(f.json), async () => {
      const { dataset: ds, origin, warnings: loadWarnings } = await loadFromFlags(f);
      warmUpMethods(f.methods, ds);
      const predictors = parseMethods(f.methods);
      const columns = evalColumns(f.wide, f.columns);
      let seeds = Number(f.seeds);
      if (!Number.isInteger(seeds) || seeds < 1 || seeds > 1000) throw new CollabperfError('E_INVALID_ARGUMENT', `--seeds must be an integer from 1 to 1000, got "${f.seeds}"`, { field: 'seeds' });
      const progress = new Progress('eval');
      const t0 = Date.now();
      const warnings: string[] = [...loadWarnings];
      let protocolNote: string | null = null;
      if (!f.split) {
        const sized = protocolForSize(ds.scores.value.length, f.protocol, seeds, cmd.getOptionValueSource('protocol') !== 'default', cmd.getOptionValueSource('seeds') !== 'default');
        if (sized.note) {
          // Not repeated on stderr: the table below prints it as a note, --json in protocolNote/warnings.
          protocolNote = sized.note;
          warnings.push(sized.note);
        }
        f.protocol = sized.protocol;
        seeds = sized.seeds;
      }
      const k = f.split ? undefined : parseProbesProtocol(f.protocol);
      if (k !== undefined) {
        const results = [];
        progress.phase(`probes:${k}`);
        for (const [pi, p] of predictors.entries()) {
          results.push(await evaluateProbes(ds, p, { k, seeds, ctx: { backend: backendFlag(f.backend) }, maxModels: ds.models.length > 500 ? 100 : undefined, onProgress: (x) => progress.update(pi * seeds * x.folds + x.seed * x.folds + x.fold - 1, predictors.length * seeds * x.folds, `${p.name}, seed ${x.seed}, fold ${x.fold}/${x.folds}`) }));
        }
        progress.done();
        if (f.json) return printJson({ dataset: origin, protocol: `probes:${k}`, seeds, methods: results.map((r) => ({ method: r.method, heldOutModels: r.heldOutModels, curve: r.curve, firstProbes: r.firstProbes, seconds: r.ms / 1000 })) });
        const lines = [`${origin}, protocol probes:${k}: held-out models reveal k benchmarks chosen by the advisor or at random; MAE (0-100) on their other scores, mean over ${seeds} seed(s)`];
        for (const r of results) {
          lines.push(`${r.method} (${r.heldOutModels} held-out models per seed)`, 'probes  advisor  random  advisor better');
          for (const c of r.curve) lines.push(`${String(c.probes).padStart(6)}  ${c.advisor.toFixed(2).padStart(7)}  ${c.random.toFixed(2).padStart(6)}  ${c.probes === 0 ? '' : `${(100 * c.advisorWins).toFixed(0)}% of models`}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
        return;
      }
      const level = f.level === undefined ? undefined : checkLevel(Number(f.level));
      if (level !== undefined && f.split) throw new CollabperfError('E_INVALID_ARGUMENT', '--level measures intervals under a --protocol; it cannot be combined with --split', { field: 'level' });
      progress.phase(`${f.split ? `split ${f.split}` : f.protocol}, ${predictors.length} method(s) x ${seeds} seed(s)`);
      const result = await evaluate(ds, predictors, {
        protocol: f.split ? undefined : f.protocol,
        split: f.split ? readSplitFile(f.split, ds) : undefined,
        seeds,
        ctx: { backend: backendFlag(f.backend) },
        onProgress: (p) => progress.update(p.done, p.total, `${p.method}, seed ${p.seed}, fold ${p.fold}/${p.folds}`),
      });
      let intervals: IntervalEvaluation | undefined;
      if (level !== undefined) {
        progress.phase(`intervals at level ${level}`);
        intervals = await evaluateIntervals(ds, predictors, {
          protocol: f.protocol,
          seeds,
          level,
          ctx: { backend: backendFlag(f.backend) },
          onProgress: (p) => progress.update(p.done, p.total, p.method),
        });
      }
      progress.done();
      if (f.exportSplit) writeSplitFile(f.exportSplit, ds, result.splits.flatMap((s) => s.folds));
      if (f.predictions) writeFileAtomic(f.predictions, (a) => a(predictionsCsv(result, ds)));
      const intervalRows = intervals?.methods.map((m) => ({ method: m.method, level: intervals!.level, coverage: m.adaptive.coverage, meanWidth100: m.adaptive.meanWidth100, globalCoverage: m.global.coverage, globalMeanWidth100: m.global.meanWidth100 }));
      if (f.json) return printJson({ ...evaluationSummary(result), dataset: origin, protocolNote, warnings, intervals: intervalRows ?? null, seconds: (Date.now() - t0) / 1000 });
      process.stdout.write(
        `${origin}: ${ds.models.length} models x ${ds.tasks.length} tasks, ${ds.scores.value.length} scores\n` +
          `protocol ${result.protocol}, ${result.seeds.length} seed(s); mean±std over seeds\n` +
          (protocolNote ? `${wrapText(`note: ${protocolNote}`, 80, 6)}\n` : '') +
          `${evalTable(result, columns)}\n` +
          (columns === 'all'
            ? 'MAE on each task\'s own scale; MAE100/medAE100/RMSE100/±3pt/±5pt on a 0-100 scale per task; nMSE/nL1 on per-task min-max scores (the CPP paper); rank accuracy and MAE@2 within each task\'s held-out cells, pool = held-out cells per task.\n'
            : `${wrapText('MAE100/RMSE100/±5pt on a 0-100 scale per task; --wide for every metric, --json for all fields.')}\n`) +
          (intervalRows
            ? `${wrapText(`${Math.round(level! * 100)}% intervals (conformal, calibrated on training cells only): ${intervalRows.map((r) => `${r.method} coverage ${(100 * r.coverage).toFixed(1)}%, mean width ${r.meanWidth100.toFixed(2)} (one global quantile: ${(100 * r.globalCoverage).toFixed(1)}%, ${r.globalMeanWidth100.toFixed(2)})`).join('; ')}`)}\n`
            : '') +
          (f.exportSplit ? `split written to ${f.exportSplit}\n` : '') +
          (f.predictions ? `predictions written to ${f.predictions}\n` : ''),
      );
    }),
  );
}
