import { availableParallelism } from 'node:os';
import { CollabperfError } from '../errors.js';
import type { BackendChoice } from '../backends/registry.js';
import type { SgdMode } from '../backends/types.js';
import type { RatingsInput } from './ratings.js';

export type Algorithm = 'als' | 'sgd';

/** One iteration's report, passed to `onProgress` and kept in the fit history. */
export interface IterationReport {
  /** 1-based iteration (ALS sweep or SGD epoch). */
  iter: number;
  iters: number;
  /** Weighted RMSE over the training entries after this iteration. */
  trainRmse: number;
  /** RMSE over the validation entries, when a validation set was given. */
  validRmse?: number;
  /** Seconds this iteration's kernel took. */
  seconds: number;
  /** Seconds since the fit started. */
  elapsed: number;
}

/** Options of {@link fit}. Every field is optional; defaults depend on the algorithm. */
export interface FitOptions {
  /** 'als' (default) or 'sgd'. */
  algo?: Algorithm;
  /** Latent dimension k (default 10). */
  rank?: number;
  /** ALS sweeps or SGD epochs (default 15 for ALS, 30 for SGD). */
  iters?: number;
  /** L2 on factors (default 0.05 for ALS with weighted lambda, 0.02 for SGD). */
  lambda?: number;
  /** L2 on biases (default: same as lambda). */
  lambdaBias?: number;
  /** ALS: scale regularisation by each row's/column's count, as in weighted-lambda ALS (default true). */
  weightedLambda?: boolean;
  /** Fit row and column biases around the global mean (default true). */
  useBias?: boolean;
  /** Seed of initialisation and shuffles (default 42). */
  seed?: number;
  /** Scale of the initial factors (uniform in ±initScale/sqrt(k); default 0.1). */
  initScale?: number;
  /** Threads of the native kernels (default: all cores). */
  threads?: number;
  /** SGD step size (default 0.01). */
  learningRate?: number;
  /** SGD: lr(epoch) = learningRate / (1 + lrDecay * epoch) (default 0.05). */
  lrDecay?: number;
  /** SGD: 'deterministic' (bit-identical across backends, default) or 'parallel' (native, block-scheduled). */
  sgdMode?: SgdMode;
  /** 'auto' (default, or COLLABPERF_BACKEND), 'native' or 'ts'. */
  backend?: BackendChoice;
  /** Entries to report RMSE on each iteration and to stop early on. */
  validation?: RatingsInput;
  /** Stop early on the validation set (default true); false only reports its RMSE per iteration. */
  earlyStopping?: boolean;
  /** Stop when validation RMSE has not improved for this many iterations (default 3); the best iteration's model is kept. */
  patience?: number;
  /** Improvement smaller than this does not count (default 1e-6). */
  minDelta?: number;
  /** Called after every iteration. */
  onProgress?: (report: IterationReport) => void;
  /** Cancels the fit; it rejects with code E_ABORTED. */
  signal?: AbortSignal;
}

/** Options after defaults and validation. */
export interface ResolvedFitOptions {
  algo: Algorithm;
  rank: number;
  iters: number;
  lambda: number;
  lambdaBias: number;
  weightedLambda: boolean;
  useBias: boolean;
  seed: number;
  initScale: number;
  threads: number;
  learningRate: number;
  lrDecay: number;
  sgdMode: SgdMode;
  patience: number;
  minDelta: number;
}

/** Above this, a rank is a mistake rather than a model (the normal equations are d x d per row). */
export const MAX_RANK = 1024;

function num(name: string, v: unknown, def: number, check: (x: number) => boolean, rule: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `${name} must be ${rule}, got ${String(v)}`, { field: name });
  }
  return v;
}

function bool(name: string, v: unknown, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new CollabperfError('E_INVALID_ARGUMENT', `${name} must be true or false`, { field: name });
  return v;
}

const isInt = (x: number): boolean => Number.isInteger(x);

/** Applies defaults and rejects invalid values with E_INVALID_ARGUMENT naming the option. */
export function resolveFitOptions(o: FitOptions = {}): ResolvedFitOptions {
  const algo = o.algo ?? 'als';
  if (algo !== 'als' && algo !== 'sgd') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `algo must be "als" or "sgd", got ${String(algo)}`, { field: 'algo' });
  }
  const sgdMode = o.sgdMode ?? 'deterministic';
  if (sgdMode !== 'deterministic' && sgdMode !== 'parallel') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `sgdMode must be "deterministic" or "parallel", got ${String(sgdMode)}`, { field: 'sgdMode' });
  }
  const als = algo === 'als';
  const lambda = num('lambda', o.lambda, als ? 0.05 : 0.02, (x) => x >= 0, 'a finite number >= 0');
  return {
    algo,
    rank: num('rank', o.rank, 10, (x) => isInt(x) && x >= 1 && x <= MAX_RANK, `an integer from 1 to ${MAX_RANK}`),
    iters: num('iters', o.iters, als ? 15 : 30, (x) => isInt(x) && x >= 1 && x <= 1_000_000, 'an integer >= 1'),
    lambda,
    lambdaBias: num('lambdaBias', o.lambdaBias, lambda, (x) => x >= 0, 'a finite number >= 0'),
    weightedLambda: bool('weightedLambda', o.weightedLambda, als),
    useBias: bool('useBias', o.useBias, true),
    seed: num('seed', o.seed, 42, (x) => isInt(x) && x >= 0 && x <= 0xffffffff, 'an integer from 0 to 2^32-1'),
    initScale: num('initScale', o.initScale, 0.1, (x) => x >= 0, 'a finite number >= 0'),
    threads: num('threads', o.threads, Math.max(1, availableParallelism()), (x) => isInt(x) && x >= 1 && x <= 1024, 'an integer from 1 to 1024'),
    learningRate: num('learningRate', o.learningRate, 0.01, (x) => x > 0, 'a finite number > 0'),
    lrDecay: num('lrDecay', o.lrDecay, 0.05, (x) => x >= 0, 'a finite number >= 0'),
    sgdMode,
    patience: num('patience', o.patience, 3, (x) => isInt(x) && x >= 1, 'an integer >= 1'),
    minDelta: num('minDelta', o.minDelta, 1e-6, (x) => x >= 0, 'a finite number >= 0'),
  };
}
