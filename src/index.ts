/**
 * collabperf: collaborative performance prediction for LLM benchmarks, on a fast matrix
 * factorization core (native OpenBLAS addon with a TypeScript fallback giving the same results).
 *
 * @packageDocumentation
 */
export { CollabperfError, isCollabperfError, type CollabperfErrorCode, type ErrorLocation } from './errors.js';
export { backendInfo, getBackend, type BackendChoice, type BackendReport } from './backends/registry.js';
export type { BackendDetails, BackendName, ConfidenceKind, ImplicitOptions, ImplicitSolver, KernelBackend, KernelModel, KernelOptions, KernelProblem, LossSums, SgdMode } from './backends/types.js';
export { Rng } from './numeric/rng.js';
export { fit, runFit, initFactors, type FitBackendReport, type FitResult } from './factorization/fit.js';
export { resolveFitOptions, MAX_RANK, type Algorithm, type FitOptions, type IterationReport, type ResolvedFitOptions } from './factorization/options.js';
export {
  FactorModel,
  type FoldedColumn,
  type FoldedRow,
  type FoldInOptions,
  type KnownColumns,
  type ModelExtras,
  type RecommendOptions,
  type ScoredColumn,
  type ScoredRow,
  type TrainingInfo,
} from './factorization/model.js';
export type { Id, IdList, StringRatings } from './factorization/ids.js';
export {
  evaluateRanking,
  popularityRanking,
  rankingMetrics,
  type HeldOut,
  type RankingMetrics,
  type RankingOptions,
  type RankingReport,
} from './factorization/ranking.js';
export { saveModel, loadModel, MODEL_FILE_FORMAT, MODEL_FILE_VERSION } from './factorization/model-file.js';
export { buildProblem, toEntries, type DenseRatings, type Entries, type RatingsInput, type SparseRatings } from './factorization/ratings.js';
export { readTriplets, writeTriplets, type TripletFile } from './factorization/triplets.js';
export {
  syntheticRatings,
  syntheticImplicit,
  SYNTHETIC_SIZES,
  SYNTHETIC_IMPLICIT_SIZES,
  type SyntheticImplicit,
  type SyntheticImplicitSpec,
  type SyntheticRatings,
  type SyntheticSpec,
} from './factorization/synthetic.js';

// The performance-prediction application.
export * from './app/data/index.js';
export * from './app/eval/index.js';
export { fitTransform, TRANSFORM_KINDS, type FittedTransform, type TransformKind } from './app/transforms/index.js';
export { PREDICTORS, DEFAULT_METHOD, getPredictor, parseMethods, type FittedPredictor, type PredictContext, type Predictor } from './app/predictors/index.js';
export { completeMatrix, predictNewModel, parseNewScores, parseNewFactors, resolveTask, type Completion, type NewModelPrediction, type PredictedCell } from './app/predict.js';
export * from './app/advise/index.js';
export * from './app/trust/index.js';
export * from './app/report/index.js';
