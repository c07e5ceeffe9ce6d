/**
 * The scaling-law predictor, the classic baseline of the CPP paper: per task, a sigmoid in log
 * parameters (plus log pretraining tokens when the dataset has them for enough models),
 *
 *     y = lo + (hi − lo) · σ(a + b · log N + c · log D),
 *
 * fitted by Levenberg–Marquardt on that task's training cells. It uses no other model's scores on
 * other tasks, only the model's size: a model without a parameter count falls back to the mean
 * predictor.
 */
import { CollabperfError } from '../../errors.js';
import { scaleBounds, type Dataset, type TaskEntry } from '../data/dataset.js';
import { ridgeRegression, solveSpd } from '../linalg/dense.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';
import { argmin, checkPredictArgs, clipRanges, innerHoldout, scaledMse, throwIfAborted } from './baseline-shared.js';
import { taskStats } from '../stats/task-stats.js';
import { fitMeanCells, fitMeanFixed, type MeanCellsFit } from './mean.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** Model factor holding the parameter count (any unit: only its logarithm, standardised, is used). */
export const PARAMS_FACTOR = 'params';
/** Model factor holding the pretraining data size. */
export const TOKENS_FACTOR = 'pretrainingTokens';
/**
 * Tokens are offered to inner validation only when at least this share of the models with a
 * parameter count (and at least {@link SCALING_MIN_SIGMOID_POINTS} of them) also have a token count.
 */
export const TOKENS_MIN_SHARE = 0.5;
/** A sigmoid needs at least this many points plus one per extra coefficient; fewer get a line. */
export const SCALING_MIN_SIGMOID_POINTS = 6;
/** A line needs at least this many points; fewer leave the task to the mean predictor. */
export const SCALING_MIN_LINEAR_POINTS = 3;
/**
 * Penalty on the slopes (of standardised log size), relative to the squared error in units of the
 * task's spread. Tiny: it only keeps a task whose small and large models are perfectly separated from
 * turning into a step function with an infinite slope. The bounds are not penalised: pulling them
 * towards the middle of their ranges biased fits of noiseless planted curves by up to half a point.
 */
const PENALTY = 1e-3;
/**
 * Levenberg–Marquardt iteration limit. Fits with fixed bounds converge in under ten; fitted bounds can
 * creep on for long after the predictions have stopped changing, so the limit mostly caps those.
 */
const LM_MAX_ITERATIONS = 100;

/**
 * How the curve's floor and ceiling are set: `scale` = the task scale's bounds (0 and 100 for a
 * percent task); `fitted` = fitted, the floor between the scale's floor and the lowest training score
 * (e.g. chance level on a multiple-choice task), the ceiling between the highest training score and
 * the scale's ceiling. Tasks without a bounded scale use the observed range widened by its own
 * width on both sides as the "scale".
 */
export type ScalingBounds = 'scale' | 'fitted';

/** One fitted curve: `lo + (hi - lo) · σ(a + Σ w_j x_j)` or a line `a + Σ w_j x_j`, x standardised. */
interface Curve {
  kind: 'sigmoid' | 'linear';
  /** Uses log tokens as the second feature. */
  tokens: boolean;
  a: number;
  w: Float64Array;
  lo: number;
  hi: number;
  /** Clip of the prediction (the scale, or the widened range). */
  min: number;
  max: number;
}

/** Standardised log features of every model (NaN when missing or not positive). */
interface Features {
  logN: Float64Array;
  logD: Float64Array;
  withParams: number;
  withBoth: number;
}

function features(ds: Dataset): Features {
  const n = ds.models.length;
  const logN = new Float64Array(n).fill(NaN);
  const logD = new Float64Array(n).fill(NaN);
  let withParams = 0;
  let withBoth = 0;
  ds.models.forEach((m, i) => {
    const p = m.factors[PARAMS_FACTOR];
    const d = m.factors[TOKENS_FACTOR];
    if (typeof p === 'number' && p > 0) {
      logN[i] = Math.log(p);
      withParams++;
      if (typeof d === 'number' && d > 0) {
        logD[i] = Math.log(d);
        withBoth++;
      }
    }
  });
  standardise(logN);
  standardise(logD);
  return { logN, logD, withParams, withBoth };
}

// Standardised logs keep a, b, c of order one whatever the unit (M or B parameters, B or T tokens),
// so one penalty and one damping schedule suit every dataset.
function standardise(x: Float64Array): void {
  let n = 0;
  let s = 0;
  for (const v of x) if (v === v) {
    s += v;
    n++;
  }
  if (n === 0) return;
  const mean = s / n;
  let ss = 0;
  for (const v of x) if (v === v) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / n) || 1;
  for (let i = 0; i < x.length; i++) if (x[i] === x[i]) x[i] = (x[i] - mean) / sd;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Range a task's curve may span: the scale's bounds, or the observed range widened by its width. */
