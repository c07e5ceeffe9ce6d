/**
 * collabperf: collaborative performance prediction for LLM benchmarks, on a fast matrix
 * factorization core (native OpenBLAS addon with a TypeScript fallback giving the same results).
 *
 * @packageDocumentation
 */
// The matrix-factorization library (also alone as `collabperf/factorization`).
export * from './api/factorization.js';
export { Rng } from './numeric/rng.js';

// The performance-prediction application.
export * from './app/data/index.js';
export * from './app/eval/index.js';
export { fitTransform, TRANSFORM_KINDS, type FittedTransform, type TransformKind } from './app/transforms/index.js';
export { PREDICTORS, DEFAULT_METHOD, getPredictor, parseMethods, type FittedPredictor, type PredictContext, type Predictor } from './app/predictors/index.js';
export { completeMatrix, predictNewModel, parseNewScores, parseNewFactors, resolveTask, type Completion, type NewModelPrediction, type PredictedCell } from './app/predict.js';
export * from './app/advise/index.js';
export * from './app/trust/index.js';
export * from './app/report/index.js';
