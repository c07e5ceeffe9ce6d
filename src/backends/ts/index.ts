/**
 * The pure TypeScript backend: the kernels of docs/kernels.md on typed arrays, single-threaded,
 * always available (the fallback when the native addon cannot be loaded).
 */
import type { AnyKernelModel, BackendDetails, BatchProgress, FactorArray, FitJob, FitJobResult, KernelBackend, KernelModel, KernelOptions, KernelProblem, KernelStatus } from '../types.js';
import { alsSweep } from './als.js';
import { fitMany } from './fit-many.js';
import { trainLoss } from './loss.js';
import { sgdEpoch } from './sgd.js';
import { nearestRows, neighbourWeights } from './neighbours.js';

export { alsSweep } from './als.js';
export { sgdEpoch } from './sgd.js';
export { trainLoss } from './loss.js';
export { fitMany } from './fit-many.js';
export { ialsSweep, implicitLoss, confidenceOf } from './ials.js';
export { nearestRows, neighbourWeights } from './neighbours.js';

let warnedParallel = false;

/**
 * The TS backend has no threads, so `sgdMode: 'parallel'` runs the deterministic mode (a valid,
 * bit-reproducible SGD, only not the block-scheduled one). Refusing would make an option that
 * changes speed, not meaning, fail on the fallback backend; a process warning (once) says it.
 */
function warnParallel(o: KernelOptions): void {
  if (o.sgdMode !== 'parallel' || warnedParallel) return;
  warnedParallel = true;
  process.emitWarning("the TypeScript backend does not support sgdMode 'parallel'; it runs the deterministic mode instead", {
    code: 'COLLABPERF_TS_NO_PARALLEL_SGD',
  });
}

/**
 * The TypeScript {@link KernelBackend}. It ignores `options.threads`; SGD's `'parallel'` mode is not
 * supported: it runs as the deterministic one (bit-identical to the native deterministic mode) and
 * the first such call emits a process warning with code `COLLABPERF_TS_NO_PARALLEL_SGD`.
 */
export const tsBackend: KernelBackend = {
  name: 'ts',
  alsSweep,
  sgdEpoch(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions, epoch: number): Promise<KernelStatus> {
    warnParallel(options);
    return sgdEpoch(problem, model, options, epoch);
  },
  trainLoss,
  fitMany(jobs: FitJob<FactorArray>[], onProgress?: (p: BatchProgress) => void): Promise<FitJobResult[]> {
    for (const j of jobs) if (j.algo === 'sgd') warnParallel(j.options);
    return fitMany(jobs, onProgress);
  },
  nearestRows,
  neighbourWeights,
  details(): BackendDetails {
    return { name: 'ts', blas: 'TypeScript loops (no BLAS)', blasThreads: 1, maxThreads: 1, parallelSgd: false, implicitAls: true, float32Als: true, float32Sgd: true };
  },
};
