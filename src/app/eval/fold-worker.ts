/** The worker thread of fold-pool.ts: holds the dataset and fits the fold jobs it is sent, one at a time. */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { isCollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import { getPredictor } from '../predictors/index.js';
import type { FoldJob, FoldMessage, FoldReply } from './fold-pool.js';
import { trainView } from './split.js';

/** Fits `job.method` on the fold's training view of `ds` with the fold's seed and predicts its cells. */
export async function answerFoldJob(ds: Dataset, job: FoldJob): Promise<FoldReply> {
  try {
    const t0 = performance.now();
    const fitted = await getPredictor(job.method).fit(trainView(ds, job.trainMask), { seed: job.seed });
    const prediction = Float64Array.from(fitted.predict(job.model, job.task));
    return { id: job.id, prediction, chosen: { ...fitted.chosen }, ms: performance.now() - t0 };
  } catch (e) {
    return { id: job.id, error: isCollabperfError(e) ? { code: e.code, message: e.message } : { message: e instanceof Error ? e.message : String(e) } };
  }
}

let dataset: Dataset | null = null;
parentPort?.on('message', (m: FoldMessage) => {
  if (m.kind === 'dataset') {
    dataset = m.ds;
    return;
  }
  void answerFoldJob(dataset!, m).then((r) => parentPort!.postMessage(r, 'prediction' in r ? [r.prediction.buffer as ArrayBuffer] : []));
});
