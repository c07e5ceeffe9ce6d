// Internal interface between sgd.cpp (blocks, scheduling, threads, errors) and the per-ISA
// parallel-SGD update loops (built from sgd_kernel.inc in kernels_avx512.cpp, kernels_avx2.cpp,
// kernels_generic.cpp).
#pragma once

#include <cstdint>

namespace collabperf {
namespace sgd_detail {

/**
 * What a block worker needs to update entries inside the block's column range. T is the factor
 * storage: double (RowCtx) or float (RowCtx32, a float32 model's arrays, updated in place).
 */
template <class T>
struct RowCtxT {
  const int32_t* colIdx = nullptr;
  const double* value = nullptr;
  const double* weight = nullptr;  // or nullptr
  T* U = nullptr;
  T* V = nullptr;
  T* rowBias = nullptr;
  T* colBias = nullptr;
  int k = 1;
  bool useBias = true;
  double mu = 0.0;
  double lr = 0.0;
  double lambda = 0.0;
  double lambdaBias = 0.0;
  int32_t cLo = 0;  // the block's column range [cLo, cHi): every entry must fall inside it
  int32_t cHi = 0;
};
typedef RowCtxT<double> RowCtx;
typedef RowCtxT<float> RowCtx32;

/**
 * One row's part of a block: CSR entries [lo, hi) of row r, visited from `start` to hi-1 and then
 * from lo to start-1 (a seeded rotation of the row's column order). Rows of one task list differ.
 */
struct RowTask {
  int32_t r;
  int32_t lo;
  int32_t hi;
  int32_t start;
};

/**
 * Plain SGD updates (docs/kernels.md step 3 with any rounding order, FMA allowed) for the tasks in
 * order; the entries of two tasks may be interleaved (entry by entry, as if in that order). Returns
 * -1, or the first entry met whose column is outside [cLo, cHi) (nothing of that entry is updated).
 */
int64_t sgdTasksAvx512(const RowCtx& cx, const RowTask* tasks, int64_t n);
int64_t sgdTasksAvx2(const RowCtx& cx, const RowTask* tasks, int64_t n);
int64_t sgdTasksGeneric(const RowCtx& cx, const RowTask* tasks, int64_t n);

/**
 * The same for float factors (float32 models): dot products and factor updates in float lanes
 * (twice as many per vector), prediction, gradient and bias updates in double from the widened
 * floats; every value stored is a float. Same task order, same return values.
 */
int64_t sgdTasks32Avx512(const RowCtx32& cx, const RowTask* tasks, int64_t n);
int64_t sgdTasks32Avx2(const RowCtx32& cx, const RowTask* tasks, int64_t n);
int64_t sgdTasks32Generic(const RowCtx32& cx, const RowTask* tasks, int64_t n);

}  // namespace sgd_detail
}  // namespace collabperf
