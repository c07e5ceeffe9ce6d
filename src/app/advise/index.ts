/**
 * Advice on which benchmark to run next ({@link advise}), benchmark costs ({@link parseCosts}) and
 * the `probes:k` protocol that measures whether the advice beats random probes ({@link evaluateProbes}).
 */
export { advise, resolveTaskRef, DEFAULT_FITS_PER_STEP, MIN_REFERENCE_MODELS, type Advice, type AdviceStep, type AdviseOptions, type KnownScore } from './advisor.js';
export { parseCosts } from './costs.js';
export { evaluateProbes, parseProbesProtocol, type ProbesModelRecord, type ProbesOptions, type ProbesPoint, type ProbesProgress, type ProbesResult } from './probes.js';
