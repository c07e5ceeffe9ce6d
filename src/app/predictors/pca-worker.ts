/** The worker thread of {@link fitPcaOffThread}: fits PCA on the cells it is sent, one at a time. */
import { parentPort } from 'node:worker_threads';
import { isCollabperfError } from '../../errors.js';
import { fitPcaModel, type PcaFit } from './pca.js';
import type { PcaJob, PcaReply } from './pca-pool.js';

/** Answers one job: the fit, or the error it threw (code and message, as they cross threads). */
export function answerPcaJob(job: PcaJob): PcaReply {
  try {
    const fit: PcaFit = fitPcaModel({ nModels: job.nModels, nTasks: job.nTasks, model: job.model, task: job.task, value: job.value }, job.seed, undefined, job.rank);
    return { id: job.id, fit };
  } catch (e) {
    return { id: job.id, error: isCollabperfError(e) ? { code: e.code, message: e.message } : { message: e instanceof Error ? e.message : String(e) } };
  }
}

// Copied back rather than transferred: the arrays are small, and some may share a buffer.
parentPort?.on('message', (job: PcaJob) => parentPort!.postMessage(answerPcaJob(job)));
