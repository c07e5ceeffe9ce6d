/**
 * Dense Cholesky factorisation and triangular solves on small symmetric positive definite systems
 * (the d x d normal equations of one ALS row, d = k or k+1). Matrices are row-major Float64Arrays
 * of length d*d, worked on in place so the ALS kernel can reuse one scratch buffer for every row.
 */

/**
 * Reciprocals of the pivots, so that the d^2/2 off-diagonal entries cost a multiplication each
 * instead of a division (several times slower). Module-level and grown on demand: the factorisation
 * is synchronous, so one buffer serves every call without a per-call allocation.
 */
let invDiag = new Float64Array(64);

/**
 * Factors `a = L L^T` in place. Only the lower triangle (diagonal included) of `a` is read; it is
 * overwritten by `L`. The strict upper triangle is left untouched.
 *
 * @param a - d x d symmetric matrix, row-major.
 * @param d - order of the matrix.
 * @returns false when a pivot is not strictly positive (or NaN): the matrix is not numerically
 *   positive definite and `a` is left partly overwritten.
 */
export function choleskyInPlace(a: Float64Array, d: number): boolean {
  // Row-oriented (Cholesky–Crout by rows): both operands of every inner product are contiguous
  // prefixes of rows i and j, which keeps the inner loop sequential in memory.
  if (invDiag.length < d) invDiag = new Float64Array(Math.max(d, 2 * invDiag.length));
  const inv = invDiag;
  // Two rows at a time: both need the same prefixes of the rows above, which are then loaded once
  // for two inner products.
  let i = 0;
  for (; i + 1 < d; i += 2) {
    const io = i * d;
    const ho = io + d;
    for (let j = 0; j < i; j++) {
      const jo = j * d;
      let s0 = 0;
      let s1 = 0;
      let t0 = 0;
      let t1 = 0;
      let p = 0;
      for (; p + 1 < j; p += 2) {
        const l0 = a[jo + p];
        const l1 = a[jo + p + 1];
        s0 += a[io + p] * l0;
        t0 += a[ho + p] * l0;
        s1 += a[io + p + 1] * l1;
        t1 += a[ho + p + 1] * l1;
      }
      if (p < j) {
        const l0 = a[jo + p];
        s0 += a[io + p] * l0;
        t0 += a[ho + p] * l0;
      }
      const r = inv[j];
      a[io + j] = (a[io + j] - (s0 + s1)) * r;
      a[ho + j] = (a[ho + j] - (t0 + t1)) * r;
    }
    const s = a[io + i] - dotPrefix(a, io, io, i);
    // `!(s > 0)` rather than `s <= 0` so that a NaN pivot is also reported as a failure.
    if (!(s > 0)) return false;
    const l = Math.sqrt(s);
    a[io + i] = l;
    inv[i] = 1 / l;
    a[ho + i] = (a[ho + i] - dotPrefix(a, ho, io, i)) * inv[i];
    const t = a[ho + i + 1] - dotPrefix(a, ho, ho, i + 1);
    if (!(t > 0)) return false;
    const lt = Math.sqrt(t);
    a[ho + i + 1] = lt;
    inv[i + 1] = 1 / lt;
  }
  if (i < d) {
    const io = i * d;
    for (let j = 0; j < i; j++) a[io + j] = (a[io + j] - dotPrefix(a, io, j * d, j)) * inv[j];
    const s = a[io + i] - dotPrefix(a, io, io, i);
    if (!(s > 0)) return false;
    a[io + i] = Math.sqrt(s);
  }
  return true;
}

/**
 * `sum_{p<n} a[x+p] * a[y+p]` with four partial sums: a single running sum would serialise every
 * addition on the floating-point add latency. (Summation order is free for ALS: the contract asks
 * for agreement within 1e-9, not bits.)
 */
function dotPrefix(a: Float64Array, x: number, y: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let p = 0;
  for (; p + 3 < n; p += 4) {
    s0 += a[x + p] * a[y + p];
    s1 += a[x + p + 1] * a[y + p + 1];
    s2 += a[x + p + 2] * a[y + p + 2];
    s3 += a[x + p + 3] * a[y + p + 3];
  }
  for (; p < n; p++) s0 += a[x + p] * a[y + p];
  return (s0 + s1) + (s2 + s3);
}

/**
 * Solves `L y = b` in place (`b` becomes `y`), with `L` the lower triangle of `l`.
 *
 * @param l - d x d row-major matrix whose lower triangle holds a Cholesky factor.
 * @param d - order of the system.
 * @param b - right-hand side of length >= d, overwritten by the solution.
 */
export function forwardSubstitute(l: Float64Array, d: number, b: Float64Array): void {
  for (let i = 0; i < d; i++) {
    const io = i * d;
    let s0 = 0;
    let s1 = 0;
    let p = 0;
    for (; p + 1 < i; p += 2) {
      s0 += l[io + p] * b[p];
      s1 += l[io + p + 1] * b[p + 1];
    }
    if (p < i) s0 += l[io + p] * b[p];
    b[i] = (b[i] - (s0 + s1)) / l[io + i];
  }
}

/**
 * Solves `L^T x = y` in place (`y` becomes `x`), with `L` the lower triangle of `l`.
 *
 * @param l - d x d row-major matrix whose lower triangle holds a Cholesky factor.
 * @param d - order of the system.
 * @param y - right-hand side of length >= d, overwritten by the solution.
 */
export function backSubstituteTransposed(l: Float64Array, d: number, y: Float64Array): void {
  // Column-oriented (axpy with row i of L) instead of dot products with columns of L, so that
  // memory is still walked along rows of the row-major factor.
  for (let i = d - 1; i >= 0; i--) {
    const io = i * d;
    const xi = y[i] / l[io + i];
    y[i] = xi;
    for (let p = 0; p < i; p++) y[p] -= l[io + p] * xi;
  }
}

/**
 * Solves `A x = b` given the Cholesky factor of `A` from {@link choleskyInPlace}.
 *
 * @param l - the factored matrix (lower triangle = L).
 * @param d - order of the system.
 * @param b - right-hand side, overwritten by x.
 */
export function choleskySolveInPlace(l: Float64Array, d: number, b: Float64Array): void {
  forwardSubstitute(l, d, b);
  backSubstituteTransposed(l, d, b);
}
