import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { CollabperfError, isCollabperfError } from '../../errors.js';
import { getBackend } from '../../backends/registry.js';
import { buildImplicitProblem } from '../../factorization/duplicates.js';
import { runFit } from '../../factorization/fit.js';
import { saveModel } from '../../factorization/model-file.js';
import { resolveFitOptions, type FitOptions } from '../../factorization/options.js';
import type { KernelProblem } from '../../backends/types.js';
import { buildProblem, toEntries, type Entries } from '../../factorization/ratings.js';
import { locateDuplicate, readTriplets, type ReadTripletsOptions } from '../../factorization/triplets.js';
import { evaluateRanking, popularityRanking, type RankingReport } from '../../factorization/ranking.js';
import { peakRssMb, printJson, Progress } from '../output.js';
import type { CliRunner } from '../runner.js';

interface FitCliOptions {
  input: string;
  algo: string;
  rank?: string;
  iters?: string;
  lambda?: string;
  lr?: string;
  seed?: string;
  threads?: string;
  test?: string;
  backend?: string;
  sgdMode?: string;
  dtype?: string;
  bias?: boolean;
  save?: string;
  remapIds?: boolean;
  json?: boolean;
  implicit?: boolean;
  alpha?: string;
  confidence?: string;
  solver?: string;
  cgSteps?: string;
  at?: string;
  evalRows?: string;
}

/** Parses a numeric flag, naming the flag when it is not a number. */
function numberFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new CollabperfError('E_INVALID_ARGUMENT', `--${name} must be a number, got "${v}"`, { field: name });
  return x;
}

const fmt = (x: number | undefined, d = 4): string => (x === undefined ? '' : x.toFixed(d));

