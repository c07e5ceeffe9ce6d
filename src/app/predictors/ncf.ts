/**
 * Neural collaborative filtering predictors (the CPP paper's NCF and NCF with factors), on one small
 * hand-written network: Float64Array weights, explicit forward/backward, AdamW on mini-batches,
 * every random choice from {@link Rng} seeded by `ctx.seed`, so a fit is bit-for-bit reproducible.
 * The network and its layers are in `ncf/nn.ts`, the training loop (batches, AdamW, early stopping)
 * in `ncf/train.ts`; this file holds the options, the ensemble and the predictors.
 *
 * The network, for one (model, task) cell:
 *
 * ```
 *   GMF branch:  g = gm ⊙ gt                       (d dims)
 *   MLP branch:  h = MLP([hm, ht, fm, ft])          (ReLU hidden layers)
 *   output:      y = w · [g, h] + b                 (min-max-per-task normalised score)
 * ```
 *
 * - `ncf`: gm, gt are model/task ID embeddings (d dims); hm, ht are separate ID embeddings for the
 *   MLP (2d dims); no factors. As in the paper (and NeuMF).
 * - `ncf-factors`: the same, plus factor embeddings fm, ft (2d dims each) concatenated into the MLP
 *   input: numeric factors (see {@link encodeFactors}) through a linear layer, each categorical
 *   factor through its own embedding table, summed.
 * - `factors-only`: no ID embeddings; the GMF branch multiplies a second pair of factor embeddings
 *   (d dims), the MLP sees fm, ft only. It can predict a model or task without training cells.
 *
 * Training: MSE on scores min-max normalised per task with the training cells' min and range from
 * {@link taskStatsOf} (the predictions are mapped back; a constant task or one without training
 * cells gets that module's fallback policy). AdamW on mini-batches of 64, with a strong
 * decoupled weight decay on the ID embedding rows of each batch (they are the parameters that
 * overfit) and a light one on the dense weights. Each network stops early on its own seeded inner
 * validation split (10% of the training cells) and keeps its best weights; the default ensemble
 * averages 3 such networks (1 above {@link ENSEMBLE_CELLS} training cells), so together they see
 * every training cell. ID embedding rows never trained (a model with no training cells) are set to
 * the mean of the trained rows.
 *
 * Defaults were chosen on the crowdsource matrix (5% random held-out cells, 20 splits); there the
 * ensemble of 3 cut the normalised MSE of `ncf-factors` from ~2.0e-2 (one network) to ~1.5e-2.
 */
import { CollabperfError } from '../../errors.js';
import { Rng } from '../../numeric/rng.js';
import type { Dataset } from '../data/dataset.js';
import { encodeFactors, splitFactorNames } from '../features/encode.js';
import { sideInputs, type Net, type NetSpec, type SideInputs } from './ncf/nn.js';
import { train, type TrainCells, type TrainResult } from './ncf/train.js';
import { fallbackSummary, taskStatsOf } from '../stats/task-stats.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** Options of the NCF predictors (all optional). */
export interface NcfOptions {
  /** GMF embedding size d; the MLP embeddings (IDs and factors) have 2d. Default 8. */
  embeddingDim?: number;
  /** MLP embedding size (IDs and factors). Default 2 × embeddingDim. */
  mlpEmbeddingDim?: number;
  /**
   * How factor embeddings enter the MLP next to the ID embeddings: `concat` (own inputs) or `sum`
   * (added to the model/task ID embeddings, as in the CPP authors' code). Default `concat`.
   */
  factorJoin?: 'concat' | 'sum';
  /** Hidden layer widths of the MLP branch (ReLU). Default [32, 16]. */
  hidden?: number[];
  /** AdamW learning rate. Default 0.01. */
  learningRate?: number;
  /** AdamW decoupled weight decay of the dense weights (layers, factor encoders; not biases). Default 0.05. */
  weightDecay?: number;
  /** AdamW decoupled weight decay of the ID embeddings, applied to the rows of each mini-batch. Default 6. */
  embeddingDecay?: number;
  /** Mini-batch size. Default 64. */
  batchSize?: number;
  /** Most epochs. Default 300. */
  maxEpochs?: number;
  /** Stop when the validation loss has not improved for this many epochs. Default 10. */
  patience?: number;
  /** Fraction of training cells in the inner validation split. Default 0.1. */
  validationFraction?: number;
  /**
   * Epoch cap from the data size: at most `cellBudget / training cells` epochs (at least 5), so
   * large matrices stay fast (openllm-v1: 12 epochs). Default 500,000.
   */
  cellBudget?: number;
  /**
   * Refit on all training cells for the best epoch count after early stopping. Default false: each
   * ensemble member keeps its early-stopped weights, and the members' different inner splits
   * together cover every training cell.
   */
  refit?: boolean;
  /**
   * Evaluate and keep an exponential moving average of the weights, updated once per epoch with this
   * factor (0 = off). Default 0.
   */
  averaging?: number;
  /** Model and task bias terms in the output (ID variants). Default false. */
  biases?: boolean;
  /**
   * Networks of different seeds (each with its own inner split) whose predictions are averaged.
   * Default: 3 up to {@link ENSEMBLE_CELLS} training cells, 1 above (less variance to average out,
   * more time per network).
   */
  ensemble?: number;
  /**
   * Factors to use (factor predictors only): qualified (`"model:params"`, `"task:ability"`) or bare
   * names (a bare name selects the factor on each side that has it). Default: all factors.
   */
  factors?: string[];
}

