// ALS sweep (docs/kernels.md "ALS sweep"): all rows, then all columns; rows split across threads.
#pragma once

#include "types.hpp"

namespace collabperf {

/** ALS keeps a (k+1) x (k+1) system per thread: k is capped so that stays a few hundred MB at most. */
constexpr int kMaxAlsK = 4096;

/** Knobs for benchmarks and tests; the defaults are what the addon uses. */
struct AlsTuning {
  bool useLapack = false;    // LAPACK dposv_ instead of the built-in Cholesky
  bool useBlasGram = false;  // cblas_dsyrk / dgemm instead of the SIMD Gram tiles
  int prefetch = 32;         // gather: prefetch factor rows this many entries ahead (0 = off)
  bool alignedCopy = true;   // gather from a cache-line-aligned copy of the other side's factors
};

/** Phase timings summed over threads (seconds of thread time) and the Gram step's flops. */
struct AlsProfile {
  double rowPassSeconds = 0.0;  // wall
  double colPassSeconds = 0.0;  // wall
  double gatherSeconds = 0.0;
  double gramSeconds = 0.0;
  double solveSeconds = 0.0;
  double gramFlops = 0.0;
  double passGather[2] = {0.0, 0.0};  // row pass, column pass
  double passGram[2] = {0.0, 0.0};
  double passSolve[2] = {0.0, 0.0};
};

/**
 * One sweep. Throws Error: E_NUMERIC (non-positive pivot, naming the row or column),
 * E_INDEX_OUT_OF_RANGE (bad colIdx / cscRow / offsets), E_INVALID_ARGUMENT.
 * Returns Status::Aborted soon after *options.cancel becomes non-zero (model partially updated).
 */
Status alsSweep(const ProblemView& problem, const ModelView& model, const Options& options,
                const AlsTuning* tuning = nullptr, AlsProfile* profile = nullptr);

}  // namespace collabperf