/** `collabperf fit`: factorizes a triplet file and reports per-iteration time and RMSE. */
export function registerFit(program: Command, run: CliRunner): void {
  program
    .command('fit')
    .description('factorize a triplet file ("row col value" per line) with ALS or SGD, or implicit feedback with implicit ALS')
    .requiredOption('--input <file>', 'training triplets: row col value [weight], rows and columns as indices or as names (string ids)')
    .option('--algo <als|sgd>', 'algorithm', 'als')
    .option('--rank <k>', 'latent dimension (default 10)')
    .option('--iters <n>', 'ALS sweeps or SGD epochs (default 15 ALS, 30 SGD)')
    .option('--lambda <x>', 'L2 regularisation')
    .option('--lr <x>', 'SGD learning rate (default 0.01)')
    .option('--seed <n>', 'seed (default 42)')
    .option('--threads <n>', 'kernel threads (default: all cores)')
    .option('--sgd-mode <mode>', 'deterministic (default) or parallel (native only)')
    .option('--dtype <float64|float32>', 'factor storage: float64 (default) or float32 (half the memory; explicit and implicit ALS, SGD in both modes)')
    .option('--no-bias', 'no row/column biases')
    .option('--test <file>', 'test triplets: RMSE reported each iteration (not used for stopping); with --implicit, ranking metrics after the fit')
    .option('--implicit', 'implicit feedback (counts, plays, clicks): confidence-weighted implicit ALS, no biases')
    .option('--alpha <x>', 'implicit: confidence slope, c = 1 + alpha * r (default 1)')
    .option('--confidence <kind>', 'implicit: linear (default) or log (c = 1 + alpha * log(1 + r))')
    .option('--solver <cg|cholesky>', 'implicit: conjugate gradient (default) or exact Cholesky per row')
    .option('--cg-steps <n>', 'implicit, cg: steps per row and sweep (default 3)')
    .option('--at <k>', 'implicit with --test: cut-off of the ranking metrics (default 10)')
    .option('--eval-rows <n>', 'implicit with --test: evaluate a seeded sample of this many rows (default all)')
    .option('--backend <name>', 'auto, native or ts')
    .option('--save <file>', 'write the fitted model (JSON)')
    .option('--remap-ids', 'map sparse row/column ids to dense indices 0..n-1 (ascending), so large ids fit in memory')
    .option('--json', 'machine-readable output')
    .action(async (cli: FitCliOptions) =>
      run(Boolean(cli.json), async () => {
        const options: FitOptions = {
          algo: cli.algo as FitOptions['algo'],
          rank: numberFlag('rank', cli.rank),
          iters: numberFlag('iters', cli.iters),
          lambda: numberFlag('lambda', cli.lambda),
          learningRate: numberFlag('lr', cli.lr),
          seed: numberFlag('seed', cli.seed),
          threads: numberFlag('threads', cli.threads),
          sgdMode: cli.sgdMode as FitOptions['sgdMode'],
          dtype: cli.dtype as FitOptions['dtype'],
          // Implicit ALS has no biases: --no-bias is its default, not a conflict.
          useBias: cli.implicit ? undefined : cli.bias !== false,
        };
        if (cli.implicit) {
          Object.assign(options, {
            implicit: true,
            alpha: numberFlag('alpha', cli.alpha),
            confidence: cli.confidence as FitOptions['confidence'],
            solver: cli.solver as FitOptions['solver'],
            cgSteps: numberFlag('cg-steps', cli.cgSteps),
          });
        } else {
          for (const [flag, v] of [['alpha', cli.alpha], ['confidence', cli.confidence], ['solver', cli.solver], ['cg-steps', cli.cgSteps], ['at', cli.at], ['eval-rows', cli.evalRows]] as const) {
            if (v !== undefined) throw new CollabperfError('E_INVALID_ARGUMENT', `--${flag} applies to --implicit only`, { field: flag });
          }
        }
        for (const key of Object.keys(options) as (keyof FitOptions)[]) if (options[key] === undefined) delete options[key];
        const at = numberFlag('at', cli.at) ?? 10;
        const evalRows = numberFlag('eval-rows', cli.evalRows);
        const resolved = resolveFitOptions(options);
        const backend = getBackend(cli.backend as FitOptions['backend']);
        // What runs: an implicit fit on a backend without implicit ALS moves to TypeScript (runFit records why).
        const runs = resolved.implicit && backend.details().implicitAls !== true ? getBackend('ts') : backend;
        const t0 = performance.now();
        // Rows and columns named in the file (user42 item7 3) are read as string ids; the model speaks them.
        const readOptions = { remapIds: Boolean(cli.remapIds), stringIds: 'auto' } as const;
        const train = readTriplets(cli.input, readOptions);
        const names = train.stringIds;
        const entries = toEntries(train, cli.input, { rank: resolved.rank });
        // Implicit data is an interaction log: a cell given twice is two interactions, summed (and said).
        const { problem, merged } = resolved.implicit ? buildImplicitProblem(entries) : { problem: buildOrLocate(entries, cli.input, readOptions), merged: 0 };
        if (merged > 0 && !cli.json) process.stderr.write(`collabperf: ${cli.input}: ${merged} interaction(s) repeat a row and column already given; their values are summed into that cell\n`);
        let test = null;
        let heldOut: { rows: ArrayLike<number | string>; cols: ArrayLike<number | string>; values: Float64Array } | null = null;
        if (cli.test && resolved.implicit) {
          // Raw ids: the model speaks them (the map, with --remap-ids), and ids it does not know are counted, not fatal.
          const raw = readTriplets(cli.test, { stringIds: names ? true : false });
          const ids = raw.stringIds;
          heldOut = ids ? { rows: Array.from(raw.rows, (r) => ids.rows[r]), cols: Array.from(raw.cols, (c) => ids.cols[c]), values: raw.values } : raw;
        } else if (cli.test) {
          const tt = names ? readTriplets(cli.test, { stringIdsFrom: names }) : readTriplets(cli.test, { idMap: train.idMap });
          test = toEntries({ ...tt, nRows: problem.nRows, nCols: problem.nCols }, cli.test);
        }
        const loadSeconds = (performance.now() - t0) / 1000;
        const progress = new Progress('fit');
        // The TS backend ignores --threads: say what runs, not what was asked for.
        const details = runs.details();
        const threadsUsed = Math.max(1, Math.min(resolved.threads, details.maxThreads));
        if (!cli.json) {
          process.stdout.write(
            `${cli.input}: ${problem.nRows} rows x ${problem.nCols} columns, ${problem.nnz} ratings${names ? ' (rows and columns named: string ids)' : ''} (read in ${loadSeconds.toFixed(2)} s)\n` +
              `${resolved.implicit ? `implicit ALS (${resolved.solver === 'cg' ? `CG ${resolved.cgSteps} steps` : 'exact'}, alpha ${resolved.alpha})` : resolved.algo.toUpperCase()} rank ${resolved.rank}${resolved.dtype === 'float32' ? ', float32 factors' : ''} ` +
              `on the ${runs.name} backend (${details.blas})${runs !== backend ? ` because ${backend.name} cannot run implicit ALS` : ''}, ${threadsUsed} thread(s)${threadsUsed < resolved.threads ? ` (${resolved.threads} requested)` : ''}\n` +
              (resolved.implicit ? 'iter  seconds     objective  weighted RMSE\n' : `iter  seconds  train RMSE${test ? '  test RMSE' : ''}\n`),
          );
        }
        const result = await runFit(problem, resolved, backend, test, {
          earlyStopping: false,
          rowIds: names?.rows ?? train.idMap?.rowIds ?? null,
          colIds: names?.cols ?? train.idMap?.colIds ?? null,
          backendReason: cli.backend === undefined ? 'the default choice' : 'requested',
          onProgress: (r) => {
            if (cli.json) {
              progress.update(r.iter, r.iters, `train RMSE ${fmt(r.trainRmse)}`);
              return;
            }
            if (r.objective !== undefined) {
              process.stdout.write(`${String(r.iter).padStart(4)}  ${r.seconds.toFixed(3).padStart(7)}  ${r.objective.toPrecision(8).padStart(12)}  ${fmt(r.trainRmse, 6).padStart(13)}\n`);
              return;
            }
            process.stdout.write(`${String(r.iter).padStart(4)}  ${r.seconds.toFixed(3).padStart(7)}  ${fmt(r.trainRmse, 6).padStart(10)}${test ? `  ${fmt(r.validRmse, 6).padStart(9)}` : ''}\n`);
          },
        });
        progress.done();
        const fitSeconds = result.history.reduce((s, r) => s + r.seconds, 0);
        if (cli.save) saveModel(result.model, cli.save);
        const last = result.history[result.history.length - 1];
        let ranking: { model: RankingReport; popularity: RankingReport } | null = null;
        if (heldOut) {
          const opts = { k: at, maxRows: evalRows };
          ranking = { model: evaluateRanking(result.model, heldOut, opts), popularity: popularityRanking(result.model, heldOut, opts) };
        }
        const summary = {
          input: cli.input,
          test: cli.test ?? null,
          shape: { rows: problem.nRows, cols: problem.nCols, ratings: problem.nnz },
          summedDuplicates: merged,
          backend: result.backend,
          backendReport: result.backendReport,
          threadsUsed,
          options: resolved,
          iterations: result.history,
          totals: {
            readSeconds: loadSeconds,
            fitSeconds,
            secondsPerIteration: fitSeconds / result.history.length,
            trainRmse: last.trainRmse,
            testRmse: last.validRmse ?? null,
            peakRssMb: peakRssMb(),
          },
          ranking,
          saved: cli.save ?? null,
        };
        if (cli.json) {
          printJson(summary);
          return;
        }
        if (ranking) {
          const line = (name: string, m: RankingReport): string =>
            `${name.padEnd(12)} ${fmt(m.precision).padStart(8)} ${fmt(m.recall).padStart(8)} ${fmt(m.ndcg).padStart(8)} ${fmt(m.map).padStart(8)}\n`;
          const m = ranking.model;
          process.stdout.write(
            `ranking at ${at} over ${m.rows} rows with held-out interactions` +
              `${m.unknownRows || m.unknownCols || m.inTraining ? ` (${m.unknownRows} with unknown rows, ${m.unknownCols} unknown columns, ${m.inTraining} already in training)` : ''}\n` +
              `${''.padEnd(12)} ${`prec@${at}`.padStart(8)} ${`rec@${at}`.padStart(8)} ${`ndcg@${at}`.padStart(8)} ${`map@${at}`.padStart(8)}\n` +
              line('model', m) +
              line('popularity', ranking.popularity),
          );
        }
        process.stdout.write(
          `total ${fitSeconds.toFixed(2)} s (${summary.totals.secondsPerIteration.toFixed(3)} s/iter), ${resolved.implicit ? 'weighted' : 'train'} RMSE ${fmt(last.trainRmse)}` +
            `${test ? `, test RMSE ${fmt(last.validRmse)}` : ''}, peak RSS ${summary.totals.peakRssMb.toFixed(0)} MB\n` +
            (cli.save ? `model saved to ${cli.save}\n` : ''),
        );
      }),
    );
}

/** The problem of a triplet file's entries; a cell given twice is reported by its two file lines. */
function buildOrLocate(entries: Entries, path: string, options: ReadTripletsOptions): KernelProblem {
  try {
    return buildProblem(entries);
  } catch (e) {
    if (isCollabperfError(e) && e.code === 'E_DUPLICATE_ENTRY') throw locateDuplicate(path, options) ?? e;
    throw e;
  }
}
