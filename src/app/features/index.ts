/** Feature engineering for predictors: numeric designs and category indices from model/task factors. */
export * from './encode.js';
