/**
 * Dense Cholesky factorisation and triangular solves on small symmetric positive definite systems
 * (the d x d normal equations of one ALS row, d = k or k+1). Matrices are row-major Float64Arrays
 * of length d*d, worked on in place so the ALS kernel can reuse one scratch buffer for every row.
 */

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
  for (let i = 0; i < d; i++) {
    const io = i * d;
    for (let j = 0; j < i; j++) {
      const jo = j * d;
      let s = a[io + j];
      for (let p = 0; p < j; p++) s -= a[io + p] * a[jo + p];
      a[io + j] = s / a[jo + j];
    }
    let s = a[io + i];
    for (let p = 0; p < i; p++) {
      const l = a[io + p];
      s -= l * l;
    }
    // `!(s > 0)` rather than `s <= 0` so that a NaN pivot is also reported as a failure.
    if (!(s > 0)) return false;
    a[io + i] = Math.sqrt(s);
  }
  return true;
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
    let s = b[i];
    for (let p = 0; p < i; p++) s -= l[io + p] * b[p];
    b[i] = s / l[io + i];
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
