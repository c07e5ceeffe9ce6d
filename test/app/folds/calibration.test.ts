import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { calibrationFolds, MAX_REVEAL } from '../../../src/app/folds/calibration.js';

const ds = loadBuiltinDataset('crowdsource');
const n = ds.scores.value.length;

describe('calibrationFolds', () => {
  it('deals every cell into exactly one cell fold, and holds out only cells the fold does not keep', () => {
    const folds = calibrationFolds(ds, 3, { folds: 5, sparseModels: true });
    expect(folds.filter((f) => f.kind === 'cells')).toHaveLength(5);
    expect(folds.filter((f) => f.kind === 'sparse')).toHaveLength(5);
    const seen = new Int32Array(n);
    for (const f of folds) {
      for (const e of f.held) expect(f.keep[e]).toBe(0);
      if (f.kind === 'cells') for (const e of f.held) seen[e]++;
    }
    expect(Array.from(seen).every((c) => c === 1)).toBe(true);
  });

  it('leaves each model of a sparse fold at most MAX_REVEAL scores, and is the same for the same seed', () => {
    const folds = calibrationFolds(ds, 3, { folds: 5, sparseModels: true });
    for (const f of folds.filter((x) => x.kind === 'sparse')) {
      const heldModels = new Set(f.held.map((e) => ds.scores.model[e]));
      const kept = new Map<number, number>();
      for (let e = 0; e < n; e++) if (f.keep[e] && heldModels.has(ds.scores.model[e])) kept.set(ds.scores.model[e], (kept.get(ds.scores.model[e]) ?? 0) + 1);
      for (const c of kept.values()) expect(c).toBeLessThanOrEqual(MAX_REVEAL);
    }
    const again = calibrationFolds(ds, 3, { folds: 5, sparseModels: true });
    expect(again.map((f) => f.held)).toEqual(folds.map((f) => f.held));
    expect(calibrationFolds(ds, 4, { folds: 5, sparseModels: true }).map((f) => f.held)).not.toEqual(folds.map((f) => f.held));
  });

  it('on a big table predicts the held-out cells of at most maxHeldModels models, the same ones in every cell fold', () => {
    const all = calibrationFolds(ds, 3, { folds: 5, sparseModels: true });
    const capped = calibrationFolds(ds, 3, { folds: 5, sparseModels: true, maxHeldModels: 10 });
    const cellModels = new Set<number>();
    capped.forEach((f, i) => {
      // The training view is the same: only which held-out cells get predicted changes.
      expect(Array.from(f.keep)).toEqual(Array.from(all[i].keep));
      const models = new Set(f.held.map((e) => ds.scores.model[e]));
      expect(models.size).toBeLessThanOrEqual(10);
      expect(f.held.every((e) => all[i].held.includes(e))).toBe(true);
      if (f.kind === 'cells') models.forEach((m) => cellModels.add(m));
    });
    expect(cellModels.size).toBe(10);
    // Every cell of those models is predicted in exactly one cell fold.
    const predicted = capped.filter((f) => f.kind === 'cells').reduce((s, f) => s + f.held.length, 0);
    expect(predicted).toBe(Array.from(ds.scores.model).filter((m) => cellModels.has(m)).length);
  });
});
