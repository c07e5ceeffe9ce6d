// SGD epoch (docs/kernels.md "SGD epoch"): deterministic mode bit-identical to the TypeScript backend,
// parallel mode LIBMF-style block scheduling across options.threads threads.
#pragma once

#include <cstdint>

#include "types.hpp"

namespace collabperf {

/** Where a parallel epoch spends its time (seconds; process and wait summed over threads). */
struct SgdProfile {
  double setupSeconds = 0.0;    // block cuts and per-row split points (wall)
  double processSeconds = 0.0;  // updating entries
  double waitSeconds = 0.0;     // waiting for a free block
};

/** Knobs for benchmarks and tests; the defaults are what the addon uses. */
struct SgdTuning {
  int blocksPerDim = 0;           // parallel mode grid is B x B; 0 = automatic (threads + 1)
  bool rotateRows = true;         // parallel mode: start each row's entries at a seeded random one
  bool shuffleRows = false;       // parallel mode: rows of a block fully shuffled (else a seeded rotation)
  SgdProfile* profile = nullptr;  // filled when set
  bool blocksOnOneThread = false; // parallel mode with threads = 1 too: the blocks one after the other, in
                                  // the seeded order (tests compare the float64 and float32 kernels)
};

/**
 * One epoch (epoch counts from 0). Deterministic mode when options.sgdMode is Deterministic or
 * options.threads < 2 (unless tuning->blocksOnOneThread); float64 or float32 models in either mode.
 * Throws Error E_INDEX_OUT_OF_RANGE / E_INVALID_ARGUMENT on bad input.
 * Returns Status::Aborted soon after *options.cancel becomes non-zero.
 */
Status sgdEpoch(const ProblemView& problem, const ModelView& model, const Options& options, int64_t epoch,
                const SgdTuning* tuning = nullptr);

}  // namespace collabperf
