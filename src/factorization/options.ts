import { availableParallelism } from 'node:os';
import { CollabperfError } from '../errors.js';
import type { BackendChoice } from '../backends/registry.js';
import type { BatchProgress, ConfidenceKind, ImplicitSolver, SgdMode } from '../backends/types.js';
import type { StringRatings } from './ids.js';
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
  /**
   * Implicit ALS: the objective (confidence-weighted squared error over every cell plus the L2
   * terms); `trainRmse` is then the confidence-weighted RMSE over every cell.
   */
  objective?: number;
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
  /**
   * SGD: 'deterministic' (bit-identical across backends, default) or 'parallel' (native,
   * block-scheduled). The TypeScript backend does not support 'parallel': it runs the deterministic
   * mode and emits a process warning (code COLLABPERF_TS_NO_PARALLEL_SGD) once.
   */
  sgdMode?: SgdMode;
  /** 'auto' (default, or COLLABPERF_BACKEND), 'native' or 'ts'. */
  backend?: BackendChoice;
  /** Entries to report RMSE on each iteration and to stop early on (in the training data's ids). */
  validation?: RatingsInput | StringRatings;
  /** Stop early on the validation set (default true); false only reports its RMSE per iteration. */
  earlyStopping?: boolean;
  /** Stop when validation RMSE has not improved for this many iterations (default 3); the best iteration's model is kept. */
  patience?: number;
  /** Improvement smaller than this does not count (default 1e-6). */
  minDelta?: number;
  /** Receives every iteration's report, in order, once the fit (one backend call) has run. */
  onProgress?: (report: IterationReport) => void;
  /** Live progress while the fit runs (iterations done so far), at most every ~100 ms. */
  onBatchProgress?: (p: BatchProgress) => void;
  /** Cancels the fit; it rejects with code E_ABORTED. */
  signal?: AbortSignal;
  /**
   * Implicit-feedback ALS (Hu, Koren & Volinsky 2008): values are counts or strengths r >= 0 (clicks,
   * plays), every cell of the matrix takes part with preference 1 where r > 0 and 0 elsewhere,
   * weighted by a confidence. ALS only, no biases; defaults change to lambda 0.1,
   * weightedLambda false, useBias false. Default false.
   */
  implicit?: boolean;
  /**
   * Implicit: confidence slope (default 1, as in Spark MLlib and the Python \`implicit\` package; the
   * paper's 40 suits raw counts with a much larger lambda).
   */
  alpha?: number;
  /** Implicit: 'linear' (c = 1 + alpha r, default) or 'log' (c = 1 + alpha log(1 + r / epsilon)). */
  confidence?: ConfidenceKind;
  /** Implicit, 'log' confidence: the scale epsilon (default 1). */
  epsilon?: number;
  /** Implicit: 'cg' (conjugate gradient, default) or 'cholesky' (exact solve per row). */
  solver?: ImplicitSolver;
  /** Implicit with solver 'cg': CG steps per row and sweep (default 3). */
  cgSteps?: number;
  /**
   * Map sparse integer row/column ids to dense indices (ascending), keeping the map in the model so
   * that its methods and its file speak the original ids (default false). String ids
   * (`{ row, col, value }` input) are always mapped.
   */
  remapIds?: boolean;
  /** Memory budget in bytes for the ratings and factors (default 4 GiB); beyond it the fit is E_TOO_LARGE. */
  maxBytes?: number;
  /**
   * Storage of the factors and biases: 'float64' (default) or 'float32' (half the memory; the
   * model's arrays are then Float32Arrays). float32 is available for explicit and implicit ALS
   * and SGD in both modes. Each stored value is rounded to float32; the TypeScript backend computes
   * in double, the native one sums explicit ALS's Gram blocks, runs implicit CG and parallel SGD in
   * float lanes (faster; within a stated tolerance of TypeScript or of float64, docs/kernels.md
   * "float32 factors").
   */
  dtype?: Dtype;
}

/** Storage type of a model's factors and biases. */
export type Dtype = 'float32' | 'float64';

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
  /** Implicit-feedback ALS (absent in models saved before it existed: false). */
  implicit: boolean;
  alpha: number;
  confidence: ConfidenceKind;
  epsilon: number;
  solver: ImplicitSolver;
  cgSteps: number;
  /** Storage of the factors (absent in models saved before float32 existed: float64). */
  dtype: Dtype;
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

/** Every key {@link FitOptions} has; `satisfies` keeps the list in step with the interface. */
const FIT_OPTION_KEYS = Object.keys({
  algo: 0, rank: 0, iters: 0, lambda: 0, lambdaBias: 0, weightedLambda: 0, useBias: 0, seed: 0, initScale: 0, threads: 0,
  learningRate: 0, lrDecay: 0, sgdMode: 0, backend: 0, validation: 0, earlyStopping: 0, patience: 0, minDelta: 0,
  onProgress: 0, onBatchProgress: 0, signal: 0, implicit: 0, alpha: 0, confidence: 0, epsilon: 0, solver: 0, cgSteps: 0,
  remapIds: 0, maxBytes: 0, dtype: 0,
} satisfies Record<keyof FitOptions, 0>);

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * A misspelt option would otherwise be ignored silently and the fit run with the default; reject
 * it, naming the closest known key when one is near (case-insensitive edit distance).
 */
