/**
 * PCA fits on a worker thread. The imputation loop is pure JavaScript and the largest single cost
 * of `predict` (its interval calibration fits the default ensemble 11 times, each with six PCA
 * imputations), while the main thread also has the ensemble's knn to compute and the second core is
 * otherwise mostly idle; fits sent here run beside it. The worker runs the same {@link fitPcaModel}
 * on the same cells, so its result is bit-for-bit the main thread's.
 *
 * Only from the built package (the worker is `dist/app/predictors/pca-worker.js`; under the test
 * runner's TypeScript sources there is none), on a machine with two or more cores, and unless
 * `COLLABPERF_WORKERS=0`. Otherwise {@link fitPcaOffThread} returns null and the caller fits inline.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CollabperfError, type CollabperfErrorCode } from '../../errors.js';
import type { Cells } from '../data/observed-cells.js';
import { fitPcaModel, type PcaFit } from './pca.js';

/** A fit request: the cells (copies, so that nothing the caller holds is shared) and the seed. */
export interface PcaJob {
  id: number;
  nModels: number;
  nTasks: number;
  model: Int32Array;
  task: Int32Array;
  value: Float64Array;
  seed: number;
  /** The rank to fit (no inner validation), when fixed by the caller's settings. */
  rank?: number;
}

/** The worker's answer to a {@link PcaJob}. */
export type PcaReply = { id: number; fit: PcaFit } | { id: number; error: { code?: CollabperfErrorCode; message: string } };

const WORKER_URL = new URL('./pca-worker.js', import.meta.url);

interface Pending {
  job: PcaJob;
  resolve(fit: PcaFit): void;
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
  for (const p of held) {
    try {
      const { nModels, nTasks, model, task, value, seed, rank } = p.job;
      p.resolve(fitPcaModel({ nModels, nTasks, model, task, value }, seed, undefined, rank));
    } catch (e) {
      p.reject(e);
    }
  }
}

/** The worker, started on first use; null when fits should run inline (see the module comment). */
function pcaWorker(): Worker | null {
  if (worker !== undefined) return worker;
  if (process.env.COLLABPERF_WORKERS === '0' || availableParallelism() < 2 || !existsSync(fileURLToPath(WORKER_URL))) return (worker = null);
  const w = new Worker(WORKER_URL);
  // Referenced only while a fit is out, so an idle worker never keeps the process alive.
  w.unref();
  w.on('message', (r: PcaReply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (pending.size === 0) w.unref();
    if ('fit' in r) p.resolve(r.fit);
    else p.reject(r.error.code ? new CollabperfError(r.error.code, r.error.message) : new Error(r.error.message));
  });
  w.on('error', abandon);
  w.on('exit', abandon);
  return (worker = w);
}

/**
 * {@link fitPcaModel} of the cells on the worker thread, or null when there is none (the caller then
 * fits inline). An aborted `signal` rejects with E_ABORTED, as the inline fit would throw.
 */
export function fitPcaOffThread(c: Cells, seed: number, signal?: AbortSignal, rank?: number): Promise<PcaFit> | null {
  const w = pcaWorker();
  if (!w) return null;
  const id = nextId++;
  const job: PcaJob = { id, nModels: c.nModels, nTasks: c.nTasks, model: c.model.slice(), task: c.task.slice(), value: c.value.slice(), seed, ...(rank !== undefined ? { rank } : {}) };
  return new Promise<PcaFit>((resolve, reject) => {
    const aborted = (): void => {
      if (pending.delete(id) && pending.size === 0) w.unref();
      reject(new CollabperfError('E_ABORTED', 'the pca fit was cancelled'));
    };
    signal?.addEventListener('abort', aborted, { once: true });
    const done = (): void => signal?.removeEventListener('abort', aborted);
    pending.set(id, {
      job,
      resolve: (fit) => {
        done();
        resolve(fit);
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

/**
 * Starts the worker now, if there is to be one, so that its start-up (about a tenth of a second,
 * loading its modules) overlaps the command's reading of its data rather than delaying the first fit.
 */
export function startPcaWorker(): void {
  pcaWorker();
}