function taskRange(task: TaskEntry, ys: ArrayLike<number>): { L: number; H: number; yMin: number; yMax: number } {
  let yMin = Infinity;
  let yMax = -Infinity;
  for (let i = 0; i < ys.length; i++) {
    yMin = Math.min(yMin, ys[i]);
    yMax = Math.max(yMax, ys[i]);
  }
  if (task.scale !== undefined) {
    const b = scaleBounds(task.scale);
    return { L: Math.min(b.min, yMin), H: Math.max(b.max, yMax), yMin, yMax };
  }
  const w = Math.max(yMax - yMin, 1e-9 * Math.max(1, Math.abs(yMax)));
  return { L: yMin - w, H: yMax + w, yMin, yMax };
}

/**
 * Levenberg–Marquardt on `Σ ((y - f)/s)² + PENALTY · |slopes|²` with
 * `f = lo + (hi - lo) σ(a + w·x)`; in `fitted` mode `lo = L + (yMin - L) σ(u)` and
 * `hi = yMax + (H - yMax) σ(v)` keep the bounds within their limits without constraints.
 */
function fitSigmoid(X: Float64Array, p: number, y: Float64Array, s: number, L: number, H: number, yMin: number, yMax: number, bounds: ScalingBounds): { a: number; w: Float64Array; lo: number; hi: number } {
  const n = y.length;
  const fitted = bounds === 'fitted';
  const q = 1 + p + (fitted ? 2 : 0);
  const theta = new Float64Array(q);
  const unpack = (th: Float64Array): { lo: number; hi: number } =>
    fitted ? { lo: L + (yMin - L) * sigmoid(th[1 + p]), hi: yMax + (H - yMax) * sigmoid(th[2 + p]) } : { lo: L, hi: H };

  // Start from a line through the logits of the scores, squeezed away from the bounds.
  {
    const { lo, hi } = unpack(theta);
    const span = hi - lo;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = Math.min(0.98, Math.max(0.02, (y[i] - lo) / span));
      z[i] = Math.log(r / (1 - r));
    }
    const init = ridgeRegression(X, z, n, p, { lambda: 1e-6 * n });
    theta[0] = init.intercept;
    theta.set(init.coef, 1);
  }

  const objective = (th: Float64Array): number => {
    const { lo, hi } = unpack(th);
    let f = 0;
    for (let i = 0; i < n; i++) {
      let z = th[0];
      for (let j = 0; j < p; j++) z += th[1 + j] * X[i * p + j];
      const r = (y[i] - lo - (hi - lo) * sigmoid(z)) / s;
      f += r * r;
    }
    for (let j = 1; j <= p; j++) f += PENALTY * th[j] * th[j];
    return f;
  };

  let f0 = objective(theta);
  let mu = 1e-3;
  const JtJ = new Float64Array(q * q);
  const g = new Float64Array(q);
  const J = new Float64Array(q);
  const A = new Float64Array(q * q);
  const trial = new Float64Array(q);
  for (let iter = 0; iter < LM_MAX_ITERATIONS; iter++) {
    JtJ.fill(0);
    g.fill(0);
    const { lo, hi } = unpack(theta);
    const su = fitted ? sigmoid(theta[1 + p]) : 0;
    const sv = fitted ? sigmoid(theta[2 + p]) : 0;
    for (let i = 0; i < n; i++) {
      let z = theta[0];
      for (let j = 0; j < p; j++) z += theta[1 + j] * X[i * p + j];
      const sg = sigmoid(z);
      const r = (y[i] - lo - (hi - lo) * sg) / s;
      const d = ((hi - lo) * sg * (1 - sg)) / s;
      J[0] = d;
      for (let j = 0; j < p; j++) J[1 + j] = d * X[i * p + j];
      if (fitted) {
        J[1 + p] = ((1 - sg) * (yMin - L) * su * (1 - su)) / s;
        J[2 + p] = (sg * (H - yMax) * sv * (1 - sv)) / s;
      }
      for (let j = 0; j < q; j++) {
        g[j] += J[j] * r;
        for (let k = 0; k <= j; k++) JtJ[j * q + k] += J[j] * J[k];
      }
    }
    for (let j = 1; j <= p; j++) {
      JtJ[j * q + j] += PENALTY;
      g[j] -= PENALTY * theta[j];
    }
    let improved = false;
    for (let tries = 0; tries < 30 && !improved; tries++) {
      for (let j = 0; j < q; j++) {
        for (let k = 0; k <= j; k++) {
          const v = JtJ[j * q + k];
          A[j * q + k] = v;
          A[k * q + j] = v;
        }
        A[j * q + j] = JtJ[j * q + j] * (1 + mu) + 1e-12;
      }
      let step: Float64Array;
      try {
        step = solveSpd(A, g, q);
      } catch {
        mu *= 10;
        continue;
      }
      for (let j = 0; j < q; j++) trial[j] = theta[j] + step[j];
      const f1 = objective(trial);
      if (f1 < f0) {
        const gain = f0 - f1;
        theta.set(trial);
        f0 = f1;
        mu = Math.max(mu / 3, 1e-12);
        improved = true;
        if (gain <= 1e-9 * (1 + f1)) return { a: theta[0], w: theta.slice(1, 1 + p), ...unpack(theta) };
      } else {
        mu *= 4;
      }
    }
    if (!improved) break;
  }
  return { a: theta[0], w: theta.slice(1, 1 + p), ...unpack(theta) };
}

