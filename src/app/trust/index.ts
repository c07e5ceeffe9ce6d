/**
 * Trust in predictions: calibrated prediction intervals for any predictor and their evaluation
 * (coverage and width on held-out cells).
 */
export * from './intervals.js';
export * from './coverage.js';
