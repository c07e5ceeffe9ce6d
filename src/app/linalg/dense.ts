/**
 * Small dense linear algebra for the baseline predictors: symmetric eigendecomposition (cyclic
 * Jacobi, optionally warm-started), Cholesky solves of small SPD systems and ridge regression.
 *
 * Matrices are row-major `Float64Array`s. Sizes are small (tasks ≤ ~60, a handful of regression
 * coefficients), so plain loops are fast enough and keep results bit-identical across platforms,
 * which the predictors' determinism for a seed relies on.
 */
import { CollabperfError } from '../../errors.js';

/** Default tolerance and sweep limit of {@link symmetricEigen} (see {@link EigenOptions}). */
const JACOBI_TOL = 1e-13;
const JACOBI_MAX_SWEEPS = 60;

/** Result of {@link symmetricEigen}. */
export interface EigenResult {
  /** Eigenvalues in decreasing order. */
  values: Float64Array;
  /** n × n row-major; column `j` (entries `i * n + j`) is the unit eigenvector of `values[j]`. */
  vectors: Float64Array;
  /** Jacobi sweeps used (0 when the input was already diagonal to tolerance). */
  sweeps: number;
}

/** Options of {@link symmetricEigen}. */
export interface EigenOptions {
  /**
   * An orthogonal n × n matrix (columns as in {@link EigenResult.vectors}) close to the eigenvectors,
   * e.g. those of a slightly different matrix. Jacobi then starts from `Vᵀ A V`, which is nearly
   * diagonal, and converges in one or two sweeps instead of six to ten.
   */
  start?: Float64Array;
  /** Stop when the off-diagonal Frobenius norm is below `tol` × the Frobenius norm (default 1e-13). */
  tol?: number;
  /** Sweep limit (default 60). */
  maxSweeps?: number;
}

/**
 * Eigendecomposition of a symmetric matrix by the cyclic Jacobi method. Only the input's symmetry is
 * assumed (the lower triangle mirrors the upper one); `a` is not modified. Jacobi is chosen over QR
 * because it is short, accurate for small matrices, and can be warm-started from a nearby basis, which
 * the iterative imputation of the PCA predictor exploits (the covariance changes little per step).
 */
export function symmetricEigen(a: Float64Array, n: number, opts: EigenOptions = {}): EigenResult {
  if (a.length !== n * n) throw new CollabperfError('E_LENGTH_MISMATCH', `symmetricEigen: matrix has ${a.length} entries, expected ${n}×${n}`);
  const tol = opts.tol ?? JACOBI_TOL;
  const maxSweeps = opts.maxSweeps ?? JACOBI_MAX_SWEEPS;
  const A = new Float64Array(n * n);
  const V = new Float64Array(n * n);
  if (opts.start) {
    const S = opts.start;
    if (S.length !== n * n) throw new CollabperfError('E_LENGTH_MISMATCH', `symmetricEigen: start basis has ${S.length} entries, expected ${n}×${n}`);
    // A ← Sᵀ a S (two products through a temporary)
    const T = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const aik = a[i * n + k];
        if (aik === 0) continue;
        for (let j = 0; j < n; j++) T[i * n + j] += aik * S[k * n + j];
      }
    }
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        const ski = S[k * n + i];
        if (ski === 0) continue;
        for (let j = 0; j < n; j++) A[i * n + j] += ski * T[k * n + j];
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const m = 0.5 * (A[i * n + j] + A[j * n + i]);
        A[i * n + j] = m;
        A[j * n + i] = m;
      }
    }
    V.set(S);
  } else {
    A.set(a);
    for (let i = 0; i < n; i++) V[i * n + i] = 1;
  }

  const sweeps = jacobi(A, V, n, tol, maxSweeps);
  const order = new Int32Array(n);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  sortEigen(A, V, n, order, values, vectors);
  return { values, vectors, sweeps };
}

/**
 * Cyclic Jacobi sweeps on A (n × n, symmetric, in place) accumulating the rotations into V, until
 * the off-diagonal part is below `tol` of the Frobenius norm or `maxSweeps`; returns the sweeps run.
 */