function rejectUnknownKeys(o: object): void {
  for (const key of Object.keys(o)) {
    if (FIT_OPTION_KEYS.includes(key)) continue;
    let best = '';
    let bestD = Infinity;
    for (const k of FIT_OPTION_KEYS) {
      const d = editDistance(key.toLowerCase(), k.toLowerCase());
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    const hint = bestD <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean "${best}"?` : '';
    throw new CollabperfError('E_INVALID_ARGUMENT', `unknown fit option "${key}"${hint}`, { field: key });
  }
}

/**
 * Applies defaults and rejects invalid values with E_INVALID_ARGUMENT naming the option; an unknown
 * key (e.g. `rnak`) is rejected too, with the closest known key suggested. `threads` is 1..1024 on
 * every backend (the TS backend accepts and ignores it).
 */
export function resolveFitOptions(o: FitOptions = {}): ResolvedFitOptions {
  rejectUnknownKeys(o);
  const algo = o.algo ?? 'als';
  if (algo !== 'als' && algo !== 'sgd') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `algo must be "als" or "sgd", got ${String(algo)}`, { field: 'algo' });
  }
  const sgdMode = o.sgdMode ?? 'deterministic';
  if (sgdMode !== 'deterministic' && sgdMode !== 'parallel') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `sgdMode must be "deterministic" or "parallel", got ${String(sgdMode)}`, { field: 'sgdMode' });
  }
  const als = algo === 'als';
  const implicit = bool('implicit', o.implicit, false);
  if (implicit && algo !== 'als') throw new CollabperfError('E_INVALID_ARGUMENT', 'implicit feedback is fitted with ALS only (algo "als")', { field: 'algo' });
  if (implicit && o.useBias === true) throw new CollabperfError('E_INVALID_ARGUMENT', 'implicit ALS has no biases (useBias must be false)', { field: 'useBias' });
  if (!implicit) {
    for (const key of ['alpha', 'confidence', 'epsilon', 'solver', 'cgSteps'] as const) {
      if (o[key] !== undefined) throw new CollabperfError('E_INVALID_ARGUMENT', `${key} applies to implicit ALS only (set implicit: true)`, { field: key });
    }
  }
  const confidence = o.confidence ?? 'linear';
  if (confidence !== 'linear' && confidence !== 'log') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `confidence must be "linear" or "log", got ${String(confidence)}`, { field: 'confidence' });
  }
  const solver = o.solver ?? 'cg';
  if (solver !== 'cg' && solver !== 'cholesky') throw new CollabperfError('E_INVALID_ARGUMENT', `solver must be "cg" or "cholesky", got ${String(solver)}`, { field: 'solver' });
  const dtype = o.dtype === undefined ? 'float64' : o.dtype;
  if (dtype !== 'float64' && dtype !== 'float32') throw new CollabperfError('E_INVALID_ARGUMENT', `dtype must be "float32" or "float64", got ${String(dtype)}`, { field: 'dtype' });
  if (o.remapIds !== undefined) bool('remapIds', o.remapIds, false);
  if (o.maxBytes !== undefined) num('maxBytes', o.maxBytes, 0, (x) => x > 0, 'a positive number');
  const lambda = num('lambda', o.lambda, implicit ? 0.1 : als ? 0.05 : 0.02, (x) => x >= 0, 'a finite number >= 0');
  return {
    algo,
    rank: num('rank', o.rank, 10, (x) => isInt(x) && x >= 1 && x <= MAX_RANK, `an integer from 1 to ${MAX_RANK}`),
    iters: num('iters', o.iters, als ? 15 : 30, (x) => isInt(x) && x >= 1 && x <= 1_000_000, 'an integer >= 1'),
    lambda,
    lambdaBias: num('lambdaBias', o.lambdaBias, lambda, (x) => x >= 0, 'a finite number >= 0'),
    weightedLambda: bool('weightedLambda', o.weightedLambda, als && !implicit),
    useBias: bool('useBias', o.useBias, !implicit),
    seed: num('seed', o.seed, 42, (x) => isInt(x) && x >= 0 && x <= 0xffffffff, 'an integer from 0 to 2^32-1'),
    initScale: num('initScale', o.initScale, 0.1, (x) => x >= 0, 'a finite number >= 0'),
    threads: num('threads', o.threads, Math.max(1, availableParallelism()), (x) => isInt(x) && x >= 1 && x <= 1024, 'an integer from 1 to 1024'),
    learningRate: num('learningRate', o.learningRate, 0.01, (x) => x > 0, 'a finite number > 0'),
    lrDecay: num('lrDecay', o.lrDecay, 0.05, (x) => x >= 0, 'a finite number >= 0'),
    sgdMode,
    patience: num('patience', o.patience, 3, (x) => isInt(x) && x >= 1, 'an integer >= 1'),
    minDelta: num('minDelta', o.minDelta, 1e-6, (x) => x >= 0, 'a finite number >= 0'),
    implicit,
    alpha: num('alpha', o.alpha, 1, (x) => x > 0, 'a finite number > 0'),
    confidence,
    epsilon: num('epsilon', o.epsilon, 1, (x) => x > 0, 'a finite number > 0'),
    solver,
    cgSteps: num('cgSteps', o.cgSteps, 3, (x) => isInt(x) && x >= 1 && x <= 1000, 'an integer from 1 to 1000'),
    dtype,
  };
}
