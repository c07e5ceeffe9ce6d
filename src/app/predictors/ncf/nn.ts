/**
 * A small neural-network library for the NCF predictors: factor encoders, ID embedding tables,
 * dense ReLU layers, the mean-squared-error loss, and the NCF network built from them, each with a
 * hand-written forward and backward pass on Float64Array parameters addressed by offset into one
 * vector (so the optimizer and the early-stopping copies handle a single array). Every backward
 * pass is checked against central finite differences in test/app/predictors/ncf-gradients.test.ts.
 *
 * Loops keep a fixed order of floating-point operations: a fit is bit-for-bit reproducible.
 */
import type { Rng } from '../../../numeric/rng.js';
import type { EncodedFactors } from '../../features/encode.js';

/** Factor inputs of one side (models or tasks). */
export interface SideInputs {
  rows: number;
  /** Width of the numeric part (standardised values and missing indicators). */
  p: number;
  /** rows × p, row-major. */
  x: Float64Array;
  /** Per categorical factor: number of levels and each row's level. */
  cats: Array<{ levels: number; index: Int32Array }>;
}

/** The factor inputs of one side, from its encoded factors. */
export function sideInputs(enc: EncodedFactors): SideInputs {
  return {
    rows: enc.rows,
    p: enc.numeric.width,
    x: enc.numeric.values,
    cats: enc.categoricalFactors.map((c) => ({ levels: c.levels.length, index: c.index })),
  };
}

/** True when the side has any factor input (numeric or categorical). */
export function hasInputs(s: SideInputs | null): s is SideInputs {
  return s !== null && (s.p > 0 || s.cats.length > 0);
}

/** A factor encoder: v = b + Wᵀx + Σ_f C_f[level_f]; offsets into the parameter vector. */
export interface Encoder {
  side: SideInputs;
  dim: number;
  /** p × dim, input-major. */
  w: number;
  /** dim. */
  b: number;
  /** Per categorical factor: levels × dim. */
  c: number[];
}

/** An ID embedding table: `rows × dim` parameters at `off`, with the rows a batch touched (row-sparse updates). */
export interface EmbeddingTable {
  off: number;
  rows: number;
  dim: number;
  mark: Uint8Array;
  touched: Int32Array;
  nTouched: number;
}

/** A dense layer `z = ReLU(b + Wᵀa)`: offsets of W (nin × nout, input-major) and b. */
export interface DenseLayer {
  w: number;
  b: number;
  nin: number;
  nout: number;
}

