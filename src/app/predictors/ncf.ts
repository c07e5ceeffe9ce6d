/**
 * Neural collaborative filtering predictors (the CPP paper's NCF and NCF with factors), on one small
 * hand-written network: Float64Array weights, explicit forward/backward, AdamW on mini-batches,
 * every random choice from {@link Rng} seeded by `ctx.seed`, so a fit is bit-for-bit reproducible.
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
import { encodeFactors, splitFactorNames, type EncodedFactors } from '../features/encode.js';
import { taskStatsOf } from '../stats/task-stats.js';
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

// ---------------------------------------------------------------------------------------------
// The network

/** Factor inputs of one side (models or tasks). */
interface SideInputs {
  rows: number;
  /** Width of the numeric part (standardised values and missing indicators). */
  p: number;
  /** rows × p, row-major. */
  x: Float64Array;
  /** Per categorical factor: number of levels and each row's level. */
  cats: Array<{ levels: number; index: Int32Array }>;
}

function sideInputs(enc: EncodedFactors): SideInputs {
  return {
    rows: enc.rows,
    p: enc.numeric.width,
    x: enc.numeric.values,
    cats: enc.categoricalFactors.map((c) => ({ levels: c.levels.length, index: c.index })),
  };
}

function hasInputs(s: SideInputs | null): s is SideInputs {
  return s !== null && (s.p > 0 || s.cats.length > 0);
}

/** A factor encoder: v = b + Wᵀx + Σ_f C_f[level_f]; offsets into the parameter vector. */
interface Encoder {
  side: SideInputs;
  dim: number;
  w: number; // p × dim
  b: number; // dim
  c: number[]; // per categorical factor: levels × dim
}

/** An ID embedding table (row-sparse updates). */
interface Table {
  off: number;
  rows: number;
  dim: number;
  mark: Uint8Array;
  touched: Int32Array;
  nTouched: number;
}

interface Layer {
  w: number; // nin × nout (input-major)
  b: number;
  nin: number;
  nout: number;
}

interface NetSpec {
  nModels: number;
  nTasks: number;
  useIds: boolean;
  /** Factor inputs (null = none on that side). */
  modelSide: SideInputs | null;
  taskSide: SideInputs | null;
  /** GMF on factor embeddings (factors-only). */
  factorGmf: boolean;
  /** Model and task bias terms added to the output (ID variants only). */
  idBiases: boolean;
  d: number;
  /** MLP embedding size (IDs and factors). */
  dm: number;
  /** Add factor embeddings to the ID embeddings instead of concatenating them (ID variants). */
  sumFactors: boolean;
  hidden: number[];
}

class Net {
  readonly params: Float64Array;
  readonly grads: Float64Array;
  private readonly m1: Float64Array;
  private readonly m2: Float64Array;
  /** 1 = decayed by weight decay. */
  private readonly decay: Uint8Array;
  /** Parameters below this offset belong to ID tables and are updated row-sparsely. */
  private readonly sparseEnd: number;
  private step = 0;

  readonly gmfDim: number;
  readonly tables: { mg: Table; tg: Table; mh: Table; th: Table } | null;
  /** Per-model and per-task output biases (ID variants with `biases`). */
  readonly biasTables: { bm: Table; bt: Table } | null;
  readonly enc: { mh: Encoder | null; th: Encoder | null; mg: Encoder | null; tg: Encoder | null };
  readonly layers: Layer[];
  readonly in0: number;
  readonly outW: number;
  readonly outB: number;
  readonly outIn: number;
  readonly mlpOut: number;

  // scratch (sized for the batch)
  private cap = 0;
  private gm = new Float64Array(0);
  private gt = new Float64Array(0);
  private acts: Float64Array[] = [];
  private yhat = new Float64Array(0);
  private dAct: Float64Array[] = [];

