/**
 * The pure TypeScript backend: the kernels of docs/kernels.md on typed arrays, single-threaded,
 * always available (the fallback when the native addon cannot be loaded).
 */
import type { BackendDetails, KernelBackend } from '../types.js';
import { alsSweep } from './als.js';
import { trainLoss } from './loss.js';
import { sgdEpoch } from './sgd.js';

export { alsSweep } from './als.js';
export { sgdEpoch } from './sgd.js';
export { trainLoss } from './loss.js';

/**
 * The TypeScript {@link KernelBackend}. It ignores `options.threads` and runs SGD's `'parallel'`
 * mode as the deterministic one (bit-identical to the native deterministic mode).
 */
export const tsBackend: KernelBackend = {
  name: 'ts',
  alsSweep,
  sgdEpoch,
  trainLoss,
  details(): BackendDetails {
    return { name: 'ts', blas: 'TypeScript loops (no BLAS)', blasThreads: 1, maxThreads: 1, parallelSgd: false };
  },
};