function jacobi(A: Float64Array, V: Float64Array, n: number, tol: number, maxSweeps: number): number {
  let total = 0;
  for (let i = 0; i < n * n; i++) total += A[i] * A[i];
  const threshold = tol * tol * total;
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * A[p * n + q] * A[p * n + q];
    if (!(off > threshold)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const app = A[p * n + p];
        const aqq = A[q * n + q];
        // Rotation angle by the stable formulas of Rutishauser (Numerical Recipes §11.1).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return sweeps;
}

/**
 * Eigenpairs of a diagonalised A with rotations V into `values` (decreasing) and `vectors` (column j =
 * eigenvector j, sign fixed); `order` is scratch of length n.
 */
function sortEigen(A: Float64Array, V: Float64Array, n: number, order: Int32Array, values: Float64Array, vectors: Float64Array): void {
  // Decreasing eigenvalue, ties by index: insertion sort, as n is small and the PCA loop calls this
  // thousands of times (an array sort with a comparator closure cost half the time of a 5 × 5 solve).
  for (let i = 0; i < n; i++) {
    const di = A[i * n + i];
    let j = i;
    for (; j > 0; j--) {
      const prev = order[j - 1];
      if (!((di - A[prev * n + prev] || prev - i) > 0)) break;
      order[j] = prev;
    }
    order[j] = i;
  }
  for (let dst = 0; dst < n; dst++) {
    const src = order[dst];
    values[dst] = A[src * n + src];
    // Fix the sign (largest-magnitude entry positive) so that results do not depend on the path taken.
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(V[i * n + src]) > Math.abs(big)) big = V[i * n + src];
    const sgn = big < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vectors[i * n + dst] = sgn * V[i * n + src];
  }
}

/**
 * Solve `A x = b` for a symmetric positive definite `A` (n × n, row-major) by Cholesky. Inputs are not
 * modified. Throws `E_NUMERIC` when `A` is not numerically positive definite.
 */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new CollabperfError('E_NUMERIC', `solveSpd: matrix is not positive definite (pivot ${i} is ${s})`);
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * x[k];
    x[i] = s / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/** Options of {@link ridgeRegression}. */
export interface RidgeOptions {
  /** Penalty on the coefficients (not on the intercept); default 0. */
  lambda?: number;
  /** Fit an unpenalised intercept (default true). */
  intercept?: boolean;
  /** Per-row weights (default 1). */
  weights?: ArrayLike<number>;
}

/** Result of {@link ridgeRegression}. */
export interface RidgeFit {
  /** Intercept (0 without one). */
  intercept: number;
  /** One coefficient per feature. */
  coef: Float64Array;
}

/**
 * Least squares `y ≈ intercept + X w` with penalty `lambda · |w|²`. `X` is n × p row-major. The
 * intercept is handled by centring, so it is never shrunk. A tiny jitter (1e-12 of the mean diagonal)
 * keeps the normal equations solvable for collinear or constant features at `lambda = 0`, where the
 * minimum-norm-like solution is good enough for prediction.
 */
export function ridgeRegression(X: Float64Array, y: ArrayLike<number>, n: number, p: number, opts: RidgeOptions = {}): RidgeFit {
  if (X.length !== n * p || y.length !== n) {
    throw new CollabperfError('E_LENGTH_MISMATCH', `ridgeRegression: X has ${X.length} entries and y ${y.length}, expected ${n}×${p} and ${n}`);
  }
  const lambda = opts.lambda ?? 0;
  const useIntercept = opts.intercept ?? true;
  const w = opts.weights;
  let sw = 0;
  const mx = new Float64Array(p);
  let my = 0;
  if (useIntercept) {
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      sw += wi;
      my += wi * y[i];
      for (let j = 0; j < p; j++) mx[j] += wi * X[i * p + j];
    }
    if (sw > 0) {
      my /= sw;
      for (let j = 0; j < p; j++) mx[j] /= sw;
    }
  }
  const G = new Float64Array(p * p);
  const r = new Float64Array(p);
  const row = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i] : 1;
    if (wi === 0) continue;
    for (let j = 0; j < p; j++) row[j] = X[i * p + j] - mx[j];
    const yi = y[i] - my;
    for (let j = 0; j < p; j++) {
      const v = wi * row[j];
      r[j] += v * yi;
      for (let k = 0; k <= j; k++) G[j * p + k] += v * row[k];
    }
  }
  let diag = 0;
  for (let j = 0; j < p; j++) diag += G[j * p + j];
  const jitter = 1e-12 * (diag / Math.max(1, p)) + 1e-300;
  for (let j = 0; j < p; j++) {
    G[j * p + j] += lambda + jitter;
    for (let k = 0; k < j; k++) G[k * p + j] = G[j * p + k];
  }
  const coef = p > 0 ? solveSpd(G, r, p) : new Float64Array(0);
  let intercept = my;
  for (let j = 0; j < p; j++) intercept -= coef[j] * mx[j];
  return { intercept: useIntercept ? intercept : 0, coef };
}

