/** Invertible per-task score transforms fitted on training cells (see {@link fitTransform}). */
export * from './transform.js';
