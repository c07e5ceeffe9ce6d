/**
 * `collabperf/predict`: benchmark-score prediction: load a table ({@link loadData}), pick a method
 * ({@link getPredictor}), fill its missing cells ({@link completeMatrix}) or predict a model that is
 * not in it ({@link predictNewModel}); task scales as `--scale` gives them ({@link parseScaleOption}).
 *
 * @packageDocumentation
 */
export { CollabperfError, isCollabperfError, type CollabperfErrorCode } from '../errors.js';
export { loadData, loadDataSync, parseData, type DataFormat, type LoadDataOptions, type LoadedData } from '../app/data/load.js';
export { listBuiltinDatasets, loadBuiltinDataset, DEFAULT_DATASET } from '../app/data/builtin.js';
export type { Dataset } from '../app/data/dataset.js';
export { PREDICTORS, DEFAULT_METHOD, getPredictor, parseMethods, type FittedPredictor, type PredictContext, type Predictor } from '../app/predictors/index.js';
export { completeMatrix, predictNewModel, parseNewScores, parseNewFactors, resolveTask, type Completion, type NewModelPrediction, type PredictedCell } from '../app/predict.js';
export { parseScaleOption, resolveScales, withDeclaredScales, type ResolvedScale, type Scale, type ScaleKind, type ScaleWarning } from '../app/data/scale.js';