  constructor(readonly spec: NetSpec, rng: Rng) {
    const d = spec.d;
    const dm = spec.dm;
    let size = 0;
    const alloc = (n: number) => {
      const o = size;
      size += n;
      return o;
    };
    const table = (rows: number, dim: number): Table => ({ off: alloc(rows * dim), rows, dim, mark: new Uint8Array(rows), touched: new Int32Array(rows), nTouched: 0 });
    this.tables = spec.useIds
      ? { mg: table(spec.nModels, d), tg: table(spec.nTasks, d), mh: table(spec.nModels, dm), th: table(spec.nTasks, dm) }
      : null;
    this.biasTables = spec.useIds && spec.idBiases ? { bm: table(spec.nModels, 1), bt: table(spec.nTasks, 1) } : null;
    this.sparseEnd = size;
    const biasRanges: Array<[number, number]> = [];
    const encoder = (side: SideInputs | null, dim: number): Encoder | null => {
      if (!hasInputs(side)) return null;
      const e: Encoder = { side, dim, w: alloc(side.p * dim), b: alloc(dim), c: side.cats.map((c) => alloc(c.levels * dim)) };
      biasRanges.push([e.b, dim]);
      return e;
    };
    this.enc = {
      mh: encoder(spec.modelSide, dm),
      th: encoder(spec.taskSide, dm),
      mg: spec.factorGmf ? encoder(spec.modelSide, d) : null,
      tg: spec.factorGmf ? encoder(spec.taskSide, d) : null,
    };
    // the GMF branch needs both sides
    const gmfOn = spec.useIds || (this.enc.mg !== null && this.enc.tg !== null);
    if (!gmfOn) {
      this.enc.mg = null;
      this.enc.tg = null;
    }
    this.gmfDim = gmfOn ? d : 0;
    this.in0 = spec.useIds && spec.sumFactors ? 2 * dm : (spec.useIds ? 2 * dm : 0) + (this.enc.mh ? dm : 0) + (this.enc.th ? dm : 0);
    this.layers = [];
    let nin = this.in0;
    if (nin > 0) {
      for (const h of spec.hidden) {
        const l: Layer = { w: alloc(h * nin), b: alloc(h), nin, nout: h };
        biasRanges.push([l.b, h]);
        this.layers.push(l);
        nin = h;
      }
    }
    this.mlpOut = this.in0 > 0 ? nin : 0;
    this.outIn = this.gmfDim + this.mlpOut;
    this.outW = alloc(this.outIn);
    this.outB = alloc(1);
    biasRanges.push([this.outB, 1]);

    this.params = new Float64Array(size);
    this.grads = new Float64Array(size);
    this.m1 = new Float64Array(size);
    this.m2 = new Float64Array(size);
    this.decay = new Uint8Array(size).fill(1);
    for (const [o, n] of biasRanges) this.decay.fill(0, o, o + n);

    // initialisation (fixed order)
    const p = this.params;
    const normal = () => {
      const u = Math.max(rng.nextDouble(), 1e-300);
      const v = rng.nextDouble();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    };
    const fill = (o: number, n: number, std: number) => {
      for (let i = 0; i < n; i++) p[o + i] = normal() * std;
    };
    if (this.tables) for (const t of Object.values(this.tables)) fill(t.off, t.rows * t.dim, 0.1);
    for (const e of [this.enc.mh, this.enc.th, this.enc.mg, this.enc.tg]) {
      if (!e) continue;
      fill(e.w, e.side.p * e.dim, 0.1 / Math.sqrt(Math.max(1, e.side.p)));
      e.side.cats.forEach((c, f) => fill(e.c[f], c.levels * e.dim, 0.1));
    }
    for (const l of this.layers) fill(l.w, l.nout * l.nin, Math.sqrt(2 / l.nin));
    fill(this.outW, this.outIn, Math.sqrt(1 / Math.max(1, this.outIn)));
  }

  private ensure(n: number): void {
    if (n <= this.cap) return;
    this.cap = n;
    this.gm = new Float64Array(n * this.gmfDim);
    this.gt = new Float64Array(n * this.gmfDim);
    this.acts = [new Float64Array(n * this.in0), ...this.layers.map((l) => new Float64Array(n * l.nout))];
    this.dAct = this.acts.map((a) => new Float64Array(a.length));
    this.yhat = new Float64Array(n);
  }

