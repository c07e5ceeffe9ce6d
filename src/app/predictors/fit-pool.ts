/**
 * JavaScript fits on a worker thread: PCA's imputation, and logit-ALS when it runs on the
 * TypeScript backend (which computes on the thread that calls it; on the native backend its ALS is
 * off the main thread already). These are the largest costs of `predict` that would otherwise run
 * on the main thread while it has the neighbour methods to compute and the second core is mostly
 * idle. The worker (fit-worker.ts) runs the same `fitPcaModel` / `fitLogitAlsModel` on the same
 * cells, so its result is bit-for-bit the main thread's.
 *
 * Only from the built package (the worker is `dist/app/predictors/fit-worker.js`; under the test
 * runner's TypeScript sources there is none), on a machine with two or more cores, for fits of at
 * least {@link WORKER_MIN_CELLS} cells, and unless `COLLABPERF_WORKERS=0`. Otherwise the
 * `...OffThread` functions return null and the caller fits inline.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CollabperfError, type CollabperfErrorCode } from '../../errors.js';
import type { Cells } from '../data/observed-cells.js';
import type { LogitAlsJob, LogitAlsModel } from './logit-als.js';
import type { PcaFit } from './pca.js';
import type { Predictor } from './types.js';

/** The cells of a job (copies, so that nothing the caller holds is shared). */
interface JobCells {
  id: number;
  nModels: number;
  nTasks: number;
  model: Int32Array;
  task: Int32Array;
  value: Float64Array;
}

/** A PCA fit request: the cells, the seed, and the rank when the caller's settings fix it. */
export interface PcaJob extends JobCells {
  kind: 'pca';
  seed: number;
  rank?: number;
}

/** A logit-ALS fit request: cells already in the transformed space and the {@link LogitAlsJob}. */
export interface LogitAlsWorkerJob extends JobCells, LogitAlsJob {
  kind: 'logit-als';
}

/** Anything the worker fits. */
export type FitJob = PcaJob | LogitAlsWorkerJob;

/** The worker's answer to a {@link FitJob}. */
export type FitReply = { id: number; pca: PcaFit } | { id: number; logitAls: LogitAlsModel } | { id: number; error: { code?: CollabperfErrorCode; message: string } };

/** The fit a successful reply carries. */
function resultOf(r: Exclude<FitReply, { error: unknown }>): PcaFit | LogitAlsModel {
  return 'pca' in r ? r.pca : r.logitAls;
}

const WORKER_URL = new URL('./fit-worker.js', import.meta.url);

/**
 * Fewest cells for which the application's worker threads pay for their start (an isolate loading
 * the package, about a tenth of a second): a fit sent to the fit worker here, and an evaluation's
 * table for its fold workers (eval/evaluate.ts). On crowdsource (1.2k cells) a PCA fit takes
 * milliseconds, and `predict` there took 0.705 s with the fit worker and 0.695 s without (median of
 * 6), at 10.7% against 8.5% system time.
 */
export const WORKER_MIN_CELLS = 5000;

interface Pending {
  /** The same fit on this thread (the worker's modules import this one, so it cannot import theirs). */
  inline(): PcaFit | LogitAlsModel | Promise<PcaFit | LogitAlsModel>;
  resolve(fit: PcaFit | LogitAlsModel): void;
  reject(err: unknown): void;
}

let worker: Worker | null | undefined;
const pending = new Map<number, Pending>();
let nextId = 0;

/**
 * A worker that fails to start or dies (a flag it inherits that a worker refuses, say) is not used
 * again, and the fits it held are made inline: the command still gets its results.
 */
function abandon(): void {
  worker = null;
  const held = [...pending.values()];
  pending.clear();
  for (const p of held) Promise.resolve().then(p.inline).then(p.resolve, p.reject);
}

