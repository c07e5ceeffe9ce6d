// Implicit-feedback ALS (Hu, Koren & Volinsky 2008) of the native core: the port of
// src/backends/ts/ials.ts, whose module comment fixes the objective and the operation order of the
// CG solver and of the Gram matrix (docs/kernels.md "Implicit ALS").
#pragma once

#include <vector>

#include "types.hpp"

namespace collabperf {

/**
 * The confidences of a fit, computed once: with the log variant, c_e = 1 + alpha * log(1 + r_e /
 * epsilon) for every entry with r_e > 0, in CSR order (csr) and CSC order (csc), so that no sweep
 * calls log again; empty with the linear variant (1 + alpha * r is computed where it is used).
 */
struct Confidences {
  std::vector<double> csr;
  std::vector<double> csc;
  const double* rows() const { return csr.empty() ? nullptr : csr.data(); }
  const double* cols() const { return csc.empty() ? nullptr : csc.data(); }
};

/** Checks options.implicit and fills `out` (throws Error E_INVALID_ARGUMENT / E_NON_FINITE). */
void implicitConfidences(const ProblemView& problem, const ImplicitOptions& o, Confidences& out);

/**
 * One implicit ALS iteration: every row against the current V, then every column against the new
 * U, rows split across options.threads threads; the result does not depend on the thread count.
 * `conf` is implicitConfidences' output for these options. Throws Error: E_NUMERIC (exact solve
 * with a non-positive pivot), E_INDEX_OUT_OF_RANGE, E_INVALID_ARGUMENT. Returns Status::Aborted
 * soon after *options.cancel becomes non-zero.
 */
Status ialsSweep(const ProblemView& problem, const ModelView& model, const Options& options, const Confidences& conf);

/**
 * The implicit loss (ials.ts implicitLoss): sse over every cell via the Gram trick (clamped at 0),
 * wsum = nRows * nCols + sum_e (c_e - 1), objective = sse + lambda * (L2 of U and V). Partial sums
 * per row, added in row order: independent of the thread count, equal to TS up to rounding.
 */
void implicitLoss(const ProblemView& problem, const ModelView& model, const Options& options, const Confidences& conf,
                  LossSums& out);

}  // namespace collabperf