  /** v[vo..vo+dim) = (or +=, with `add`) encoder output for `row`. */
  private encode(e: Encoder, row: number, v: Float64Array, vo: number, add: boolean): void {
    const p = this.params;
    const dim = e.dim;
    if (add) for (let k = 0; k < dim; k++) v[vo + k] += p[e.b + k];
    else for (let k = 0; k < dim; k++) v[vo + k] = p[e.b + k];
    const np = e.side.p;
    const xo = row * np;
    const x = e.side.x;
    for (let j = 0; j < np; j++) {
      const xj = x[xo + j];
      if (xj === 0) continue;
      const wo = e.w + j * dim;
      for (let k = 0; k < dim; k++) v[vo + k] += xj * p[wo + k];
    }
    const cats = e.side.cats;
    for (let f = 0; f < cats.length; f++) {
      const co = e.c[f] + cats[f].index[row] * dim;
      for (let k = 0; k < dim; k++) v[vo + k] += p[co + k];
    }
  }

  private encodeBack(e: Encoder, row: number, dv: Float64Array, vo: number): void {
    const g = this.grads;
    const dim = e.dim;
    for (let k = 0; k < dim; k++) g[e.b + k] += dv[vo + k];
    const np = e.side.p;
    const xo = row * np;
    const x = e.side.x;
    for (let j = 0; j < np; j++) {
      const xj = x[xo + j];
      if (xj === 0) continue;
      const wo = e.w + j * dim;
      for (let k = 0; k < dim; k++) g[wo + k] += xj * dv[vo + k];
    }
    const cats = e.side.cats;
    for (let f = 0; f < cats.length; f++) {
      const co = e.c[f] + cats[f].index[row] * dim;
      for (let k = 0; k < dim; k++) g[co + k] += dv[vo + k];
    }
  }

  /** Forward pass for cells `ids[from..to)` (indices into models/tasks); outputs in this.yhat[0..n). */
  forward(models: Int32Array, tasks: Int32Array, ids: Int32Array | null, from: number, to: number): Float64Array {
    const n = to - from;
    this.ensure(n);
    const p = this.params;
    const d = this.gmfDim;
    const dm = this.spec.dm;
    const x0 = this.acts[0];
    const in0 = this.in0;
    const sum = this.spec.sumFactors;
    const T = this.tables;
    for (let i = 0; i < n; i++) {
      const c = ids ? ids[from + i] : from + i;
      const m = models[c];
      const t = tasks[c];
      // GMF inputs
      if (d > 0) {
        if (T) {
          const mo = T.mg.off + m * d;
          const to_ = T.tg.off + t * d;
          for (let k = 0; k < d; k++) {
            this.gm[i * d + k] = p[mo + k];
            this.gt[i * d + k] = p[to_ + k];
          }
        } else {
          this.encode(this.enc.mg!, m, this.gm, i * d, false);
          this.encode(this.enc.tg!, t, this.gt, i * d, false);
        }
      }
      // MLP input
      let o = i * in0;
      if (T) {
        const mo = T.mh.off + m * dm;
        const to_ = T.th.off + t * dm;
        for (let k = 0; k < dm; k++) x0[o + k] = p[mo + k];
        for (let k = 0; k < dm; k++) x0[o + dm + k] = p[to_ + k];
        if (sum) {
          if (this.enc.mh) this.encode(this.enc.mh, m, x0, o, true);
          if (this.enc.th) this.encode(this.enc.th, t, x0, o + dm, true);
        }
        o += 2 * dm;
      }
      if (!sum) {
        if (this.enc.mh) {
          this.encode(this.enc.mh, m, x0, o, false);
          o += dm;
        }
        if (this.enc.th) this.encode(this.enc.th, t, x0, o, false);
      }
    }
    // hidden layers (weights input-major: w[j * nout + r]; zero inputs are skipped)
    for (let li = 0; li < this.layers.length; li++) {
      const l = this.layers[li];
      const a = this.acts[li];
      const z = this.acts[li + 1];
      const nin = l.nin;
      const nout = l.nout;
      const w = l.w;
      const bo = l.b;
      for (let i = 0; i < n; i++) {
        const ao = i * nin;
        const zo = i * nout;
        for (let r = 0; r < nout; r++) z[zo + r] = p[bo + r];
        for (let j = 0; j < nin; j++) {
          const aj = a[ao + j];
          if (aj === 0) continue;
          const wo = w + j * nout;
          for (let r = 0; r < nout; r++) z[zo + r] += aj * p[wo + r];
        }
        for (let r = 0; r < nout; r++) if (z[zo + r] < 0) z[zo + r] = 0;
      }
    }
    // output
    const last = this.acts[this.layers.length];
    const hOut = this.mlpOut;
    for (let i = 0; i < n; i++) {
      let s = p[this.outB];
      for (let k = 0; k < d; k++) s += p[this.outW + k] * this.gm[i * d + k] * this.gt[i * d + k];
      for (let k = 0; k < hOut; k++) s += p[this.outW + d + k] * last[i * hOut + k];
      if (this.biasTables) {
        const c = ids ? ids[from + i] : from + i;
        s += p[this.biasTables.bm.off + models[c]] + p[this.biasTables.bt.off + tasks[c]];
      }
      this.yhat[i] = s;
    }
    return this.yhat;
  }

