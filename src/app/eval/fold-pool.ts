/**
 * Worker threads for the folds of an evaluation. A method whose fits are plain JavaScript
 * ({@link Predictor.portable}: the neighbour methods, PCA, logit-ALS, the NCF networks) runs one
 * fit at a time on the main thread however many folds and seeds are waiting, while the second core
 * idles; here its folds are spread over one worker per core. Each worker holds the dataset (sent
 * once), builds a fold's training view from its mask, fits the named predictor with the fold's
 * seed and predicts the held-out cells: the same code on the same input, so the same bits as a fit
 * on the main thread.
 *
 * Only from the built package (the worker is `dist/app/eval/fold-worker.js`), on a machine with two
 * or more cores, and unless `COLLABPERF_WORKERS=0`; {@link FoldPool.open} returns null otherwise.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CollabperfError, type CollabperfErrorCode } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';

/** One fold of one method: the training mask over `ds.scores`, the seed, the cells to predict. */
export interface FoldJob {
  id: number;
  method: string;
  seed: number;
  trainMask: Uint8Array;
  model: Int32Array;
  task: Int32Array;
}

/** What a worker answers: the predictions and the fit's `chosen` and wall time, or the error. */
export type FoldReply =
  | { id: number; prediction: Float64Array; chosen: Record<string, number | string | boolean>; ms: number }
  | { id: number; error: { code?: CollabperfErrorCode; message: string } };

/** The result of a fold job. */
export type FoldOutcome = Extract<FoldReply, { prediction: Float64Array }>;

/** Messages a worker receives: the dataset (first), then jobs. */
export type FoldMessage = { kind: 'dataset'; ds: Dataset } | ({ kind: 'job' } & FoldJob);

/** Where a worker's code comes from: the built worker module, or (tests) a script run with `eval`. */
export interface FoldWorkerSource {
  url: URL | string;
  eval?: boolean;
}

const BUILT_WORKER = new URL('./fold-worker.js', import.meta.url);

/** Whether fits may go to workers at all (see the module comment). */
export function foldWorkersAvailable(): boolean {
  return process.env.COLLABPERF_WORKERS !== '0' && availableParallelism() >= 2 && existsSync(fileURLToPath(BUILT_WORKER));
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Waiting {
  job: FoldJob;
  resolve(r: FoldOutcome | null): void;
  reject(e: unknown): void;
}

/**
 * A fixed set of fold workers, each fitting one job at a time; jobs queue in the order given. A
 * worker that fails to start or dies takes the pool down: its jobs, and any given later, resolve to
 * null, and the caller fits them on its own thread (the evaluation still gets every result).
 */
export class FoldPool {
  private readonly slots: Slot[];
  private readonly queue: Waiting[] = [];
  private readonly running = new Map<number, Waiting>();
  private down = false;

  private constructor(ds: Dataset, size: number, source: FoldWorkerSource) {
    // Nested fit workers (PCA, logit-ALS) would only compete with this pool for the same cores.
    const env = { ...process.env, COLLABPERF_WORKERS: '0' };
    this.slots = Array.from({ length: size }, () => {
      const worker = new Worker(source.url, { eval: source.eval === true, env });
      const slot: Slot = { worker, busy: false };
      worker.on('message', (r: FoldReply) => this.answered(slot, r));
      worker.on('error', () => this.takeDown());
      worker.on('exit', () => this.takeDown());
      worker.postMessage({ kind: 'dataset', ds } satisfies FoldMessage);
      return slot;
    });
  }

  /**
   * A pool of `size` workers (default: one per core) holding `ds`, or null when workers are not
   * available (see {@link foldWorkersAvailable}); `source` replaces the built worker (tests).
   */
  static open(ds: Dataset, opts: { size?: number; source?: FoldWorkerSource } = {}): FoldPool | null {
    if (!opts.source && !foldWorkersAvailable()) return null;
    const size = Math.max(1, opts.size ?? availableParallelism());
    return new FoldPool(ds, size, opts.source ?? { url: BUILT_WORKER });
  }

  /**
   * Fits and predicts one fold on the next free worker; null when the pool is down. A fit that
   * throws rejects with its error (code and message, as they cross threads).
   */
  run(job: FoldJob): Promise<FoldOutcome | null> {
    if (this.down) return Promise.resolve(null);
    return new Promise<FoldOutcome | null>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops the workers (jobs still queued or running resolve to null). */
  async close(): Promise<void> {
    this.takeDown();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const w = this.queue.shift()!;
      slot.busy = true;
      this.running.set(w.job.id, w);
      slot.worker.postMessage({ kind: 'job', ...w.job } satisfies FoldMessage);
    }
  }

  private answered(slot: Slot, r: FoldReply): void {
    slot.busy = false;
    const w = this.running.get(r.id);
    this.running.delete(r.id);
    if (w) {
      if ('error' in r) w.reject(r.error.code ? new CollabperfError(r.error.code, r.error.message) : new Error(r.error.message));
      else w.resolve(r);
    }
    this.dispatch();
  }

  private takeDown(): void {
    if (this.down) return;
    this.down = true;
    const all = [...this.running.values(), ...this.queue];
    this.running.clear();
    this.queue.length = 0;
    for (const w of all) w.resolve(null);
  }
}
