/**
 * The semantics of one whole fit (docs/kernels.md, "Whole fits"), written once for every
 * TypeScript-side driver: the TS backend's `fitMany` and {@link fitManyByIterations}, the generic
 * batch built from any backend's one-iteration kernels. The native addon implements the same
 * rules in C++; parity tests compare the two.
 */
import { performance } from 'node:perf_hooks';
import { CollabperfError } from '../errors.js';
import type { BatchProgress, FactorArray, FitJob, FitJobIteration, FitJobResult, KernelBackend, KernelValidation, LossSums } from './types.js';

/** Time between two progress callbacks of a batch. */
export const PROGRESS_MS = 100;

/**
 * Weighted RMSE on held-out entries: `sqrt(sum w*err*err / sum w)` with
 * `pred = ((mu + rowBias[r]) + colBias[c]) + dot`, `dot` from 0.0 over f ascending.
 */
export function validationRmse(job: FitJob<FactorArray>, v: KernelValidation): number {
  const { k, mu, U, V, rowBias, colBias } = job.model;
  const { rows, cols, values, weights } = v;
  let sse = 0;
  let ws = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const c = cols[i];
    const ro = r * k;
    const co = c * k;
    let dot = 0.0;
    for (let f = 0; f < k; f++) dot += U[ro + f] * V[co + f];
    const err = values[i] - (((mu + rowBias[r]) + colBias[c]) + dot);
    const w = weights === null ? 1 : weights[i];
    sse += w * err * err;
    ws += w;
  }
  return Math.sqrt(sse / ws);
}

interface Best {
  iter: number;
  rmse: number;
  U: FactorArray;
  V: FactorArray;
  rowBias: FactorArray;
  colBias: FactorArray;
}

/**
 * The bookkeeping between two iterations of one job: history, divergence, validation, early
 * stopping with patience, and the final restore of the best iteration.
 */
export class FitLoop {
  readonly history: FitJobIteration[] = [];
  private best: Best | null = null;
  private stoppedEarly = false;
  private status: FitJobResult['status'] = 'ok';

  constructor(private readonly job: FitJob<FactorArray>) {}

  /** Whether the job's cancel flag is raised. */
  cancelled(): boolean {
    const c = this.job.options.cancel;
    return c !== null && c[0] !== 0;
  }

  /** Records an aborted iteration (the kernel returned 'aborted'); the loop must stop. */
  abort(): void {
    this.status = 'aborted';
  }

  /**
   * Records the iteration `it` (0-based) that just finished with training sums `loss` after
   * `seconds` (the sweep's or epoch's own time). Returns false when the loop must stop (diverged or stopped early).
   */
  afterIteration(it: number, loss: LossSums | null, seconds: number): boolean {
    const job = this.job;
    // Untracked (loss null): no loss, so no divergence check until the end (see finalLoss).
    const trainRmse = loss === null ? NaN : Math.sqrt(loss.sse / loss.wsum);
    if (loss !== null && !Number.isFinite(trainRmse)) {
      this.history.push({ trainRmse, validRmse: NaN, seconds });
      this.status = 'diverged';
      return false;
    }
    const v = job.validation;
    const validRmse = v === null ? NaN : validationRmse(job, v);
    this.history.push(loss?.objective === undefined ? { trainRmse, validRmse, seconds } : { trainRmse, validRmse, seconds, objective: loss.objective });
    if (job.earlyStopping && v !== null) {
      const best = this.best;
      if (best === null || validRmse < best.rmse - job.minDelta) {
        const m = job.model;
        if (best === null) {
          this.best = { iter: it + 1, rmse: validRmse, U: m.U.slice(), V: m.V.slice(), rowBias: m.rowBias.slice(), colBias: m.colBias.slice() };
        } else {
          // Reuse the copies: a long fit improves at most iterations, and reallocating is the cost.
          best.iter = it + 1;
          best.rmse = validRmse;
          best.U.set(m.U);
          best.V.set(m.V);
          best.rowBias.set(m.rowBias);
          best.colBias.set(m.colBias);
        }
      } else if (it + 1 - best.iter >= job.patience) {
        this.stoppedEarly = it + 1 < job.iters;
        return false;
      }
    }
    return true;
  }

  /** Whether the loss is computed after every iteration (FitJob.trackLoss). */
  get tracksLoss(): boolean {
    return this.job.trackLoss !== false;
  }