/** Options of {@link topEigenvectors}. */
export interface TopEigenOptions {
  /**
   * n × r orthonormal columns (row-major, `i * r + j`) spanning roughly the wanted subspace, e.g. the
   * result for a slightly different matrix. Without it the full decomposition is computed.
   */
  start?: Float64Array;
  /** Subspace iteration steps from `start` (default 2). */
  steps?: number;
}

/**
 * The `r` leading eigenpairs of a symmetric n × n matrix. Cold: from the full {@link symmetricEigen}.
 * Warm (`opts.start`): a few steps of subspace iteration with a Rayleigh–Ritz rotation (Jacobi on the
 * r × r projected matrix), O(n² r) per step instead of the O(n³) of a full decomposition; each step
 * reduces the angle to the true subspace by the ratio of eigenvalue r + 1 to eigenvalue r. Meant for
 * loops in which the matrix changes a little per iteration and the outer loop tolerates inexact steps.
 * Returns Ritz values in decreasing order and vectors as n × r row-major.
 */
export function topEigenvectors(a: Float64Array, n: number, r: number, opts: TopEigenOptions = {}): { values: Float64Array; vectors: Float64Array } {
  if (!(r >= 0 && r <= n)) throw new CollabperfError('E_INVALID_ARGUMENT', `topEigenvectors: r = ${r} outside 0..${n}`);
  if (!opts.start) {
    const full = symmetricEigen(a, n);
    const vectors = new Float64Array(n * r);
    for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) vectors[i * r + j] = full.vectors[i * n + j];
    return { values: full.values.slice(0, r), vectors };
  }
  if (opts.start.length !== n * r) throw new CollabperfError('E_LENGTH_MISMATCH', `topEigenvectors: start has ${opts.start.length} entries, expected ${n}×${r}`);
  const it = new SubspaceIteration(n, r).run(a, opts.start, opts.steps ?? 2);
  return { values: Float64Array.from(it.values), vectors: Float64Array.from(it.vectors) };
}

/**
 * The warm path of {@link topEigenvectors} with its buffers kept between calls, for a loop that calls
 * it thousands of times at one size (the PCA imputation: fresh arrays per call made the garbage
 * collector a sixth of a `predict`). Results are bit-for-bit those of `topEigenvectors`.
 */
export class SubspaceIteration {
  /** Ritz values of the last {@link run}, decreasing (overwritten by the next run). */
  readonly values: Float64Array;
  /** n × r row-major Ritz vectors of the last {@link run} (overwritten by the next run). */
  readonly vectors: Float64Array;
  private readonly Qt: Float64Array;
  private readonly Yt: Float64Array;
  private readonly AYt: Float64Array;
  private readonly B: Float64Array;
  private readonly V: Float64Array;
  private readonly E: Float64Array;
  private readonly order: Int32Array;

  constructor(
    readonly n: number,
    readonly r: number,
  ) {
    if (!(r >= 0 && r <= n)) throw new CollabperfError('E_INVALID_ARGUMENT', `SubspaceIteration: r = ${r} outside 0..${n}`);
    this.values = new Float64Array(r);
    this.vectors = new Float64Array(n * r);
    this.Qt = new Float64Array(r * n);
    this.Yt = new Float64Array(r * n);
    this.AYt = new Float64Array(r * n);
    this.B = new Float64Array(r * r);
    this.V = new Float64Array(r * r);
    this.E = new Float64Array(r * r);
    this.order = new Int32Array(r);
  }

