/**
 * `collabperf/factorization`: the matrix-factorization core alone: fitting (ALS/SGD), the fitted
 * {@link FactorModel}, model files, rating inputs and the kernel backends (native addon or
 * TypeScript), without the benchmark-prediction application.
 *
 * @packageDocumentation
 */
export { CollabperfError, isCollabperfError, type CollabperfErrorCode, type ErrorLocation } from '../errors.js';
export { backendInfo, getBackend, type BackendChoice, type BackendReport } from '../backends/registry.js';
export type { BackendDetails, BackendName, KernelBackend, KernelModel, KernelOptions, KernelProblem, LossSums, SgdMode } from '../backends/types.js';
export { fit, runFit, initFactors, type FitResult } from '../factorization/fit.js';
export { resolveFitOptions, MAX_RANK, type Algorithm, type FitOptions, type IterationReport, type ResolvedFitOptions } from '../factorization/options.js';
export { FactorModel, type FoldedRow, type TrainingInfo } from '../factorization/model.js';
export { saveModel, loadModel, MODEL_FILE_FORMAT, MODEL_FILE_VERSION } from '../factorization/model-file.js';
export { buildProblem, toEntries, type DenseRatings, type Entries, type RatingsInput, type SparseRatings } from '../factorization/ratings.js';
export { readTriplets, writeTriplets, type TripletFile } from '../factorization/triplets.js';
export { syntheticRatings, SYNTHETIC_SIZES, type SyntheticRatings, type SyntheticSpec } from '../factorization/synthetic.js';
