/** The worker thread of fit-pool.ts: fits the jobs it is sent (PCA, logit-ALS on the TypeScript backend). */
import { parentPort } from 'node:worker_threads';
import { getBackend } from '../../backends/registry.js';
import { isCollabperfError } from '../../errors.js';
import type { Cells } from '../data/observed-cells.js';
import type { FitJob, FitReply } from './fit-pool.js';
import { fitLogitAlsModel } from './logit-als.js';
import { fitPcaModel } from './pca.js';

/** Runs a job on this thread; rejects as the fit does. */
async function runFitJob(job: FitJob): Promise<FitReply> {
  const c: Cells = { nModels: job.nModels, nTasks: job.nTasks, model: job.model, task: job.task, value: job.value };
  return job.kind === 'pca' ? { id: job.id, pca: fitPcaModel(c, job.seed, undefined, job.rank) } : { id: job.id, logitAls: await fitLogitAlsModel(c, job, { backend: getBackend('ts') }) };
}

/** Answers one job: the fit, or the error it threw (code and message, as they cross threads). */
export async function answerFitJob(job: FitJob): Promise<FitReply> {
  try {
    return await runFitJob(job);
  } catch (e) {
    return { id: job.id, error: isCollabperfError(e) ? { code: e.code, message: e.message } : { message: e instanceof Error ? e.message : String(e) } };
  }
}

// Copied back rather than transferred: the arrays are small, and some may share a buffer.
parentPort?.on('message', (job: FitJob) => void answerFitJob(job).then((r) => parentPort!.postMessage(r)));
