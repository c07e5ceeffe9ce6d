// Batched top-n recommendation (issue 10): the scores and order of FactorModel.recommendMany in
// src/factorization/model.ts, computed across the core's thread pool.
#pragma once

#include <cstdint>

#include "types.hpp"

namespace collabperf {

/**
 * One batch. Row q of the batch is model row rows[q]; its excluded columns are the union of
 * rowExclude (CSR indexed by MODEL row: excludeIdx[excludePtr[r] .. excludePtr[r+1]), the known
 * columns when recommend's default exclusion applies) and sharedExclude (the same list for every
 * row, a user-given exclude). Either may be absent (nullptr / 0 entries).
 */
struct RecommendJob {
  int32_t nRows = 0;
  int32_t nCols = 0;
  const int32_t* rows = nullptr;
  int64_t nQuery = 0;
  int32_t n = 1;
  const int32_t* excludePtr = nullptr;  // nRows+1, or nullptr
  const int32_t* excludeIdx = nullptr;
  int64_t nExcludeIdx = 0;  // length of excludeIdx
  const int32_t* sharedExclude = nullptr;
  int64_t nShared = 0;
  int threads = 1;
  // Outputs: outIdx / outScore hold nQuery * n slots, row q's best first from q * n; outCount[q] of
  // them are filled (fewer than n when fewer columns are left after the exclusions).
  int32_t* outIdx = nullptr;
  double* outScore = nullptr;
  int32_t* outCount = nullptr;
};

/**
 * score(r, c) = ((mu + rowBias[r]) + colBias[c]) + dot, dot summed from 0.0 in f order in double
 * (float32 storage widened exactly), bit for bit the TypeScript path's value. Columns are offered in
 * ascending order to the same top-n insertion as the TypeScript TopN (ties keep the lower column;
 * NaN behaves as there), so ids and scores match that path and never depend on threads.
 * Throws E_INDEX_OUT_OF_RANGE for a row, exclusion offset or column outside its range,
 * E_INVALID_ARGUMENT for n < 1 or missing arrays.
 */
void recommendMany(const ModelView& model, const RecommendJob& job);

}  // namespace collabperf
