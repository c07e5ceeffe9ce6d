/**
 * Train/test views of a dataset for evaluation. A protocol decides which observed cells are held
 * out as a mask over `ds.scores`; {@link trainView} then builds a Dataset in which the held-out cells
 * do not exist at all, so a predictor cannot see them even by accident (there is no "hidden" flag a
 * predictor could forget to honour).
 */
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';

/** A mask over the observed cells of a dataset (`ds.scores`): truthy = selected. */
export type CellMask = Uint8Array | ReadonlyArray<boolean>;

function checkMask(ds: Dataset, mask: CellMask, what: string): void {
  if (mask.length !== ds.scores.value.length) {
    throw new CollabperfError('E_LENGTH_MISMATCH', `${what} has ${mask.length} entries but dataset "${ds.name}" has ${ds.scores.value.length} observed cells`);
  }
}

function select(ds: Dataset, mask: CellMask, want: boolean): Int32Array {
  let n = 0;
  for (let e = 0; e < mask.length; e++) if (Boolean(mask[e]) === want) n++;
  const out = new Int32Array(n);
  let j = 0;
  for (let e = 0; e < mask.length; e++) if (Boolean(mask[e]) === want) out[j++] = e;
  return out;
}

/**
 * The dataset restricted to the cells where `keep` is set: same models, tasks (in the same order, so
 * indices stay valid), factors, factor schema and sources; the other cells are physically absent.
 * Models and tasks are copied so that a predictor mutating its input cannot affect later folds.
 */
export function trainView(ds: Dataset, keep: CellMask): Dataset {
  checkMask(ds, keep, 'the training mask');
  const idx = select(ds, keep, true);
  const n = idx.length;
  const s = ds.scores;
  const scores = { model: new Int32Array(n), task: new Int32Array(n), value: new Float64Array(n), source: new Int32Array(n) };
  for (let j = 0; j < n; j++) {
    const e = idx[j];
    scores.model[j] = s.model[e];
    scores.task[j] = s.task[e];
    scores.value[j] = s.value[e];
    scores.source[j] = s.source[e];
  }
  return {
    name: ds.name,
    description: ds.description,
    models: ds.models.map((m) => ({ name: m.name, factors: { ...m.factors } })),
    tasks: ds.tasks.map((t) => {
      const c = { ...t, factors: { ...t.factors } };
      if (t.scale !== undefined && typeof t.scale === 'object') c.scale = { ...t.scale };
      return c;
    }),
    factorSchema: { model: ds.factorSchema.model.map((f) => ({ ...f })), task: ds.factorSchema.task.map((f) => ({ ...f })) },
    sources: ds.sources.map((x) => ({ ...x })),
    scores,
    notes: [...ds.notes, `training view: ${n} of ${s.value.length} observed cells`],
  };
}

/**
 * The observed cells where `keep` is NOT set (the held-out cells of a fold), in `ds.scores` order,
 * with their positions there (`index`).
 */
export function heldOutCells(ds: Dataset, keep: CellMask): Required<Cells> {
  checkMask(ds, keep, 'the training mask');
  return cellsOf(ds, select(ds, keep, false));
}

/** Positions (in `ds.scores`) of the cells selected by `mask`. */
export function maskIndices(ds: Dataset, mask: CellMask): Int32Array {
  checkMask(ds, mask, 'the mask');
  return select(ds, mask, true);
}
