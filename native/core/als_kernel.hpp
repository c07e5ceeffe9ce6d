// Internal interface between als.cpp (threads, errors, cancel) and the per-ISA ALS row solvers
// (als_avx512.cpp, als_avx2.cpp, als_generic.cpp, all built from als_kernel.inc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace collabperf {
namespace als_detail {

/** One side of a sweep: solve the factors of every "self" row from the "other" side's factors. */
struct SideJob {
  int32_t nSelf = 0;
  int32_t nOther = 0;
  int64_t nnz = 0;
  const int32_t* ptr = nullptr;   // nSelf+1
  const int32_t* idx = nullptr;   // nnz, index into the other side
  const double* val = nullptr;    // nnz
  const double* wgt = nullptr;    // nnz or nullptr
  double* selfF = nullptr;        // nSelf*k (nullptr when selfF32 is set)
  double* selfB = nullptr;        // nSelf
  // float32 models: the solutions are stored here instead, each value rounded once (the gather
  // reads the other side through otherF32 and otherB through a double copy).
  float* selfF32 = nullptr;
  float* selfB32 = nullptr;
  // float32 models: the other side's rows as floats (an aligned copy, row stride otherStride floats),
  // read instead of otherF and widened as they are gathered: half the bytes of a double copy, the
  // same doubles in the sums.
  const float* otherF32 = nullptr;
  // float32 models: the k x k Gram block summed in float lanes (twice as many per vector) from the
  // gathered rows read in place, each chunk's float sums added into the double system; the rest
  // stays double. Tiles only (AVX2 / AVX-512).
  bool floatGram = false;
  const double* otherF = nullptr;  // nOther rows of k doubles, row stride otherStride
  int64_t otherStride = 0;         // doubles between rows of otherF (k, or a 64-byte-aligned copy's kp)
  const double* otherB = nullptr;  // nOther
  int k = 1;
  double mu = 0.0;
  bool useBias = true;
  double lambda = 0.0;
  double lambdaBias = 0.0;
  bool weightedLambda = false;
  bool useLapack = false;  // solve with LAPACK dposv_ instead of the built-in Cholesky (benchmarks)
  bool useBlasGram = false;  // Gram by cblas_dsyrk/dgemm instead of the SIMD tiles (benchmarks)
  int prefetch = 32;         // gather: prefetch the factor row this many entries ahead
};

enum FaultKind : int { kFaultNone = 0, kFaultNumeric = 1, kFaultPtr = 2, kFaultIndex = 3 };

/** What went wrong in a row range (the caller turns it into an Error; no exceptions cross ISA code). */
struct Fault {
  int kind = kFaultNone;
  int64_t where = 0;  // self index (numeric, ptr) or entry index (index)
  int64_t value = 0;  // offending index value (index) or pivot position (numeric)
};

/** Per-thread phase timings (seconds) and flop count of the Gram step, when profiling. */
struct Profile {
  double gatherSeconds = 0.0;
  double gramSeconds = 0.0;
  double solveSeconds = 0.0;
  double gramFlops = 0.0;  // 2 * n * d(d+1)/2 per row, the useful flops of the symmetric rank-n update
};

// Workspace layout shared by every ISA: kp = k rounded up to 8, chunk rows of kp doubles; the
// Cholesky matrix M has leading dimension dm >= d + 1 (row d holds the right-hand side).
constexpr int kChunkBytes = 32 * 1024;
inline int paddedK(int k) { return (k + 7) / 8 * 8; }
/** Floats per row of a float32 model's aligned copy: k rounded up to 16 (whole 64-byte lines). */
inline int paddedKf(int k) { return (k + 15) / 16 * 16; }
inline int paddedD(int k) { return (k + 2 + 7) / 8 * 8; }
inline int64_t chunkRows(int k) {
  int64_t r = kChunkBytes / (8 * static_cast<int64_t>(paddedK(k))) / 8 * 8;
  return r < 16 ? 16 : r;
}
inline size_t workspaceDoubles(int k) {
  const size_t kp = static_cast<size_t>(paddedK(k));
  const size_t dm = static_cast<size_t>(paddedD(k));
  const size_t ch = static_cast<size_t>(chunkRows(k));
  const size_t kf = static_cast<size_t>(paddedKf(k));
  // X (or, for the float Gram, the chunk's row pointers), Xw, w, wt, A, s, bv, M, rhs, then the
  // float Gram's block Af (in doubles), (+ slack)
  return 2 * ch * kp + 2 * ch + kp * kp + 2 * kp + dm * dm + dm + (kf * kf + 1) / 2 + 64;
}

/**
 * Zeroes a thread's solver workspace once per pass, before its first solve of the pass. The solvers
 * never write X's padding columns and need every stale value finite; clearing per pass rather than
 * per solve call matters on small problems, where a pass is hundreds of one-row calls and the
 * workspace (about 140 KB at k = 2) would be cleared for each.
 */
inline void clearWorkspace(double* ws, int k) {
  std::memset(ws, 0, (workspaceDoubles(k) - 64) * sizeof(double));
}

double nowSeconds();

/**
 * One side of an implicit ALS sweep (see native/core/ials.cpp): every self row solves
 * (G + sum_e (c_e - 1) y_e y_e^T + lam I) x = sum_e c_e y_e over its entries with r > 0. `T` is the
 * factors' type: double for every solver, float for the float-arithmetic CG of float32 models.
 */
template <typename T>
struct IalsSideT {
  int32_t nSelf = 0;
  int32_t nOther = 0;
  int64_t nnz = 0;
  const int32_t* ptr = nullptr;
  const int32_t* idx = nullptr;
  const double* val = nullptr;
  const double* conf = nullptr;  // nnz confidences (log variant), or nullptr: 1 + alpha * val[e]
  double alpha = 1.0;
  T* selfF = nullptr;
  const T* otherF = nullptr;  // nOther rows of k values, row stride otherStride
  int64_t otherStride = 0;
  const T* G = nullptr;  // k x k Gram of the other side, row stride paddedK(k), padding 0
  int k = 1;
  double lambda = 0.0;
  bool weightedLambda = false;
  int prefetch = 32;
};
using IalsSide = IalsSideT<double>;
using IalsSide32 = IalsSideT<float>;

/** CG: entries gathered (transposed) at a time; a row with at most this many r > 0 is gathered once. */
constexpr int64_t kCgCap = 1024;
/** Row stride of the transposed chunk: one cache line more than kCgCap, so that its k rows (2 KB
 * apart otherwise) do not all fall into the same few L1 sets. */
constexpr int64_t kCgLd = kCgCap + 8;
/**
 * The float CG copies no factor values, only a pointer and two confidences per entry (16 bytes),
 * so it gathers many more entries at a time: all of nearly every column, whose products then need
 * no gather of their own.
 */
constexpr int64_t kCgCap32 = 16384;
/** Bytes of a CG workspace: five k-vectors, the chunk's dot products, c - 1 and c, the transposed chunk (double only), the row pointers. */
inline size_t cgWorkspaceBytes(int k, bool f32) {
  const size_t kp = static_cast<size_t>(paddedK(k));
  if (f32) return 4 * (5 * kp + 3 * static_cast<size_t>(kCgCap32)) + sizeof(void*) * static_cast<size_t>(kCgCap32);
  return 8 * (5 * kp + 3 * static_cast<size_t>(kCgCap) + static_cast<size_t>(k) * static_cast<size_t>(kCgLd)) +
         sizeof(void*) * static_cast<size_t>(kCgCap);
}

/** CG solves (cgSteps each, warm-started) of self rows [begin, end), in ials.ts's operation order. */
Fault ialsCgAvx512(const IalsSide& job, int steps, int64_t begin, int64_t end, double* ws);
Fault ialsCgAvx2(const IalsSide& job, int steps, int64_t begin, int64_t end, double* ws);
Fault ialsCgGeneric(const IalsSide& job, int steps, int64_t begin, int64_t end, double* ws);

/**
 * The same CG in float arithmetic on float32 factors (ws: cgWorkspaceBytes(k, true)). Twice the SIMD width and half the bytes per gathered row of the double path; the
 * bits differ from it (and from the TypeScript backend's widened float32 CG) by float rounding.
 * Every ISA gives the same bits, as for the double CG.
 */
Fault ialsCg32Avx512(const IalsSide32& job, int steps, int64_t begin, int64_t end, double* ws);
Fault ialsCg32Avx2(const IalsSide32& job, int steps, int64_t begin, int64_t end, double* ws);
Fault ialsCg32Generic(const IalsSide32& job, int steps, int64_t begin, int64_t end, double* ws);

/** Exact implicit solves of self rows [begin, end) (workspace as for the explicit solver). */
Fault ialsExactAvx512(const IalsSide& job, int64_t begin, int64_t end, double* ws);
Fault ialsExactAvx2(const IalsSide& job, int64_t begin, int64_t end, double* ws);
Fault ialsExactGeneric(const IalsSide& job, int64_t begin, int64_t end, double* ws);

/** Solves rows [begin, end) of `job`; ws holds workspaceDoubles(job.k) doubles, 64-byte aligned. */
Fault solveRangeAvx512(const SideJob& job, int64_t begin, int64_t end, double* ws, Profile* prof);
Fault solveRangeAvx2(const SideJob& job, int64_t begin, int64_t end, double* ws, Profile* prof);
Fault solveRangeGeneric(const SideJob& job, int64_t begin, int64_t end, double* ws, Profile* prof);

/** Ranks the scalar small-rank solver takes (float64 models; see als_small.cpp). */
constexpr int kMaxSmallAlsK = 3;
/** Solves rows [begin, end) of a float64 job with 1 <= k <= kMaxSmallAlsK, reading otherF with its stride; ws unused. */
Fault solveRangeSmall(const SideJob& job, int64_t begin, int64_t end, double* ws, Profile* prof);

}  // namespace als_detail
}  // namespace collabperf
