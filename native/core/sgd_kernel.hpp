// Internal interface between sgd.cpp (scheduling, threads, errors) and the per-ISA parallel-SGD row
// update (built from sgd_kernel.inc in kernels_avx512.cpp, kernels_avx2.cpp, kernels_generic.cpp).
#pragma once

#include <cstdint>

namespace collabperf {
namespace sgd_detail {

/** What a block worker needs to update one row's entries inside the block's column range. */
struct RowCtx {
  const int32_t* colIdx = nullptr;
  const double* value = nullptr;
  const double* weight = nullptr;  // or nullptr
  double* U = nullptr;
  double* V = nullptr;
  double* rowBias = nullptr;
  double* colBias = nullptr;
  int k = 1;
  bool useBias = true;
  double mu = 0.0;
  double lr = 0.0;
  double lambda = 0.0;
  double lambdaBias = 0.0;
  int32_t cLo = 0;  // the block's column range [cLo, cHi): every entry must fall inside it
  int32_t cHi = 0;
};

/**
 * Plain SGD updates (docs/kernels.md step 3, any rounding order, FMA allowed) for the entries
 * ord[0..m) of row r, in that order, keeping U[r] in `ubuf` (k doubles, 64-byte aligned) meanwhile.
 * Returns -1, or the first entry whose column is outside [cLo, cHi) (nothing of it is updated).
 */
int64_t sgdRowAvx512(const RowCtx& cx, int32_t r, const int32_t* ord, int64_t m, double* ubuf);
int64_t sgdRowAvx2(const RowCtx& cx, int32_t r, const int32_t* ord, int64_t m, double* ubuf);
int64_t sgdRowGeneric(const RowCtx& cx, int32_t r, const int32_t* ord, int64_t m, double* ubuf);

}  // namespace sgd_detail
}  // namespace collabperf
