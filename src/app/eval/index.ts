/**
 * The evaluation layer: protocols and split files, train views without held-out cells, metrics,
 * cross-validated evaluation of predictors, and Shapley factor importance.
 */
export * from './split.js';
export * from './protocols.js';
export * from './metrics.js';
export * from './evaluate.js';
export * from './importance.js';