/** The worker, started on first use; null when fits should run inline (see the module comment). */
function fitWorker(): Worker | null {
  if (worker !== undefined) return worker;
  if (process.env.COLLABPERF_WORKERS === '0' || availableParallelism() < 2 || !existsSync(fileURLToPath(WORKER_URL))) return (worker = null);
  const w = new Worker(WORKER_URL);
  w.on('message', (r: FitReply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (pending.size === 0) w.unref();
    if ('error' in r) p.reject(r.error.code ? new CollabperfError(r.error.code, r.error.message) : new Error(r.error.message));
    else p.resolve(resultOf(r));
  });
  w.on('error', abandon);
  w.on('exit', abandon);
  // Referenced only while a fit is out, so an idle worker never keeps the process alive (after the
  // listeners: adding a 'message' listener references the worker again).
  w.unref();
  return (worker = w);
}

/** Sends a job to the worker; null when there is none. An aborted `signal` rejects with E_ABORTED. */
function offThread<R extends PcaFit | LogitAlsModel>(job: FitJob, inline: () => R | Promise<R>, what: string, signal?: AbortSignal): Promise<R> | null {
  const w = fitWorker();
  if (!w) return null;
  return new Promise<R>((resolve, reject) => {
    const aborted = (): void => {
      if (pending.delete(job.id) && pending.size === 0) w.unref();
      reject(new CollabperfError('E_ABORTED', `the ${what} fit was cancelled`));
    };
    signal?.addEventListener('abort', aborted, { once: true });
    const done = (): void => signal?.removeEventListener('abort', aborted);
    pending.set(job.id, {
      inline,
      resolve: (fit) => {
        done();
        resolve(fit as R);
      },
      reject: (err) => {
        done();
        reject(err);
      },
    });
    w.ref();
    // Copied (not transferred): the job stays whole for an inline fit should the worker die.
    w.postMessage(job);
  });
}

const cellsOfJob = (c: Cells): JobCells => ({ id: nextId++, nModels: c.nModels, nTasks: c.nTasks, model: c.model.slice(), task: c.task.slice(), value: c.value.slice() });

/**
 * `fitPcaModel` of the cells on the worker thread (`inline` is the same fit here, used should the
 * worker die), or null when there is none: the caller fits inline then.
 */
export function fitPcaOffThread(c: Cells, seed: number, inline: () => PcaFit, signal?: AbortSignal, rank?: number): Promise<PcaFit> | null {
  if (c.value.length < WORKER_MIN_CELLS || !fitWorker()) return null;
  return offThread<PcaFit>({ ...cellsOfJob(c), kind: 'pca', seed, ...(rank !== undefined ? { rank } : {}) }, inline, 'pca', signal);
}

/**
 * `fitLogitAlsModel` of the (transformed) cells on the worker thread, on the TypeScript backend
 * (for callers whose backend is that one), or null when there is no worker.
 */
export function fitLogitAlsOffThread(c: Cells, job: LogitAlsJob, inline: () => Promise<LogitAlsModel>, signal?: AbortSignal): Promise<LogitAlsModel> | null {
  if (c.value.length < WORKER_MIN_CELLS || !fitWorker()) return null;
  return offThread<LogitAlsModel>({ ...cellsOfJob(c), kind: 'logit-als', grid: job.grid.map((g) => ({ ...g })), starts: job.starts, seed: job.seed }, inline, 'logit-als', signal);
}

/** Predictors whose fits go to the worker (registered by their modules). */
const offThreadPredictors = new WeakSet<Predictor>();

/** Registers a predictor whose fit uses the worker, for {@link usesFitWorker}. */
export function markOffThread(p: Predictor): void {
  offThreadPredictors.add(p);
}

/** Whether fitting `p` uses the worker: a registered method, or a composite with one among its members. */
export function usesFitWorker(p: Predictor): boolean {
  return offThreadPredictors.has(p) || (p.members ?? []).some(usesFitWorker);
}

/**
 * Starts the worker now, if there is to be one, so that its start-up (about a tenth of a second,
 * loading its modules) overlaps the command's reading of its data rather than delaying the first fit.
 */
export function startFitWorker(): void {
  fitWorker();
}