  /**
   * Untracked jobs, after {@link finish}: whether the kept model still needs its loss, which the
   * caller computes on the model and gives to {@link finalLoss}.
   */
  needsFinalLoss(r: FitJobResult): boolean {
    return !this.tracksLoss && r.status === 'ok' && r.history.length > 0;
  }

  /** The kept iteration's training loss (untracked jobs): its trainRmse, or 'diverged' when non-finite. */
  finalLoss(r: FitJobResult, loss: LossSums): FitJobResult {
    const trainRmse = Math.sqrt(loss.sse / loss.wsum);
    const kept = r.history[r.bestIter - 1];
    kept.trainRmse = trainRmse;
    if (loss.objective !== undefined) kept.objective = loss.objective;
    if (!Number.isFinite(trainRmse)) r.status = 'diverged';
    return r;
  }

  /** Restores the best iteration into the model when it is not the last one, and reports. */
  finish(): FitJobResult {
    const best = this.best;
    const n = this.history.length;
    if (best !== null && best.iter !== n) {
      const m = this.job.model;
      m.U.set(best.U);
      m.V.set(best.V);
      m.rowBias.set(best.rowBias);
      m.colBias.set(best.colBias);
    }
    return { status: this.status, history: this.history, bestIter: best?.iter ?? n, stoppedEarly: this.stoppedEarly };
  }
}

/** Batch progress, sent at most every PROGRESS_MS. */
export class ProgressThrottle {
  private readonly progress: BatchProgress;
  private last = performance.now();

  constructor(
    jobs: number,
    private readonly onProgress: ((p: BatchProgress) => void) | undefined,
  ) {
    this.progress = { jobsDone: 0, jobs, itersDone: new Int32Array(jobs) };
  }

  /** Job `j` finished its iteration `iter` (1-based). */
  iteration(j: number, iter: number): void {
    this.progress.itersDone[j] = iter;
    this.maybeSend();
  }

  /** Job `j` is over. */
  jobDone(): void {
    this.progress.jobsDone++;
    this.maybeSend();
  }

  private maybeSend(): void {
    if (this.onProgress === undefined) return;
    const now = performance.now();
    if (now - this.last < PROGRESS_MS) return;
    this.last = now;
    // A copy: the callback may keep it while the batch goes on.
    this.onProgress({ ...this.progress, itersDone: this.progress.itersDone.slice() });
  }
}

/** The one-iteration kernels of a backend, all `fitManyByIterations` needs. */
export type IterationKernels = Pick<KernelBackend, 'alsSweep' | 'sgdEpoch' | 'trainLoss'>;

/**
 * A `fitMany` made of a backend's one-iteration kernels: the jobs one after the other, one kernel
 * call per sweep or epoch and one per training loss, with exactly the loop rules of the native and
 * TypeScript `fitMany`. For backends that only implement the kernels (third-party backends, or an
 * addon built before `fitMany` existed); it pays one backend call per iteration.
 */
export function fitManyByIterations(kernels: IterationKernels): KernelBackend['fitMany'] {
  return async (jobs, onProgress) => {
    const progress = new ProgressThrottle(jobs.length, onProgress);
    const results: FitJobResult[] = [];
    const ials = jobs.findIndex((j) => j.algo === 'ials');
    if (ials >= 0) {
      // The one-iteration kernels have no implicit sweep; the caller must route such jobs to a backend whose details say implicitAls.
      throw new CollabperfError('E_INVALID_ARGUMENT', `job ${ials} is implicit ALS, which a backend made of one-iteration kernels cannot run`);
    }
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j];
      const loop = new FitLoop(job);
      for (let it = 0; it < job.iters; it++) {
        if (loop.cancelled()) {
          loop.abort();
          break;
        }
        const t = performance.now();
        const status = job.algo === 'als' ? await kernels.alsSweep(job.problem, job.model, job.options) : await kernels.sgdEpoch(job.problem, job.model, job.options, it);
        const seconds = (performance.now() - t) / 1000;
        if (status === 'aborted' || loop.cancelled()) {
          loop.abort();
          break;
        }
        const loss = loop.tracksLoss ? await kernels.trainLoss(job.problem, job.model, job.options) : null;
        const go = loop.afterIteration(it, loss, seconds);
        progress.iteration(j, it + 1);
        if (!go) break;
      }
      const r = loop.finish();
      results.push(loop.needsFinalLoss(r) ? loop.finalLoss(r, await kernels.trainLoss(job.problem, job.model, job.options)) : r);
      progress.jobDone();
    }
    return results;
  };
}