type Variant = 'ncf' | 'ncf-factors' | 'factors-only';

interface Resolved {
  factorJoin: 'concat' | 'sum';
  embeddingDim: number;
  mlpEmbeddingDim?: number;
  hidden: number[];
  learningRate: number;
  weightDecay: number;
  embeddingDecay: number;
  batchSize: number;
  maxEpochs: number;
  patience: number;
  validationFraction: number;
  refit: boolean;
  averaging: number;
  biases: boolean;
  ensemble?: number;
  cellBudget: number;
  factors?: string[];
}

/** Training cells up to which the default ensemble has 3 networks (1 above). */
export const ENSEMBLE_CELLS = 10_000;

/** Default hyperparameters. */
export const NCF_DEFAULTS: Readonly<Omit<Resolved, 'factors'>> = Object.freeze({
  factorJoin: 'concat',
  embeddingDim: 8,
  hidden: [32, 16],
  learningRate: 0.01,
  weightDecay: 0.05,
  embeddingDecay: 6,
  batchSize: 64,
  maxEpochs: 300,
  patience: 10,
  validationFraction: 0.1,
  refit: false,
  averaging: 0,
  biases: false,
  cellBudget: 500_000,
});

function resolve(opts: NcfOptions): Resolved {
  const r: Resolved = { ...NCF_DEFAULTS, hidden: [...NCF_DEFAULTS.hidden], ...opts };
  if (opts.hidden) r.hidden = [...opts.hidden];
  const bad = (field: string, v: unknown, what: string) =>
    new CollabperfError('E_INVALID_ARGUMENT', `${field} must be ${what}, got ${JSON.stringify(v)}`, { field });
  const posInt = (field: keyof Resolved) => {
    const v = r[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(field, v, 'a positive integer');
  };
  posInt('embeddingDim');
  posInt('batchSize');
  if (r.factorJoin !== 'concat' && r.factorJoin !== 'sum') throw bad('factorJoin', r.factorJoin, '"concat" or "sum"');
  if (r.mlpEmbeddingDim !== undefined) posInt('mlpEmbeddingDim');
  posInt('maxEpochs');
  posInt('patience');
  if (r.ensemble !== undefined) posInt('ensemble');
  posInt('cellBudget');
  if (!Array.isArray(r.hidden) || r.hidden.some((h) => !Number.isInteger(h) || h < 1)) throw bad('hidden', r.hidden, 'a list of positive integers');
  if (!(r.learningRate > 0 && Number.isFinite(r.learningRate))) throw bad('learningRate', r.learningRate, 'a positive number');
  if (!(r.weightDecay >= 0 && Number.isFinite(r.weightDecay))) throw bad('weightDecay', r.weightDecay, 'a non-negative number');
  if (!(r.embeddingDecay >= 0 && Number.isFinite(r.embeddingDecay))) throw bad('embeddingDecay', r.embeddingDecay, 'a non-negative number');
  if (!(r.averaging >= 0 && r.averaging < 1)) throw bad('averaging', r.averaging, 'in [0, 1)');
  if (!(r.validationFraction >= 0 && r.validationFraction < 1)) throw bad('validationFraction', r.validationFraction, 'in [0, 1)');
  return r;
}

function memberSeed(seed: number, k: number): number {
  return k === 0 ? seed >>> 0 : (seed + Math.imul(k, 0x9e3779b1)) >>> 0;
}

async function fitNcf(variant: Variant, o: Resolved, ds: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
  const nnz = ds.scores.value.length;
  if (nnz === 0) throw new CollabperfError('E_EMPTY', `${variant}: the training set has no observed cells`);
  const nM = ds.models.length;
  const nT = ds.tasks.length;

  // factors
  let modelSide: SideInputs | null = null;
  let taskSide: SideInputs | null = null;
  const chosen: Record<string, number | string | boolean> = {};
  if (variant !== 'ncf') {
    const sel = o.factors ? splitFactorNames(ds, o.factors) : null;
    const me = encodeFactors(ds, 'model', sel ? { include: sel.model } : {});
    const te = encodeFactors(ds, 'task', sel ? { include: sel.task } : {});
    modelSide = sideInputs(me);
    taskSide = sideInputs(te);
    chosen.modelFactors = me.factors.join(',');
    chosen.taskFactors = te.factors.join(',');
  }
  const spec: NetSpec = {
    nModels: nM,
    nTasks: nT,
    useIds: variant !== 'factors-only',
    modelSide,
    taskSide,
    factorGmf: variant === 'factors-only',
    idBiases: o.biases,
    d: o.embeddingDim,
    dm: o.mlpEmbeddingDim ?? 2 * o.embeddingDim,
    sumFactors: o.factorJoin === 'sum',
    hidden: o.hidden,
  };

  const stats = taskStatsOf(ds);
  const { min, range } = stats;
  const cells: TrainCells = { model: ds.scores.model, task: ds.scores.task, y: new Float64Array(nnz) };
  for (let e = 0; e < nnz; e++) cells.y[e] = (ds.scores.value[e] - min[cells.task[e]]) / range[cells.task[e]];

  const clock = { last: Date.now() };
  const nets: Net[] = [];
  const epochsUsed: number[] = [];
  const valMses: number[] = [];
  const all = new Int32Array(nnz).map((_, i) => i);
  const ensemble = o.ensemble ?? (nnz <= ENSEMBLE_CELLS ? 3 : 1);
  const maxEpochs = Math.min(o.maxEpochs, Math.max(5, Math.floor(o.cellBudget / nnz)));
  for (let k = 0; k < ensemble; k++) {
    const seed = memberSeed(ctx.seed, k);
    const nVal = Math.floor(nnz * o.validationFraction);
    let final: TrainResult;
    let finalIds: Int32Array;
    if (nVal >= 1 && nnz - nVal >= 1) {
      const perm = Int32Array.from(all);
      new Rng(seed, 1).shuffle(perm);
      const valIds = perm.slice(0, nVal);
      const trainIds = perm.slice(nVal);
      const r = await train(spec, cells, trainIds, valIds, maxEpochs, o, seed, 2, ctx.signal, clock);
      valMses.push(r.valMse);
      epochsUsed.push(r.epochs);
      if (o.refit) {
        final = await train(spec, cells, all, null, r.epochs, o, seed, 3 + maxEpochs, ctx.signal, clock);
        finalIds = all;
      } else {
        final = r;
        finalIds = trainIds;
      }
    } else {
      // too few cells for an inner split: a fixed number of epochs on everything
      const epochs = Math.min(maxEpochs, 100);
      final = await train(spec, cells, all, null, epochs, o, seed, 2, ctx.signal, clock);
      finalIds = all;
      epochsUsed.push(epochs);
    }
    const seenM = new Uint8Array(nM);
    const seenT = new Uint8Array(nT);
    for (const c of finalIds) {
      seenM[cells.model[c]] = 1;
      seenT[cells.task[c]] = 1;
    }
    final.net.fillUnseen(seenM, seenT);
    nets.push(final.net);
  }

  Object.assign(chosen, {
    embeddingDim: o.embeddingDim,
    mlpEmbeddingDim: o.mlpEmbeddingDim ?? 2 * o.embeddingDim,
    hidden: o.hidden.join('-'),
    learningRate: o.learningRate,
    weightDecay: o.weightDecay,
    embeddingDecay: o.embeddingDecay,
    batchSize: o.batchSize,
    maxEpochs,
    patience: o.patience,
    validationFraction: o.validationFraction,
    refit: o.refit,
    ensemble,
    epochs: epochsUsed.join(','),
  });
  if (variant === 'ncf-factors') chosen.factorJoin = o.factorJoin;
  if (o.biases) chosen.biases = true;
  if (o.averaging > 0) chosen.averaging = o.averaging;
  const fallbacks = fallbackSummary(stats);
  if (fallbacks) chosen.taskStats = fallbacks;
  if (valMses.length) chosen.validationMse = valMses.reduce((a, b) => a + b, 0) / valMses.length;

  return {
    chosen,
    predict(models: Int32Array, tasks: Int32Array): Float64Array {
      const n = models.length;
      if (tasks.length !== n) throw new CollabperfError('E_LENGTH_MISMATCH', `predict: ${n} model indices but ${tasks.length} task indices`);
      for (let i = 0; i < n; i++) {
        if (!(models[i] >= 0 && models[i] < nM)) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `predict: model index ${models[i]} outside 0..${nM - 1}`);
        if (!(tasks[i] >= 0 && tasks[i] < nT)) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `predict: task index ${tasks[i]} outside 0..${nT - 1}`);
      }
      const out = new Float64Array(n);
      const B = 512;
      for (const net of nets) {
        for (let from = 0; from < n; from += B) {
          const to = Math.min(n, from + B);
          const yh = net.forward(models, tasks, null, from, to);
          for (let i = 0; i < to - from; i++) out[from + i] += yh[i];
        }
      }
      for (let i = 0; i < n; i++) out[i] = min[tasks[i]] + (out[i] / nets.length) * range[tasks[i]];
      return out;
    },
  };
}