/** Fits one task's curve on the given points (rows of `X`, p features), or null when too few. */
function fitCurve(task: TaskEntry, X: Float64Array, p: number, y: Float64Array, tokens: boolean, bounds: ScalingBounds): Curve | null {
  const n = y.length;
  if (n < SCALING_MIN_LINEAR_POINTS) return null;
  const { L, H, yMin, yMax } = taskRange(task, y);
  const extra = p - 1 + (bounds === 'fitted' ? 2 : 0);
  let mean = 0;
  for (const v of y) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of y) ss += (v - mean) ** 2;
  const s = Math.sqrt(ss / n) || 1;
  if (n >= SCALING_MIN_SIGMOID_POINTS + extra && yMax > yMin) {
    const f = fitSigmoid(X, p, y, s, L, H, yMin, yMax, bounds);
    return { kind: 'sigmoid', tokens, a: f.a, w: f.w, lo: f.lo, hi: f.hi, min: L, max: H };
  }
  // Too few points for a sigmoid: a ridge line (a light penalty, as a line through 3 points of nearly
  // equal size would otherwise extrapolate wildly).
  const lin = ridgeRegression(X, y, n, p, { lambda: 1 });
  return { kind: 'linear', tokens, a: lin.intercept, w: lin.coef, lo: L, hi: H, min: L, max: H };
}

function evalCurve(c: Curve, x0: number, x1: number): number {
  let z = c.a + c.w[0] * x0;
  if (c.tokens) z += c.w[1] * x1;
  const v = c.kind === 'sigmoid' ? c.lo + (c.hi - c.lo) * sigmoid(z) : z;
  return Math.min(c.max, Math.max(c.min, v));
}

/** Curves of every task (without and, when asked, with tokens) and the mean fallback. */
interface ScalingFit {
  nCurves: Array<Curve | null>;
  ndCurves: Array<Curve | null>;
  mean: MeanCellsFit;
}

function fitAll(ds: Dataset, c: Cells, feat: Features, bounds: ScalingBounds, useTokens: boolean, mean: MeanCellsFit): ScalingFit {
  const nCurves: Array<Curve | null> = [];
  const ndCurves: Array<Curve | null> = [];
  const byTask: number[][] = Array.from({ length: c.nTasks }, () => []);
  for (let e = 0; e < c.value.length; e++) if (feat.logN[c.model[e]] === feat.logN[c.model[e]]) byTask[c.task[e]].push(e);
  for (let t = 0; t < c.nTasks; t++) {
    const cells = byTask[t];
    const X = Float64Array.from(cells, (e) => feat.logN[c.model[e]]);
    const y = Float64Array.from(cells, (e) => c.value[e]);
    nCurves.push(fitCurve(ds.tasks[t], X, 1, y, false, bounds));
    if (useTokens) {
      const both = cells.filter((e) => feat.logD[c.model[e]] === feat.logD[c.model[e]]);
      const X2 = new Float64Array(both.length * 2);
      both.forEach((e, i) => {
        X2[2 * i] = feat.logN[c.model[e]];
        X2[2 * i + 1] = feat.logD[c.model[e]];
      });
      // Only when the tokens curve has as much support as a sigmoid needs; otherwise the params-only
      // curve serves every model.
      const curve = both.length >= SCALING_MIN_SIGMOID_POINTS + 1 + (bounds === 'fitted' ? 2 : 0)
        ? fitCurve(ds.tasks[t], X2, 2, Float64Array.from(both, (e) => c.value[e]), true, bounds)
        : null;
      ndCurves.push(curve);
    } else {
      ndCurves.push(null);
    }
  }
  return { nCurves, ndCurves, mean };
}

