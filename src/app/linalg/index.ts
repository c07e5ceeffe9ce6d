/** Small dense linear algebra used by the baseline predictors (see {@link symmetricEigen}). */
export * from './dense.js';
