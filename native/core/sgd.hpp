// SGD epoch (docs/kernels.md "SGD epoch"): deterministic mode bit-identical to the TypeScript backend,
// parallel mode LIBMF-style block scheduling across options.threads threads.
#pragma once

#include <cstdint>

#include "types.hpp"

namespace collabperf {

/** Knobs for benchmarks and tests; the defaults are what the addon uses. */
struct SgdTuning {
  int blocksPerDim = 0;           // parallel mode grid is B x B; 0 = automatic (2 * threads + 2)
  bool shuffleWithinRow = true;   // parallel mode: shuffle a row's entries inside a block
};

/**
 * One epoch (epoch counts from 0). Deterministic mode when options.sgdMode is Deterministic or
 * options.threads < 2. Throws Error E_INDEX_OUT_OF_RANGE / E_INVALID_ARGUMENT on bad input.
 * Returns Status::Aborted soon after *options.cancel becomes non-zero.
 */
Status sgdEpoch(const ProblemView& problem, const ModelView& model, const Options& options, int64_t epoch,
                const SgdTuning* tuning = nullptr);

}  // namespace collabperf