  /**
   * `steps` steps of subspace iteration on the symmetric n × n matrix `a` from `start` (n × r, which
   * may be {@link vectors} itself). Returns this object, whose `values` and `vectors` hold the result.
   */
  run(a: Float64Array, start: Float64Array, steps: number): this {
    const { n, r, Qt, Yt, AYt, B, V, E, order, values } = this;
    // Everything works on transposed (r × n) copies, so that each product entry is a dot product of
    // two contiguous rows; every entry is still summed in the same order as the n × r row-major
    // formulation, so the result is bit-for-bit the same.
    for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) Qt[j * n + i] = start[i * r + j];
    values.fill(0);
    for (let step = 0; step < steps; step++) {
      multiplyTransposed(a, Qt, Yt, n, r);
      orthonormaliseRows(Yt, n, r);
      multiplyTransposed(a, Yt, AYt, n, r);
      for (let j = 0; j < r; j++) {
        const oj = j * n;
        for (let k = 0; k <= j; k++) {
          const ok = k * n;
          let s = 0;
          for (let i = 0; i < n; i++) s += Yt[oj + i] * AYt[ok + i];
          B[j * r + k] = s;
          B[k * r + j] = s;
        }
      }
      // Rayleigh–Ritz: the r × r eigenproblem, as symmetricEigen(B, r) solves it, in place.
      V.fill(0);
      for (let i = 0; i < r; i++) V[i * r + i] = 1;
      jacobi(B, V, r, JACOBI_TOL, JACOBI_MAX_SWEEPS);
      sortEigen(B, V, r, order, values, E);
      for (let j = 0; j < r; j++) {
        const oj = j * n;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += Yt[k * n + i] * E[k * r + j];
          Qt[oj + i] = s;
        }
      }
    }
    const vectors = this.vectors;
    for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) vectors[i * r + j] = Qt[j * n + i];
    return this;
  }
}

/**
 * out[oo + j·os] = Σ_k x[xo + k] · Y[j·n + k] for the first `count` rows of Y (rows n apart), each
 * summed in k order from 0. Four rows are accumulated at once in separate variables, so the
 * additions of different sums overlap instead of each waiting on the last; every sum is still the
 * one a loop over k alone would give.
 */
export function rowDots(x: Float64Array, xo: number, Y: Float64Array, count: number, n: number, out: Float64Array, oo: number, os: number): void {
  let j = 0;
  for (; j + 4 <= count; j += 4) {
    const o0 = j * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < n; k++) {
      const xk = x[xo + k];
      s0 += xk * Y[o0 + k];
      s1 += xk * Y[o1 + k];
      s2 += xk * Y[o2 + k];
      s3 += xk * Y[o3 + k];
    }
    out[oo + j * os] = s0;
    out[oo + (j + 1) * os] = s1;
    out[oo + (j + 2) * os] = s2;
    out[oo + (j + 3) * os] = s3;
  }
  for (; j < count; j++) {
    const oj = j * n;
    let s = 0;
    for (let k = 0; k < n; k++) s += x[xo + k] * Y[oj + k];
    out[oo + j * os] = s;
  }
}

/** outT (r × n) = (a (n × n) · q)ᵀ for q given as its transpose qT (r × n): outT[j][i] = Σ_k a[i][k] · qT[j][k]. */
function multiplyTransposed(a: Float64Array, qT: Float64Array, outT: Float64Array, n: number, r: number): void {
  for (let i = 0; i < n; i++) rowDots(a, i * n, qT, r, n, outT, i, n);
}

/**
 * Modified Gram–Schmidt on the r rows of yT (r × n, the columns of an n × r matrix), twice for
 * accuracy. A row that vanishes (the matrix has rank below r) is replaced by the first coordinate
 * vector independent of the others, so the result always has r orthonormal rows.
 */
function orthonormaliseRows(yT: Float64Array, n: number, r: number): void {
  let scale = 0;
  for (let i = 0; i < yT.length; i++) scale = Math.max(scale, Math.abs(yT[i]));
  for (let j = 0; j < r; j++) {
    const oj = j * n;
    for (let unit = -1; unit < n; unit++) {
      if (unit >= 0) for (let i = 0; i < n; i++) yT[oj + i] = i === unit ? 1 : 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          const ok = k * n;
          let d = 0;
          for (let i = 0; i < n; i++) d += yT[oj + i] * yT[ok + i];
          for (let i = 0; i < n; i++) yT[oj + i] -= d * yT[ok + i];
        }
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += yT[oj + i] ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-10 * (unit >= 0 ? 1 : Math.max(scale, 1e-300))) {
        for (let i = 0; i < n; i++) yT[oj + i] /= norm;
        break;
      }
    }
  }
}