  /** Backward pass after `forward` on the same cells; `dy[i]` = dLoss/dyhat[i]. Accumulates grads. */
  backward(models: Int32Array, tasks: Int32Array, ids: Int32Array, from: number, to: number, dy: Float64Array): void {
    const n = to - from;
    const p = this.params;
    const g = this.grads;
    const d = this.gmfDim;
    const dm = this.spec.dm;
    const hOut = this.mlpOut;
    const L = this.layers.length;
    const last = this.acts[L];
    const dLast = this.dAct[L];
    const dg = this.dgScratch(d);
    for (let i = 0; i < n; i++) {
      const e = dy[i];
      g[this.outB] += e;
      for (let k = 0; k < d; k++) {
        const a = this.gm[i * d + k];
        const b = this.gt[i * d + k];
        g[this.outW + k] += e * a * b;
      }
      for (let k = 0; k < hOut; k++) {
        g[this.outW + d + k] += e * last[i * hOut + k];
        dLast[i * hOut + k] = e * p[this.outW + d + k];
      }
    }
    // hidden layers, backwards
    for (let li = L - 1; li >= 0; li--) {
      const l = this.layers[li];
      const a = this.acts[li];
      const z = this.acts[li + 1];
      const dz = this.dAct[li + 1];
      const da = this.dAct[li];
      const nin = l.nin;
      const nout = l.nout;
      const w = l.w;
      const bo = l.b;
      for (let i = 0; i < n; i++) {
        const ao = i * nin;
        const zo = i * nout;
        for (let r = 0; r < nout; r++) {
          if (z[zo + r] <= 0) dz[zo + r] = 0;
          else g[bo + r] += dz[zo + r];
        }
        for (let j = 0; j < nin; j++) {
          const aj = a[ao + j];
          // an inactive ReLU input gets no gradient through its own derivative anyway
          if (li > 0 && aj === 0) {
            da[ao + j] = 0;
            continue;
          }
          const wo = w + j * nout;
          let acc = 0;
          for (let r = 0; r < nout; r++) {
            const dr = dz[zo + r];
            acc += dr * p[wo + r];
            g[wo + r] += aj * dr;
          }
          da[ao + j] = acc;
        }
      }
    }
    const dx0 = this.dAct[0];
    const in0 = this.in0;
    const sum = this.spec.sumFactors;
    const T = this.tables;
    for (let i = 0; i < n; i++) {
      const c = ids[from + i];
      const m = models[c];
      const t = tasks[c];
      const e = dy[i];
      if (this.biasTables) {
        this.touch(this.biasTables.bm, m);
        this.touch(this.biasTables.bt, t);
        g[this.biasTables.bm.off + m] += e;
        g[this.biasTables.bt.off + t] += e;
      }
      if (d > 0) {
        // dgm = e * w ⊙ gt, dgt = e * w ⊙ gm
        for (let k = 0; k < d; k++) {
          const w = e * p[this.outW + k];
          dg[k] = w * this.gt[i * d + k];
          dg[d + k] = w * this.gm[i * d + k];
        }
        if (T) {
          this.touch(T.mg, m);
          this.touch(T.tg, t);
          const mo = T.mg.off + m * d;
          const to_ = T.tg.off + t * d;
          for (let k = 0; k < d; k++) {
            g[mo + k] += dg[k];
            g[to_ + k] += dg[d + k];
          }
        } else {
          this.encodeBack(this.enc.mg!, m, dg, 0);
          this.encodeBack(this.enc.tg!, t, dg, d);
        }
      }
      if (in0 === 0) continue;
      let o = i * in0;
      if (T) {
        this.touch(T.mh, m);
        this.touch(T.th, t);
        const mo = T.mh.off + m * dm;
        const to_ = T.th.off + t * dm;
        for (let k = 0; k < dm; k++) g[mo + k] += dx0[o + k];
        for (let k = 0; k < dm; k++) g[to_ + k] += dx0[o + dm + k];
        if (sum) {
          if (this.enc.mh) this.encodeBack(this.enc.mh, m, dx0, o);
          if (this.enc.th) this.encodeBack(this.enc.th, t, dx0, o + dm);
        }
        o += 2 * dm;
      }
      if (!sum) {
        if (this.enc.mh) {
          this.encodeBack(this.enc.mh, m, dx0, o);
          o += dm;
        }
        if (this.enc.th) this.encodeBack(this.enc.th, t, dx0, o);
      }
    }
  }

