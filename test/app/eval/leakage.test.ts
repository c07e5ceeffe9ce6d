import { describe, expect, it } from 'vitest';
import { observedCounts } from '../../../src/app/data/dataset.js';
import { evaluate } from '../../../src/app/eval/evaluate.js';
import { cellKeys, spyPredictor, taskMeanPredictor, toyDataset, type SpyFit } from './helpers.js';

// The leakage check: whatever the protocol, no held-out cell ever reaches `fit`.
describe('no held-out cell reaches fit', () => {
  const ds = toyDataset();
  const all = new Set(cellKeys(ds, new Uint8Array(ds.scores.value.length).fill(1)));
  const protocols = ['cells:0.05', 'cells:0.3', 'model-kfold:4', 'new-model:0', 'new-model:2', 'new-task:0', 'new-task:2', 'family-out'];

  for (const protocol of protocols) {
    it(protocol, async () => {
      const log: SpyFit[] = [];
      // The spy goes second so that it receives its own copy of the training view, like any method after the first.
      const r = await evaluate(ds, [taskMeanPredictor(), spyPredictor(log)], { protocol, seeds: [0, 1] });
      const folds = r.splits.flatMap((s) => s.folds);
      expect(log).toHaveLength(folds.length);
      folds.forEach((fold, i) => {
        const test = cellKeys(ds, fold.testMask);
        expect(test.length).toBeGreaterThan(0);
        const seen = log[i].cells;
        for (const c of test) expect(seen.has(c), `held-out cell ${c} was given to fit (${fold.description})`).toBe(false);
        // Everything else is training data, and the spy is asked exactly for the held-out cells.
        expect(seen.size + test.length).toBe(all.size);
        expect(log[i].asked).toEqual(test);
      });
    });
  }

  for (const what of ['model', 'task'] as const) {
    for (const k of [0, 1, 3]) {
      it(`new-${what}:${k} reveals exactly ${k} scores of each held-out ${what} that has more than ${k}`, async () => {
        const log: SpyFit[] = [];
        const r = await evaluate(ds, [spyPredictor(log)], { protocol: `new-${what}:${k}`, seeds: [2, 3] });
        const counts = observedCounts(ds)[what === 'model' ? 'perModel' : 'perTask'];
        const key = what === 'model' ? ds.scores.model : ds.scores.task;
        let f = 0;
        for (const { folds } of r.splits) {
          const heldOnce = new Map<number, number>();
          for (const fold of folds) {
            const held = new Set<number>();
            for (let e = 0; e < fold.testMask.length; e++) if (fold.testMask[e]) held.add(key[e]);
            const per = what === 'model' ? log[f].perModel : log[f].perTask;
            for (const i of held) {
              expect(counts[i]).toBeGreaterThan(k);
              expect(per.get(i) ?? 0).toBe(k);
              heldOnce.set(i, (heldOnce.get(i) ?? 0) + 1);
            }
            // Entities not held out in this fold keep all their scores.
            for (let i = 0; i < counts.length; i++) if (!held.has(i)) expect(per.get(i) ?? 0).toBe(counts[i]);
            f++;
          }
          // Every entity with more than k scores is held out in exactly one fold of the seed.
          for (let i = 0; i < counts.length; i++) expect(heldOnce.get(i) ?? 0).toBe(counts[i] > k ? 1 : 0);
        }
      });
    }
  }
});
