import { CollabperfError } from '../../errors.js';
import { cmfPredictor } from './cmf.js';
import { ensemblePredictor } from './ensemble.js';
import { knnPredictor } from './knn.js';
import { plainKnn5Predictor } from './knn-plain.js';
import { logitAls2Predictor, logitAlsPredictor123 } from './logit-als.js';
import { meanPredictor } from './mean.js';
import { mfAlsPredictor, mfSgdPredictor } from './mf.js';
import { factorsOnlyPredictor, ncfFactorsPredictor, ncfPredictor } from './ncf.js';
import { pcaPredictor } from './pca.js';
import { scalingLawPredictor } from './scaling-law.js';
import { defaultStackPredictor } from './stack.js';
import type { Predictor } from './types.js';

/** Every prediction method, in the order `--methods all` runs and reports them. */
export const PREDICTORS: readonly Predictor[] = [
  meanPredictor,
  knnPredictor,
  mfSgdPredictor,
  mfAlsPredictor,
  ncfPredictor,
  ncfFactorsPredictor,
  factorsOnlyPredictor,
  cmfPredictor,
  scalingLawPredictor,
  pcaPredictor,
  // Members chosen on the built-in datasets' held-out cells (docs/accuracy.md): three methods that
  // err differently, each strong alone, cheap enough for every dataset.
  ensemblePredictor('ensemble', [knnPredictor, pcaPredictor, mfSgdPredictor]),
  plainKnn5Predictor,
  logitAlsPredictor123,
  logitAls2Predictor,
  defaultStackPredictor,
];

/**
 * The method `predict` uses when none is named: the stack, whose weights each table chooses by
 * out-of-fold predictions of its own training cells (geometric mean of MAE / best simple reference
 * 0.961 against the fixed ensemble's 1.015 over the built-in datasets: docs/accuracy.md).
 */
export const DEFAULT_METHOD = 'stack';

/** Looks a method up by name; an unknown name is E_NOT_FOUND listing the known ones. */
export function getPredictor(name: string): Predictor {
  const p = PREDICTORS.find((x) => x.name === name);
  if (!p) throw new CollabperfError('E_NOT_FOUND', `unknown method "${name}" (known: ${PREDICTORS.map((x) => x.name).join(', ')})`, { field: 'method' });
  return p;
}

/** Parses `a,b,c` or `all` into predictors. */
export function parseMethods(list: string): Predictor[] {
  if (list.trim() === 'all') return [...PREDICTORS];
  return list.split(',').map((s) => getPredictor(s.trim()));
}

export type { FittedPredictor, PredictContext, Predictor } from './types.js';