  private dg = new Float64Array(0);
  private dgScratch(d: number): Float64Array {
    if (this.dg.length < 2 * d) this.dg = new Float64Array(2 * d);
    return this.dg;
  }

  private touch(t: Table, row: number): void {
    if (t.mark[row]) return;
    t.mark[row] = 1;
    t.touched[t.nTouched++] = row;
  }

  /**
   * One AdamW step: dense part fully (decay `wd`, not on biases), ID tables on touched rows only
   * (decay `wdEmb`); clears the gradients.
   */
  adamStep(lr: number, wd: number, wdEmb: number): void {
    this.step++;
    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-8;
    const c1 = 1 - Math.pow(b1, this.step);
    const c2 = 1 - Math.pow(b2, this.step);
    const p = this.params;
    const g = this.grads;
    const m1 = this.m1;
    const m2 = this.m2;
    const dec = this.decay;
    const upd = (i: number, wd: number) => {
      const gi = g[i];
      m1[i] = b1 * m1[i] + (1 - b1) * gi;
      m2[i] = b2 * m2[i] + (1 - b2) * gi * gi;
      const mh = m1[i] / c1;
      const vh = m2[i] / c2;
      p[i] -= lr * (mh / (Math.sqrt(vh) + eps) + (dec[i] ? wd * p[i] : 0));
      g[i] = 0;
    };
    for (const group of [this.tables, this.biasTables]) {
      if (!group) continue;
      for (const t of Object.values(group)) {
        for (let r = 0; r < t.nTouched; r++) {
          const row = t.touched[r];
          t.mark[row] = 0;
          const o = t.off + row * t.dim;
          for (let k = 0; k < t.dim; k++) upd(o + k, wdEmb);
        }
        t.nTouched = 0;
      }
    }
    for (let i = this.sparseEnd; i < p.length; i++) upd(i, wd);
  }

