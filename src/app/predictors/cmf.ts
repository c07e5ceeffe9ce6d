import type { KernelProblem } from '../../backends/types.js';
import type { FactorModel } from '../../factorization/model.js';
import { buildProblem, toEntries } from '../../factorization/ratings.js';
import type { Dataset } from '../data/dataset.js';
import { encodeFactors, type EncodedFactors } from '../features/encode.js';
import { fitTransform } from '../transforms/index.js';
import { cellsOf, ratingsOf, type Cells } from '../data/observed-cells.js';
import { chooseOnInnerHoldout, fitProblems, foldInRow, sharedProblem, type ProblemJob } from './mf.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/**
 * Collective matrix factorization. The score matrix (models x tasks, per-task z-scores) is factorized
 * together with the model-factor matrix (models x encoded model factors) and the transposed
 * task-factor matrix, sharing the model and task latent vectors. All three live in one sparse
 * matrix fitted by the ALS core:
 *
 *                 tasks            model-factor columns
 *   models       [ scores          model factors (weight a) ]
 *   task-factor  [ task factors^T  (empty)                  ]
 *   rows          (weight a)
 *
 * A model with no score at all still has its factor cells, so ALS gives it a latent vector and
 * predictions: the cold-start case of the factor methods.
 */
interface CmfSettings {
  rank: number;
  lambda: number;
  /** Weight of a side-information cell relative to a score cell. */
  sideWeight: number;
}

const GRID: CmfSettings[] = [1, 2, 3, 5].flatMap((rank) => [1, 3, 10].flatMap((lambda) => [0.1, 0.5, 1].map((sideWeight) => ({ rank, lambda, sideWeight }))));

const CMF_STREAM = 0x636d66;

/** The present cells of an encoded design: value columns where the value exists, and one-hot columns. */
function sideCells(enc: EncodedFactors): { row: number[]; col: number[]; value: number[] } {
  const out = { row: [] as number[], col: [] as number[], value: [] as number[] };
  const d = enc.design;
  const skip = new Set<number>(enc.numericFactors.map((f) => f.missingColumn).filter((c) => c >= 0));
  for (let r = 0; r < enc.rows; r++) {
    for (const f of enc.numericFactors) {
      if (f.missingColumn >= 0 && d.values[r * d.width + f.missingColumn] === 1) continue;
      out.row.push(r);
      out.col.push(f.valueColumn);
      out.value.push(d.values[r * d.width + f.valueColumn]);
    }
    for (let c = enc.numeric.width; c < d.width; c++) {
      if (skip.has(c)) continue;
      out.row.push(r);
      out.col.push(c);
      out.value.push(d.values[r * d.width + c]);
    }
  }
  return out;
}

interface Side {
  modelSide: { row: number[]; col: number[]; value: number[] };
  taskSide: { row: number[]; col: number[]; value: number[] };
  modelWidth: number;
  taskWidth: number;
}

function encodeSide(ds: Dataset): Side {
  const m = ds.factorSchema.model.length ? encodeFactors(ds, 'model') : null;
  const t = ds.factorSchema.task.length ? encodeFactors(ds, 'task') : null;
  const none = { row: [], col: [], value: [] };
  return {
    modelSide: m ? sideCells(m) : none,
    taskSide: t ? sideCells(t) : none,
    modelWidth: m ? m.design.width : 0,
    taskWidth: t ? t.design.width : 0,
  };
}

/** The joint matrix of one set of score cells at one side weight, as the kernels read it. */
function jointProblem(scores: Cells, side: Side, sideWeight: number): KernelProblem {
  const nM = scores.nModels;
  const nT = scores.nTasks;
  const n = scores.value.length + side.modelSide.value.length + side.taskSide.value.length;
  // The joint matrix of the module comment, its rows and columns named as the table's models and
  // tasks are: the factor rows and columns extend them.
  const joint: Cells = { nModels: nM + side.taskWidth, nTasks: nT + side.modelWidth, model: new Int32Array(n), task: new Int32Array(n), value: new Float64Array(n) };
  const rows = joint.model;
  const cols = joint.task;
  const values = joint.value;
  const weights = new Float64Array(n);
  let e = 0;
  for (let i = 0; i < scores.value.length; i++, e++) {
    rows[e] = scores.model[i];
    cols[e] = scores.task[i];
    values[e] = scores.value[i];
    weights[e] = 1;
  }
  for (let i = 0; i < side.modelSide.value.length; i++, e++) {
    rows[e] = side.modelSide.row[i];
    cols[e] = nT + side.modelSide.col[i];
    values[e] = side.modelSide.value[i];
    weights[e] = sideWeight;
  }
  for (let i = 0; i < side.taskSide.value.length; i++, e++) {
    rows[e] = nM + side.taskSide.col[i];
    cols[e] = side.taskSide.row[i];
    values[e] = side.taskSide.value[i];
    weights[e] = sideWeight;
  }
  return buildProblem(toEntries(ratingsOf(joint, weights), 'cmf joint matrix', { rank: Math.max(...GRID.map((g) => g.rank)) }));
}

/** One candidate: the joint matrix at its side weight (built once per cells and weight, see sharedProblem). */
function cmfJob(scores: Cells, side: Side, s: CmfSettings): ProblemJob {
  const problem = sharedProblem(scores, s.sideWeight, () => jointProblem(scores, side, s.sideWeight));
  return { problem, options: { algo: 'als', iters: 30, rank: s.rank, lambda: s.lambda, weightedLambda: false, useBias: false } };
}

/** Collective matrix factorization with model and task factors sharing the latent space (ALS core). */
export const cmfPredictor: Predictor = {
  name: 'cmf',
  description: 'collective matrix factorization: scores and model/task factors share latent vectors (ALS core); predicts models with no scores',
  usesFactors: true,
  canFoldIn: true,
  async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
    const tf = fitTransform('zscore', train);
    const raw = cellsOf(train);
    const cells: Cells = { ...raw, value: tf.forwardCells(raw.task, raw.value) };
    const side = encodeSide(train);
    const best = await chooseOnInnerHoldout(cells, GRID, ctx, CMF_STREAM, (c, s) => cmfJob(c, side, s));
    const [model] = await fitProblems([cmfJob(cells, side, best)], ctx);
    return {
      chosen: { rank: best.rank, lambda: best.lambda, sideWeight: best.sideWeight, transform: 'zscore' },
      predict: (models, tasks) => tf.inverseCells(tasks, model.predictMany(models, tasks)),
      // Scores only: the new row's factor cells would need the side columns' encoding.
      foldIn: (scores) => foldInRow(model, tf, scores, train.tasks.length),
    };
  },
};