function make(variant: Variant, description: string, opts: NcfOptions): Predictor {
  const o = resolve(opts);
  if (variant === 'ncf' && o.factors) {
    throw new CollabperfError('E_INVALID_ARGUMENT', 'ncf uses no factors; use ncf-factors or factors-only', { field: 'factors' });
  }
  return {
    name: variant,
    description,
    usesFactors: variant !== 'ncf',
    portable: true,
    fit: (train: Dataset, ctx: PredictContext) => fitNcf(variant, o, train, ctx),
  };
}

/** NCF (GMF + MLP on model and task ID embeddings), as in the CPP paper. */
export function createNcfPredictor(opts: Omit<NcfOptions, 'factors'> = {}): Predictor {
  return make('ncf', 'neural collaborative filtering: model/task ID embeddings, GMF + MLP branches (CPP paper)', opts);
}

/** NCF with model and task factor embeddings in the MLP branch (the CPP paper's best method). */
export function createNcfFactorsPredictor(opts: NcfOptions = {}): Predictor {
  return make('ncf-factors', 'NCF plus model/task factor embeddings in the MLP branch (CPP paper best method)', opts);
}

/** Factors only: GMF + MLP on factor embeddings, no IDs; predicts models/tasks without scores. */
export function createFactorsOnlyPredictor(opts: NcfOptions = {}): Predictor {
  return make('factors-only', 'network on model/task factors only, no ID embeddings (predicts unseen models)', opts);
}

/** `ncf` with default hyperparameters. */
export const ncfPredictor: Predictor = createNcfPredictor();
/** `ncf-factors` with default hyperparameters. */
export const ncfFactorsPredictor: Predictor = createNcfFactorsPredictor();
/** `factors-only` with default hyperparameters. */
export const factorsOnlyPredictor: Predictor = createFactorsOnlyPredictor();