  /** Replace ID embedding rows never trained (seen[row] = 0) with the mean of the trained rows. */
  fillUnseen(seenModel: Uint8Array, seenTask: Uint8Array): void {
    if (!this.tables) return;
    const p = this.params;
    const fix = (t: Table, seen: Uint8Array) => {
      const mean = new Float64Array(t.dim);
      let n = 0;
      for (let r = 0; r < t.rows; r++) {
        if (!seen[r]) continue;
        n++;
        for (let k = 0; k < t.dim; k++) mean[k] += p[t.off + r * t.dim + k];
      }
      if (n > 0) for (let k = 0; k < t.dim; k++) mean[k] /= n;
      for (let r = 0; r < t.rows; r++) if (!seen[r]) p.set(mean, t.off + r * t.dim);
    };
    fix(this.tables.mg, seenModel);
    fix(this.tables.mh, seenModel);
    fix(this.tables.tg, seenTask);
    fix(this.tables.th, seenTask);
    if (this.biasTables) {
      fix(this.biasTables.bm, seenModel);
      fix(this.biasTables.bt, seenTask);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training

interface Cells {
  model: Int32Array;
  task: Int32Array;
  /** Normalised target. */
  y: Float64Array;
}

interface TrainResult {
  net: Net;
  /** Epochs run (best epoch with validation). */
  epochs: number;
  /** Best validation MSE (normalised), NaN without validation. */
  valMse: number;
}

const YIELD_MS = 40;

async function pause(signal: AbortSignal | undefined, clock: { last: number }): Promise<void> {
  if (signal?.aborted) throw new CollabperfError('E_ABORTED', 'fit was aborted', {}, { cause: signal.reason });
  const now = Date.now();
  if (now - clock.last >= YIELD_MS) {
    await new Promise<void>((r) => setImmediate(r));
    clock.last = Date.now();
    if (signal?.aborted) throw new CollabperfError('E_ABORTED', 'fit was aborted', {}, { cause: signal.reason });
  }
}

/** Mean squared error of the net on cells `ids`. */
function evalMse(net: Net, cells: Cells, ids: Int32Array): number {
  let s = 0;
  const B = 512;
  for (let from = 0; from < ids.length; from += B) {
    const to = Math.min(ids.length, from + B);
    const yh = net.forward(cells.model, cells.task, ids, from, to);
    for (let i = 0; i < to - from; i++) s += (yh[i] - cells.y[ids[from + i]]) ** 2;
  }
  return s / Math.max(1, ids.length);
}

async function train(
  spec: NetSpec,
  cells: Cells,
  trainIds: Int32Array,
  valIds: Int32Array | null,
  epochs: number,
  o: Resolved,
  seed: number,
  shuffleStream: number,
  signal: AbortSignal | undefined,
  clock: { last: number },
): Promise<TrainResult> {
  const net = new Net(spec, new Rng(seed, 0));
  // start the output bias at the mean target
  let mean = 0;
  for (const c of trainIds) mean += cells.y[c];
  net.params[net.outB] = trainIds.length ? mean / trainIds.length : 0;

  const order = Int32Array.from(trainIds);
  const dy = new Float64Array(o.batchSize);
  let best = Infinity;
  let bestEpoch = 0;
  let bestParams: Float64Array | null = null;
  const beta = o.averaging;
  const ema = beta > 0 ? new Float64Array(net.params.length) : null;
  const live = beta > 0 ? new Float64Array(net.params.length) : null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    await pause(signal, clock);
    new Rng(seed, shuffleStream + epoch).shuffle(order);
    for (let from = 0; from < order.length; from += o.batchSize) {
      const to = Math.min(order.length, from + o.batchSize);
      const n = to - from;
      const yh = net.forward(cells.model, cells.task, order, from, to);
      for (let i = 0; i < n; i++) dy[i] = (2 * (yh[i] - cells.y[order[from + i]])) / n;
      net.backward(cells.model, cells.task, order, from, to, dy);
      net.adamStep(o.learningRate, o.weightDecay, o.embeddingDecay);
    }
    if (ema && live) {
      // exponential moving average of the weights, once per epoch; evaluated and kept instead of them
      const p = net.params;
      if (epoch === 1) ema.set(p);
      else for (let i = 0; i < p.length; i++) ema[i] = beta * ema[i] + (1 - beta) * p[i];
    }
    if (valIds) {
      if (ema && live) {
        live.set(net.params);
        net.params.set(ema);
      }
      const v = evalMse(net, cells, valIds);
      if (v < best) {
        best = v;
        bestEpoch = epoch;
        bestParams = Float64Array.from(net.params);
      }
      if (ema && live) net.params.set(live);
      if (epoch - bestEpoch >= o.patience) break;
    }
  }
  if (valIds && bestParams) {
    net.params.set(bestParams);
    return { net, epochs: bestEpoch, valMse: best };
  }
  if (ema) net.params.set(ema);
  return { net, epochs, valMse: NaN };
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

  const { min, range } = taskStatsOf(ds);
  const cells: Cells = { model: ds.scores.model, task: ds.scores.task, y: new Float64Array(nnz) };
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
