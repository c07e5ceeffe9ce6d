// Nearest rows of a masked table (the plain kNN of src/app/predictors/knn-plain.ts): for each query
// row, the L candidate rows at the smallest mean squared difference over the columns both have.
#pragma once

#include <cstdint>

namespace collabperf {

/**
 * One batch. The candidates are a T x A task-major table: zt[t * A + i] is candidate i's value on
 * column t (0 where it has none) and wt[t * A + i] is 1 where it has one, 0 where not. Query q is
 * row q of the nQuery x T table `query` (NaN where it has no value); a candidate at a finite
 * distance from it shares at least need[q] of its columns and is not position self[q] (-1: none).
 */
struct NeighbourJob {
  int32_t nCand = 0;
  int32_t nCols = 0;
  const double* zt = nullptr;
  const double* wt = nullptr;
  int64_t nQuery = 0;
  const double* query = nullptr;
  const int32_t* need = nullptr;
  const int32_t* self = nullptr;
  int32_t L = 1;
  int threads = 1;
  // Outputs: query q's nearest from q * L, by (distance, position) ascending; outCount[q] of the L
  // slots are filled (min(L, outFinite[q])); outFinite[q] counts its candidates at a finite distance.
  int32_t* outIdx = nullptr;
  double* outDist = nullptr;
  int32_t* outCount = nullptr;
  int32_t* outFinite = nullptr;
};

/**
 * distance(q, i) = ss / n with ss = sum over the query's columns t, ascending, of w (a - z)^2 (w the
 * 0/1 presence, so a missing column adds exactly +0) and n = sum of w; Infinity when n < need[q] or
 * i = self[q]. Exactly the TypeScript scan's doubles, and its selection: the L smallest finite
 * (distance, position) pairs in ascending order, whatever the thread count.
 * Throws E_INVALID_ARGUMENT for L < 1 or a self outside [-1, nCand).
 */
void nearestRows(const NeighbourJob& job);

/**
 * One similarity batch (the kNN of src/app/predictors/knn.ts). Candidates candidate-major:
 * resid[i * nCols + t] (0 where missing) and mask (1 / 0). Query q is row q of `rows` (NaN where
 * missing), leaving out candidate self[q] (-1: none); its cells are cellTask[cellPtr[q] ..
 * cellPtr[q+1]).
 */
struct SimilarityJob {
  int32_t nCand = 0;
  int32_t nCols = 0;
  const double* resid = nullptr;
  const double* mask = nullptr;
  int64_t nQuery = 0;
  const double* rows = nullptr;
  const int32_t* self = nullptr;
  const int32_t* cellPtr = nullptr;  // nQuery + 1
  const int32_t* cellTask = nullptr;
  int64_t nCells = 0;
  const double* betas = nullptr;
  int32_t nBetas = 0;
  double minOverlap = 2.0;
  int32_t kMax = 1;
  int threads = 1;
  // Outputs, slot s = cell * nBetas + beta: found[s] neighbours at outIdx / outW[s * kMax ..], best first.
  int32_t* outIdx = nullptr;
  double* outW = nullptr;
  int32_t* outFound = nullptr;
};

/**
 * Per query, over the candidates and then the columns ascending: dot += a b, qq += (a a) mb,
 * jj += (b b) qm, n += qm mb (a, qm the query's value or 0 and presence); sim = 0 for self, n <
 * minOverlap or !(qq > 0 && jj > 0), else dot / sqrt(qq jj). Per cell (column t) and beta: the
 * candidates with sim > 0 having t, in position order, shrunk s = (sim n) / (n + beta), kept best
 * first in at most kMax slots by insertion (a tie keeps the earlier one). Exactly the TypeScript
 * kernel's doubles and order (src/backends/ts/neighbours.ts), whatever the thread count.
 * Throws E_INVALID_ARGUMENT / E_INDEX_OUT_OF_RANGE for bad offsets, tasks or self.
 */
void neighbourWeights(const SimilarityJob& job);

}  // namespace collabperf
