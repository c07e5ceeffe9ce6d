/**
 * `collabperf/factorization`: the matrix-factorization core alone: fitting (ALS/SGD), the fitted
 * {@link FactorModel}, model files, rating inputs and the kernel backends (native addon or
 * TypeScript), without the benchmark-prediction application.
 *
 * @packageDocumentation
 */
export { CollabperfError, isCollabperfError, type CollabperfErrorCode, type ErrorLocation } from '../errors.js';
export {
  backendInfo,
  chooseBackend,
  getBackend,
  registerBackend,
  unregisterBackend,
  type BackendChoice,
  type BackendChoiceReport,
  type BackendImplementation,
  type BackendReport,
  type ProblemSize,
} from '../backends/registry.js';
export type { AnyKernelModel, BackendDetails, BackendName, FactorArray, ConfidenceKind, ImplicitOptions, ImplicitSolver, KernelBackend, KernelModel, KernelOptions, KernelProblem, LossSums, SgdMode } from '../backends/types.js';
export { fit, runFit, initFactors, type FitBackendReport, type FitResult } from '../factorization/fit.js';
export { resolveFitOptions, MAX_RANK, type Algorithm, type Dtype, type FitOptions, type IterationReport, type ResolvedFitOptions } from '../factorization/options.js';
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
} from '../factorization/model.js';
export type { Id, IdList, StringRatings } from '../factorization/ids.js';
export {
  evaluateRanking,
  popularityRanking,
  rankingMetrics,
  type HeldOut,
  type RankingMetrics,
  type RankingOptions,
  type RankingReport,
} from '../factorization/ranking.js';
export { saveModel, loadModel, MODEL_FILE_FORMAT, MODEL_FILE_VERSION } from '../factorization/model-file.js';
export { buildProblem, toEntries, type DenseRatings, type Entries, type RatingsInput, type SparseRatings } from '../factorization/ratings.js';
export { readTriplets, writeTriplets, type TripletFile } from '../factorization/triplets.js';
export {
  syntheticRatings,
  syntheticImplicit,
  SYNTHETIC_SIZES,
  SYNTHETIC_IMPLICIT_SIZES,
  type SyntheticImplicit,
  type SyntheticImplicitSpec,
  type SyntheticRatings,
  type SyntheticSpec,
} from '../factorization/synthetic.js';
