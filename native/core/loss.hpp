// Training loss sums (docs/kernels.md): sse = sum w * (y - pred)^2 and wsum = sum w over all entries.
#pragma once

#include "types.hpp"

namespace collabperf {

/**
 * Walks the CSR arrays in fixed chunks of rows (split across options.threads threads) and adds the
 * chunk sums in chunk order, so the result does not depend on the thread count. pred is evaluated
 * exactly as the doc says, each term as w * (err * err) like the TypeScript backend. Throws
 * E_INDEX_OUT_OF_RANGE on bad indices. Like the TypeScript backend it cannot be aborted (it has no
 * status to report that), so options.cancel is not consulted; it always returns Status::Ok.
 */
Status trainLoss(const ProblemView& problem, const ModelView& model, const Options& options, LossSums& out);

/** pred(r, c) = ((mu + rowBias[r]) + colBias[c]) + dot, dot summed from 0.0 in f order. */
inline double predict(const ModelView& m, int64_t r, int64_t c) {
  const int k = m.k;
  const double* u = m.U + r * k;
  const double* v = m.V + c * k;
  double dot = 0.0;
  for (int f = 0; f < k; ++f) dot += u[f] * v[f];
  return ((m.mu + m.rowBias[r]) + m.colBias[c]) + dot;
}

}  // namespace collabperf
