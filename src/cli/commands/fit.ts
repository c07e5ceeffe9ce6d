import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { CollabperfError } from '../../errors.js';
import { getBackend } from '../../backends/registry.js';
import { runFit } from '../../factorization/fit.js';
import { saveModel } from '../../factorization/model-file.js';
import { resolveFitOptions, type FitOptions } from '../../factorization/options.js';
import { buildProblem, toEntries } from '../../factorization/ratings.js';
import { readTriplets } from '../../factorization/triplets.js';
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
  bias?: boolean;
  save?: string;
  remapIds?: boolean;
  json?: boolean;
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
    .description('factorize a triplet file ("row col value" per line) with ALS or SGD')
    .requiredOption('--input <file>', 'training triplets')
    .option('--algo <als|sgd>', 'algorithm', 'als')
    .option('--rank <k>', 'latent dimension (default 10)')
    .option('--iters <n>', 'ALS sweeps or SGD epochs (default 15 ALS, 30 SGD)')
    .option('--lambda <x>', 'L2 regularisation')
    .option('--lr <x>', 'SGD learning rate (default 0.01)')
    .option('--seed <n>', 'seed (default 42)')
    .option('--threads <n>', 'kernel threads (default: all cores)')
    .option('--sgd-mode <mode>', 'deterministic (default) or parallel (native only)')
    .option('--no-bias', 'no row/column biases')
    .option('--test <file>', 'test triplets: RMSE reported each iteration (not used for stopping)')
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
          useBias: cli.bias !== false,
        };
        const resolved = resolveFitOptions(options);
        const backend = getBackend(cli.backend as FitOptions['backend']);
        const t0 = performance.now();
        const train = readTriplets(cli.input, { remapIds: Boolean(cli.remapIds) });
        const entries = toEntries(train, cli.input, { rank: resolved.rank });
        const problem = buildProblem(entries);
        let test = null;
        if (cli.test) {
          const tt = readTriplets(cli.test, { idMap: train.idMap });
          test = toEntries({ ...tt, nRows: problem.nRows, nCols: problem.nCols }, cli.test);
        }
        const loadSeconds = (performance.now() - t0) / 1000;
        const progress = new Progress('fit');
        // The TS backend ignores --threads: say what runs, not what was asked for.
        const details = backend.details();
        const threadsUsed = Math.max(1, Math.min(resolved.threads, details.maxThreads));
        if (!cli.json) {
          process.stdout.write(
            `${cli.input}: ${problem.nRows} rows x ${problem.nCols} columns, ${problem.nnz} ratings (read in ${loadSeconds.toFixed(2)} s)\n` +
              `${resolved.algo.toUpperCase()} rank ${resolved.rank} on the ${backend.name} backend (${details.blas}), ${threadsUsed} thread(s)${threadsUsed < resolved.threads ? ` (${resolved.threads} requested)` : ''}\n` +
              `iter  seconds  train RMSE${test ? '  test RMSE' : ''}\n`,
          );
        }
        const result = await runFit(problem, resolved, backend, test, {
          earlyStopping: false,
          onProgress: (r) => {
            if (cli.json) {
              progress.update(r.iter, r.iters, `train RMSE ${fmt(r.trainRmse)}`);
              return;
            }
            process.stdout.write(`${String(r.iter).padStart(4)}  ${r.seconds.toFixed(3).padStart(7)}  ${fmt(r.trainRmse, 6).padStart(10)}${test ? `  ${fmt(r.validRmse, 6).padStart(9)}` : ''}\n`);
          },
        });
        progress.done();
        const fitSeconds = result.history.reduce((s, r) => s + r.seconds, 0);
        if (cli.save) saveModel(result.model, cli.save);
        const last = result.history[result.history.length - 1];
        const summary = {
          input: cli.input,
          test: cli.test ?? null,
          shape: { rows: problem.nRows, cols: problem.nCols, ratings: problem.nnz },
          backend: result.backend,
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
          saved: cli.save ?? null,
        };
        if (cli.json) {
          printJson(summary);
          return;
        }
        process.stdout.write(
          `total ${fitSeconds.toFixed(2)} s (${summary.totals.secondsPerIteration.toFixed(3)} s/iter), train RMSE ${fmt(last.trainRmse)}` +
            `${test ? `, test RMSE ${fmt(last.validRmse)}` : ''}, peak RSS ${summary.totals.peakRssMb.toFixed(0)} MB\n` +
            (cli.save ? `model saved to ${cli.save}\n` : ''),
        );
      }),
    );
}