/** Shape of an NCF network. */
export interface NetSpec {
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

/** A standard normal draw (Box-Muller, cosine branch), for weight initialisation. */
export function normal(rng: Rng): number {
  const u = Math.max(rng.nextDouble(), 1e-300);
  const v = rng.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** `v[vo..vo+dim)` = (or +=, with `add`) the encoder's output for `row`. */
export function encoderForward(p: Float64Array, e: Encoder, row: number, v: Float64Array, vo: number, add: boolean): void {
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

/** Accumulates into `g` the encoder's parameter gradients for `row`, given dLoss/dv in `dv[vo..vo+dim)`. */
export function encoderBackward(g: Float64Array, e: Encoder, row: number, dv: Float64Array, vo: number): void {
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

/** Scratch of the dense layers: positions of a row's nonzero inputs or active outputs. */
let nonzero = new Int32Array(64);
function scratch(n: number): Int32Array {
  if (nonzero.length < n) nonzero = new Int32Array(Math.max(n, 2 * nonzero.length));
  return nonzero;
}

/**
 * `z = ReLU(b + Wᵀa)` for `n` rows (`a`: n × nin, `z`: n × nout, row-major). Zero inputs are skipped:
 * after a ReLU many are. The nonzero inputs are taken four at a time, each output still adding them
 * in input order, so the sums are those of one input at a time, with a quarter of the loads and
 * stores of z.
 */
export function denseReluForward(p: Float64Array, l: DenseLayer, a: Float64Array, z: Float64Array, n: number): void {
  const nin = l.nin;
  const nout = l.nout;
  const w = l.w;
  const bo = l.b;
  const nz = scratch(nin);
  for (let i = 0; i < n; i++) {
    const ao = i * nin;
    const zo = i * nout;
    let m = 0;
    for (let j = 0; j < nin; j++) if (a[ao + j] !== 0) nz[m++] = j;
    for (let r = 0; r < nout; r++) z[zo + r] = p[bo + r];
    let q = 0;
    for (; q + 3 < m; q += 4) {
      const j0 = nz[q];
      const j1 = nz[q + 1];
      const j2 = nz[q + 2];
      const j3 = nz[q + 3];
      const a0 = a[ao + j0];
      const a1 = a[ao + j1];
      const a2 = a[ao + j2];
      const a3 = a[ao + j3];
      const w0 = w + j0 * nout;
      const w1 = w + j1 * nout;
      const w2 = w + j2 * nout;
      const w3 = w + j3 * nout;
      for (let r = 0; r < nout; r++) z[zo + r] = z[zo + r] + a0 * p[w0 + r] + a1 * p[w1 + r] + a2 * p[w2 + r] + a3 * p[w3 + r];
    }
    for (; q < m; q++) {
      const j0 = nz[q];
      const a0 = a[ao + j0];
      const w0 = w + j0 * nout;
      for (let r = 0; r < nout; r++) z[zo + r] += a0 * p[w0 + r];
    }
    for (let r = 0; r < nout; r++) if (z[zo + r] < 0) z[zo + r] = 0;
  }
}

/**
 * Backward of {@link denseReluForward} on the same `a` and `z`: given dLoss/dz in `dz` (zeroed here
 * where the ReLU is inactive), accumulates the W and b gradients into `g` and writes dLoss/da to `da`.
 * With `reluInput` (the input is itself a ReLU output), a zero input gets `da = 0` without the dot
 * product: its own ReLU would zero that gradient anyway. Only the active outputs (dz != 0) enter the
 * sums: an inactive one adds an exact zero (no sum here is ever -0), so the bits are those of the
 * full loop, in about half its steps.
 */
export function denseReluBackward(
  p: Float64Array,
  g: Float64Array,
  l: DenseLayer,
  a: Float64Array,
  z: Float64Array,
  dz: Float64Array,
  da: Float64Array,
  n: number,
  reluInput: boolean,
): void {
  const nin = l.nin;
  const nout = l.nout;
  const w = l.w;
  const bo = l.b;
  const act = scratch(nout + nin);
  const ins = act.subarray(nout);
  for (let i = 0; i < n; i++) {
    const ao = i * nin;
    const zo = i * nout;
    let m = 0;
    for (let r = 0; r < nout; r++) {
      if (z[zo + r] <= 0) dz[zo + r] = 0;
      else g[bo + r] += dz[zo + r];
      if (dz[zo + r] !== 0) act[m++] = r;
    }
    // The inputs that get a gradient, then two at a time: their dot products are independent
    // chains (each summed in output order), so one's additions overlap the other's latency.
    let nj = 0;
    for (let j = 0; j < nin; j++) {
      if (reluInput && a[ao + j] === 0) da[ao + j] = 0;
      else ins[nj++] = j;
    }
    let u = 0;
    for (; u + 1 < nj; u += 2) {
      const j0 = ins[u];
      const j1 = ins[u + 1];
      const a0 = a[ao + j0];
      const a1 = a[ao + j1];
      const w0 = w + j0 * nout;
      const w1 = w + j1 * nout;
      let acc0 = 0;
      let acc1 = 0;
      for (let q = 0; q < m; q++) {
        const r = act[q];
        const dr = dz[zo + r];
        acc0 += dr * p[w0 + r];
        g[w0 + r] += a0 * dr;
        acc1 += dr * p[w1 + r];
        g[w1 + r] += a1 * dr;
      }
      da[ao + j0] = acc0;
      da[ao + j1] = acc1;
    }
    if (u < nj) {
      const j0 = ins[u];
      const a0 = a[ao + j0];
      const w0 = w + j0 * nout;
      let acc0 = 0;
      for (let q = 0; q < m; q++) {
        const r = act[q];
        const dr = dz[zo + r];
        acc0 += dr * p[w0 + r];
        g[w0 + r] += a0 * dr;
      }
      da[ao + j0] = acc0;
    }
  }
}

/**
 * The mean-squared-error loss over `n` predictions `yhat[0..n)` of targets `y[ids[from + i]]`:
 * writes dLoss/dyhat = 2 (yhat − y) / n to `dy` and returns the loss.
 */
export function mseLossGrad(yhat: Float64Array, y: Float64Array, ids: Int32Array, from: number, n: number, dy: Float64Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const r = yhat[i] - y[ids[from + i]];
    s += r * r;
    dy[i] = (2 * r) / n;
  }
  return s / n;
}

/** `acc` plus the squared errors of `yhat[0..n)` against `y[ids[from + i]]`, summed in order. */
export function addSquaredErrors(acc: number, yhat: Float64Array, y: Float64Array, ids: Int32Array, from: number, n: number): number {
  let s = acc;
  for (let i = 0; i < n; i++) s += (yhat[i] - y[ids[from + i]]) ** 2;
  return s;
}

/**
 * The NCF network of one (model, task) cell (see the predictor's module comment): ID embedding
 * tables, factor encoders, a GMF product, a ReLU MLP and a linear output, all parameters in one
 * Float64Array with their gradients beside them. `forward` then `backward` on the same cells
 * accumulates the exact gradient of `Σ dy[i] · yhat[i]` into {@link grads}; the optimizer lives in
 * the trainer.
 */
export class Net {
  /** Every parameter, laid out as the offsets below say. */
  readonly params: Float64Array;
  /** dLoss/dparams, accumulated by {@link backward}; the optimizer clears it. */
  readonly grads: Float64Array;
  /** 1 = decayed by weight decay (biases are not). */
  readonly decay: Uint8Array;
  /** Parameters below this offset belong to ID tables and are updated row-sparsely. */
  readonly sparseEnd: number;

  readonly gmfDim: number;
  readonly tables: { mg: EmbeddingTable; tg: EmbeddingTable; mh: EmbeddingTable; th: EmbeddingTable } | null;
  /** Per-model and per-task output biases (ID variants with `biases`). */
  readonly biasTables: { bm: EmbeddingTable; bt: EmbeddingTable } | null;
  readonly enc: { mh: Encoder | null; th: Encoder | null; mg: Encoder | null; tg: Encoder | null };
  readonly layers: DenseLayer[];
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
    const table = (rows: number, dim: number): EmbeddingTable => ({ off: alloc(rows * dim), rows, dim, mark: new Uint8Array(rows), touched: new Int32Array(rows), nTouched: 0 });
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
        const l: DenseLayer = { w: alloc(h * nin), b: alloc(h), nin, nout: h };
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
    this.decay = new Uint8Array(size).fill(1);
    for (const [o, n] of biasRanges) this.decay.fill(0, o, o + n);

    // initialisation (fixed order)
    const p = this.params;
    const fill = (o: number, n: number, std: number) => {
      for (let i = 0; i < n; i++) p[o + i] = normal(rng) * std;
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

  private encode(e: Encoder, row: number, v: Float64Array, vo: number, add: boolean): void {
    encoderForward(this.params, e, row, v, vo, add);
  }

  private encodeBack(e: Encoder, row: number, dv: Float64Array, vo: number): void {
    encoderBackward(this.grads, e, row, dv, vo);
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
    for (let li = 0; li < this.layers.length; li++) denseReluForward(p, this.layers[li], this.acts[li], this.acts[li + 1], n);
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
    // hidden layers, backwards; a layer's input is a ReLU output except for the first
    for (let li = L - 1; li >= 0; li--) denseReluBackward(p, g, this.layers[li], this.acts[li], this.acts[li + 1], this.dAct[li + 1], this.dAct[li], n, li > 0);
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

  private touch(t: EmbeddingTable, row: number): void {
    if (t.mark[row]) return;
    t.mark[row] = 1;
    t.touched[t.nTouched++] = row;
  }

  /** Replace ID embedding rows never trained (seen[row] = 0) with the mean of the trained rows. */
  fillUnseen(seenModel: Uint8Array, seenTask: Uint8Array): void {
    if (!this.tables) return;
    const p = this.params;
    const fix = (t: EmbeddingTable, seen: Uint8Array) => {
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

