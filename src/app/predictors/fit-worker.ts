/** The worker thread of fit-pool.ts: fits the jobs it is sent (PCA, logit-ALS), one at a time. */
import { parentPort } from 'node:worker_threads';
import { isCollabperfError } from '../../errors.js';
import type { Cells } from '../data/observed-cells.js';
import type { FitJob, FitReply } from './fit-pool.js';
import { fitLogitAlsModel } from './logit-als.js';
import { fitPcaModel } from './pca.js';

/** Runs a job on this thread; throws as the fit does. */
function runFitJob(job: FitJob): FitReply {
  const c: Cells = { nModels: job.nModels, nTasks: job.nTasks, model: job.model, task: job.task, value: job.value };
  return job.kind === 'pca' ? { id: job.id, pca: fitPcaModel(c, job.seed, undefined, job.rank) } : { id: job.id, logitAls: fitLogitAlsModel(c, job) };
}

/** Answers one job: the fit, or the error it threw (code and message, as they cross threads). */
export function answerFitJob(job: FitJob): FitReply {
  try {
    return runFitJob(job);
  } catch (e) {
    return { id: job.id, error: isCollabperfError(e) ? { code: e.code, message: e.message } : { message: e instanceof Error ? e.message : String(e) } };
  }
}

// Copied back rather than transferred: the arrays are small, and some may share a buffer.
parentPort?.on('message', (job: FitJob) => parentPort!.postMessage(answerFitJob(job)));