function predictOne(f: ScalingFit, feat: Features, m: number, t: number): number {
  const xn = feat.logN[m];
  if (xn === xn) {
    const xd = feat.logD[m];
    const nd = f.ndCurves[t];
    if (nd && xd === xd) return evalCurve(nd, xn, xd);
    const n = f.nCurves[t];
    if (n) return evalCurve(n, xn, 0);
  }
  return f.mean.predictOne(m, t);
}

const STREAM = 0x73636c;

/**
 * Per-task sigmoid in log parameters (and log pretraining tokens), the CPP paper's scaling-law
 * baseline. Whether the curve's floor and ceiling are the task scale's or fitted within it
 * ({@link ScalingBounds}) and whether tokens are used (when {@link TOKENS_MIN_SHARE} of the sized
 * models have them) are chosen by inner validation on 15 % of the training cells. A task with fewer than
 * {@link SCALING_MIN_SIGMOID_POINTS} sized models gets a ridge line, with fewer than
 * {@link SCALING_MIN_LINEAR_POINTS} the mean predictor; a model without a parameter count always gets
 * the mean predictor. Predictions are clipped to the task's scale.
 * `chosen`: `{ bounds, tokens, sigmoidTasks, linearTasks, meanTasks, modelsWithParams }`.
 */
export const scalingLawPredictor: Predictor = {
  name: 'scaling-law',
  description: 'per-task sigmoid in log parameters (and log pretraining tokens), fitted by Levenberg-Marquardt; mean predictor for models without a size',
  usesFactors: true,
  portable: true,
  async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
    throwIfAborted(ctx.signal, 'the scaling-law fit');
    const c = cellsOf(train);
    const feat = features(train);
    const mean = fitMeanCells(c, ctx.seed);
    const tokensOk = feat.withBoth >= SCALING_MIN_SIGMOID_POINTS && feat.withBoth >= TOKENS_MIN_SHARE * feat.withParams;
    const grid: Array<{ bounds: ScalingBounds; tokens: boolean }> = [
      { bounds: 'scale', tokens: false },
      { bounds: 'fitted', tokens: false },
    ];
    if (tokensOk) grid.push({ bounds: 'scale', tokens: true }, { bounds: 'fitted', tokens: true });
    let best = grid[0];
    if (feat.withParams > 0) {
      const { fit, hold } = innerHoldout(c, ctx.seed, STREAM);
      if (hold.value.length >= 5) {
        const innerMean = fitMeanFixed(fit, mean.space, mean.lambda);
        const sd = taskStats(c).sd;
        const errors = grid.map((g) => {
          throwIfAborted(ctx.signal, 'the scaling-law fit');
          const f = fitAll(train, fit, feat, g.bounds, g.tokens, innerMean);
          const pred = Float64Array.from(hold.value, (_, i) => predictOne(f, feat, hold.model[i], hold.task[i]));
          return scaledMse(pred, hold, sd);
        });
        best = grid[argmin(errors)];
      }
    }
    throwIfAborted(ctx.signal, 'the scaling-law fit');
    const f = fitAll(train, c, feat, best.bounds, best.tokens, mean);
    const { lo, hi } = clipRanges(train);
    const kinds = f.nCurves.map((cv) => cv?.kind ?? 'mean');
    const chosen = {
      bounds: best.bounds,
      tokens: best.tokens,
      sigmoidTasks: kinds.filter((k) => k === 'sigmoid').length,
      linearTasks: kinds.filter((k) => k === 'linear').length,
      meanTasks: kinds.filter((k) => k === 'mean').length,
      modelsWithParams: feat.withParams,
    };
    return {
      chosen,
      predict(models: Int32Array, tasks: Int32Array): Float64Array {
        checkPredictArgs(models, tasks, c.nModels, c.nTasks);
        const out = new Float64Array(models.length);
        for (let i = 0; i < out.length; i++) {
          out[i] = Math.min(hi[tasks[i]], Math.max(lo[tasks[i]], predictOne(f, feat, models[i], tasks[i])));
          if (!Number.isFinite(out[i])) throw new CollabperfError('E_NUMERIC', `scaling-law prediction for cell (${models[i]}, ${tasks[i]}) is not finite`);
        }
        return out;
      },
    };
  },
};
