// Plain job structs of the native core: views of caller-owned memory (the TypeScript typed arrays
// when called through the addon), see docs/kernels.md and src/backends/types.ts.
#pragma once

#include <cstdint>

namespace collabperf {

/** Sparse observed entries, CSR by row and CSC by column. Read-only for kernels. */
struct ProblemView {
  int32_t nRows = 0;
  int32_t nCols = 0;
  int64_t nnz = 0;
  const int32_t* rowPtr = nullptr;  // nRows+1
  const int32_t* rowIdx = nullptr;  // nnz, row of CSR entry e
  const int32_t* colIdx = nullptr;  // nnz, column of CSR entry e (sorted within a row)
  const double* value = nullptr;    // nnz, CSR order
  const double* weight = nullptr;   // nnz or nullptr (= all 1)
  const int32_t* colPtr = nullptr;  // nCols+1
  const int32_t* cscRow = nullptr;  // nnz (sorted within a column)
  const double* cscValue = nullptr;  // nnz
  const double* cscWeight = nullptr;  // nnz or nullptr
};

/** Model parameters, mutated in place. */
struct ModelView {
  int32_t k = 1;
  double mu = 0.0;
  double* U = nullptr;        // nRows*k, row-major
  double* V = nullptr;        // nCols*k, row-major
  double* rowBias = nullptr;  // nRows
  double* colBias = nullptr;  // nCols
  // float32 storage (docs/kernels.md "float32 factors"): set all four instead of the double
  // pointers above, which stay nullptr. Read and written by explicit and implicit ALS and their losses;
  // sums and solves stay in double, each stored value is rounded to float32.
  float* U32 = nullptr;
  float* V32 = nullptr;
  float* rowBias32 = nullptr;
  float* colBias32 = nullptr;
  bool float32() const { return U32 != nullptr; }
};

enum class SgdMode { Deterministic, Parallel };

/** Implicit-feedback ALS settings (src/backends/types.ts ImplicitOptions); read only by algo Ials. */
struct ImplicitOptions {
  double alpha = 1.0;
  bool logConfidence = false;  // 1 + alpha * log(1 + r / epsilon) instead of 1 + alpha * r
  double epsilon = 1.0;
  bool cg = false;  // conjugate gradient with cgSteps steps instead of the exact Cholesky solve
  int cgSteps = 3;
};

struct Options {
  bool useBias = true;
  double lambda = 0.0;
  double lambdaBias = 0.0;
  bool weightedLambda = false;
  int threads = 1;
  double learningRate = 0.01;
  double lrDecay = 0.0;
  uint32_t seed = 0;
  SgdMode sgdMode = SgdMode::Deterministic;
  /** Length-1 flag or nullptr; a kernel returns Status::Aborted soon after *cancel != 0. */
  const int32_t* cancel = nullptr;
  ImplicitOptions implicit;
};

enum class Status { Ok, Aborted };

inline const char* statusName(Status s) { return s == Status::Ok ? "ok" : "aborted"; }

struct LossSums {
  double sse = 0.0;
  double wsum = 0.0;
  double objective = 0.0;  // implicit ALS only: sse plus the L2 terms
};

/** Relaxed read of the cancel flag (written by another thread, e.g. the JS main thread). */
inline bool cancelRequested(const int32_t* cancel) {
  return cancel != nullptr && __atomic_load_n(cancel, __ATOMIC_RELAXED) != 0;
}

}  // namespace collabperf
