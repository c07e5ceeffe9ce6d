/**
 * `fitMany` of the TypeScript backend: whole fits in-process, one after the other, with the loop
 * rules of src/backends/fit-loop.ts. The kernels run as generators sharing one time slice, so a
 * batch returns to the event loop about every 25 ms whatever the size of its iterations, and a
 * tiny iteration costs no promise and no event-loop turn.
 */
import { performance } from 'node:perf_hooks';
import { FitLoop, ProgressThrottle } from '../fit-loop.js';
import { CollabperfError } from '../../errors.js';
import type { BatchProgress, FactorArray, FitJob, FitJobResult, LossSums } from '../types.js';
import { alsSweepSteps } from './als.js';
import { ialsSweepSteps, implicitLossSteps } from './ials.js';
import { trainLossSteps } from './loss.js';
import { sgdEpochSteps } from './sgd.js';
import { Slice, turn, type Steps } from './slice.js';

/** One job as a generator that yields when the shared slice is due. */
function* fitSteps(job: FitJob<FactorArray>, j: number, slice: Slice, progress: ProgressThrottle): Steps<FitJobResult> {
  const { problem, model, options } = job;
  const loop = new FitLoop(job);
  for (let it = 0; it < job.iters; it++) {
    if (loop.cancelled()) {
      loop.abort();
      break;
    }
    const t = performance.now();
    const status =
      job.algo === 'als'
        ? yield* alsSweepSteps(problem, model, options, slice)
        : job.algo === 'ials'
          ? yield* ialsSweepSteps(problem, model, options, slice)
          : yield* sgdEpochSteps(problem, model, options, it, slice);
    const seconds = (performance.now() - t) / 1000;
    if (status === 'aborted' || loop.cancelled()) {
      loop.abort();
      break;
    }
    const loss = loop.tracksLoss ? yield* lossSteps(job, slice) : null;
    const go = loop.afterIteration(it, loss, seconds);
    progress.iteration(j, it + 1);
    if (!go) break;
    // Between iterations too: a fit of many tiny iterations never reaches a kernel's own check.
    if (slice.due()) yield;
  }
  const r = loop.finish();
  return loop.needsFinalLoss(r) ? loop.finalLoss(r, yield* lossSteps(job, slice)) : r;
}

/** The job's training loss (the implicit objective for ials). */
function lossSteps(job: FitJob<FactorArray>, slice: Slice): Steps<LossSums> {
  return job.algo === 'ials' ? implicitLossSteps(job.problem, job.model, job.options, slice) : trainLossSteps(job.problem, job.model, slice);
}

/**
 * Runs the jobs in order; see `KernelBackend.fitMany`. `options.threads` is ignored (one thread),
 * and a job that throws (E_NUMERIC from an ALS pivot) rejects the whole call.
 */
export async function fitMany(jobs: FitJob<FactorArray>[], onProgress?: (p: BatchProgress) => void): Promise<FitJobResult[]> {
  const progress = new ProgressThrottle(jobs.length, onProgress);
  const slice = new Slice();
  const results: FitJobResult[] = [];
  for (let j = 0; j < jobs.length; j++) {
    const steps = fitSteps(jobs[j], j, slice, progress);
    for (;;) {
      const r = steps.next();
      if (r.done) {
        results.push(r.value);
        break;
      }
      await turn();
      slice.reset();
    }
    progress.jobDone();
  }
  return results;
}
