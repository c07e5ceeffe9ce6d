import { describe, expect, it } from 'vitest';
import { ensemblePredictor } from '../../../src/app/predictors/ensemble.js';
import type { Predictor } from '../../../src/app/predictors/types.js';
import { allCells, plantedMatrix } from './baseline-fixtures.js';

/** A member that predicts a constant, to check the averaging by hand. */
const constant = (name: string, c: number, usesFactors = false): Predictor => ({
  name,
  description: name,
  usesFactors,
  fit: async () => ({ chosen: { c }, predict: (m) => new Float64Array(m.length).fill(c) }),
});

describe('ensemble', () => {
  it('averages its members and reports their choices', async () => {
    const e = ensemblePredictor('avg', [constant('a', 1), constant('b', 4, true)]);
    expect(e.usesFactors).toBe(true);
    const planted = plantedMatrix(6, 4, 1, 0.2);
    const f = await e.fit(planted.train, { seed: 0 });
    const cells = allCells(planted.train);
    expect(Array.from(f.predict(cells.model, cells.task)).every((x) => x === 2.5)).toBe(true);
    expect(f.chosen).toEqual({ 'a.c': 1, 'b.c': 4 });
  });
});
