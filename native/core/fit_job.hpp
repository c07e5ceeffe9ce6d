// Whole fits (docs/kernels.md "Whole fits and batches"): the iteration loop of src/backends/types.ts
// FitJob run inside the core, and batches of them on the persistent pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "types.hpp"

namespace collabperf {

/** Ials: implicit-feedback ALS with options.implicit (native/core/ials.hpp). */
enum class Algo { Als, Sgd, Ials };
enum class FitStatus { Ok, Aborted, Diverged };

inline const char* fitStatusName(FitStatus s) {
  return s == FitStatus::Ok ? "ok" : s == FitStatus::Aborted ? "aborted" : "diverged";
}

/** Held-out entries; weights nullptr means all 1. */
struct ValidationView {
  int64_t n = 0;
  const int32_t* rows = nullptr;
  const int32_t* cols = nullptr;
  const double* values = nullptr;
  const double* weights = nullptr;
};

/** One whole fit. model arrives initialised and leaves holding the kept iteration. */
struct FitJob {
  ProblemView problem;
  ModelView model;
  Options options;
  Algo algo = Algo::Als;
  int iters = 1;
  bool hasValidation = false;
  ValidationView validation;
  bool earlyStopping = false;
  int patience = 1;
  double minDelta = 0.0;
  // false: the loss only once, on the kept model, after the loop (docs/kernels.md, FitJob.trackLoss).
  bool trackLoss = true;
};

struct FitIteration {
  double trainRmse = 0.0;
  double validRmse = 0.0;  // NaN without validation
  double seconds = 0.0;    // wall time of the iteration's kernel
  double objective = 0.0;  // Ials only: the objective after the iteration (LossSums.objective)
};

struct FitResult {
  FitStatus status = FitStatus::Ok;
  std::vector<FitIteration> history;
  int bestIter = 0;
  bool stoppedEarly = false;
};

/** Called after every finished iteration of job `job`, and once with finished = true when the job
 * ends (from any pool thread, concurrently). */
using IterationHook = std::function<void(size_t job, int itersDone, bool finished)>;

/**
 * Runs one fit with the existing kernels. Throws Error like the kernels (and E_INDEX_OUT_OF_RANGE
 * for a validation index outside the matrix).
 */
FitResult runFit(const FitJob& job, const IterationHook* hook = nullptr, size_t jobIndex = 0);

/**
 * nnz * k (for Ials (nnz + nRows + nCols) * k, its Gram and solves grow with the sides too) below
 * this: the job runs whole on one pool thread, side by side with other small jobs.
 */
constexpr double kSmallJobWork = 262144.0;

/**
 * Runs the jobs: small ones (nnz * k < kSmallJobWork, and not parallel-mode SGD, whose block grid
 * depends on options.threads) whole, one per pool thread; then the large ones one at a time, each
 * with options.threads threads (a team is at most the pool size). Results in job order and independent of the thread
 * count (a job's arithmetic does not depend on which or how many threads run it). Rethrows the
 * error of the first failing job (in job order) after all jobs stopped.
 */
std::vector<FitResult> fitMany(const std::vector<FitJob>& jobs, const IterationHook* hook = nullptr,
                               int maxThreads = 1 << 30);

}  // namespace collabperf
