#include "als.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "als_kernel.hpp"
#include "check.hpp"
#include "cpu.hpp"
#include "errors.hpp"
#include "info.hpp"
#include "threads.hpp"

namespace collabperf {

namespace als_detail {
double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace als_detail

namespace {

using namespace als_detail;

/** The normal-equation workspace of the calling thread, kept between sweeps (see threadScratch). */
double* threadWorkspace(int k) {
  return static_cast<double*>(threadScratch(kScratchAlsWorkspace, workspaceDoubles(k) * sizeof(double)));
}

typedef Fault (*SolveFn)(const SideJob&, int64_t, int64_t, double*, Profile*);

[[noreturn]] void raiseFault(const Fault& f, const SideJob& job, bool rows) {
  const char* self = rows ? "row" : "column";
  const char* ptrName = rows ? "problem.rowPtr" : "problem.colPtr";
  const char* idxName = rows ? "problem.colIdx" : "problem.cscRow";
  const char* otherCount = rows ? "nCols" : "nRows";
  using detail::str;
  switch (f.kind) {
    case kFaultNumeric:
      throw Error(ErrorCode::Numeric, std::string("ALS: the normal equations of ") + self + " " + str(f.where) +
                                          " are not positive definite (non-positive pivot at position " +
                                          str(f.value) + "); use lambda > 0");
    case kFaultPtr: {
      const long long a = job.ptr[f.where], b = job.ptr[f.where + 1];
      const bool order = a >= 0 && b <= job.nnz && b < a;
      throw Error(order ? ErrorCode::InvalidArgument : ErrorCode::IndexOutOfRange,
                  std::string(ptrName) + "[" + str(f.where) + "], [" + str(f.where + 1) + "] = " + str(a) + ", " +
                      str(b) + (order ? " decrease" : " is outside [0, nnz = " + str(job.nnz) + "]"));
    }
    case kFaultIndex:
      throw Error(ErrorCode::IndexOutOfRange, std::string(idxName) + "[" + str(f.where) + "] = " + str(f.value) +
                                                  " is outside [0, " + otherCount + " = " + str(job.nOther) + ")");
    default:
      throw Error(ErrorCode::Native, "ALS: unknown fault");
  }
}

/**
 * Solves one side over `threads` threads; returns false when cancelled. The other side's factor rows
 * are first copied (by the same threads) into a 64-byte-aligned buffer with rows padded to whole
 * cache lines: the gather then touches k*8/64 lines per entry instead of one more for every row
 * that straddles a line (typed arrays are only 8- or 16-byte aligned). Unused when `aligned` is null.
 */
/**
 * float32 models: `otherF32` / `otherB32` are the other side's arrays; the aligned copy (then
 * required) keeps the factors as floats, rows padded to 16 floats (64 bytes), which the solver
 * widens as it gathers them, and `otherB64` receives the widened biases: the row solver sums the
 * same doubles as for the float64 widening of the model, from half the bytes.
 */
bool runSide(SideJob job, bool rows, const Options& options, SolveFn fn, AlsProfile* profile, double* aligned,
             const float* otherF32 = nullptr, const float* otherB32 = nullptr, double* otherB64 = nullptr) {
  if (job.nSelf == 0) return true;
  const double t0 = nowSeconds();
  const int threads = static_cast<int>(std::min<int64_t>(options.threads, std::max<int64_t>(1, job.nSelf / 16)));
  if (aligned != nullptr) {
    const int k = job.k;
    const int64_t kp = paddedK(k);
    const double* src = job.otherF;
    const int64_t n = job.nOther;
    if (otherB32 != nullptr) {
      for (int64_t i = 0; i < n; ++i) otherB64[i] = static_cast<double>(otherB32[i]);
      job.otherB = otherB64;
    }
    // The team may be smaller than asked (the pool's size): split by what it really has.
    Team copyTeam(threads);
    const int copiers = copyTeam.size();
    const int64_t kf = paddedKf(k);
    float* aligned32 = reinterpret_cast<float*>(aligned);
    copyTeam.run([&](int tid) {
      const int64_t b = n * tid / copiers, e = n * (tid + 1) / copiers;
      for (int64_t i = b; i < e; ++i) {
        if (otherF32 != nullptr) {
          float* d = aligned32 + i * kf;
          const float* s = otherF32 + i * k;
          for (int f = 0; f < k; ++f) d[f] = s[f];
          for (int64_t f = k; f < kf; ++f) d[f] = 0.0f;
        } else {
          double* d = aligned + i * kp;
          const double* s = src + i * k;
          for (int f = 0; f < k; ++f) d[f] = s[f];
          for (int64_t f = k; f < kp; ++f) d[f] = 0.0;
        }
      }
    });
    if (otherF32 != nullptr) {
      job.otherF = nullptr;
      job.otherF32 = aligned32;
      job.otherStride = kf;
    } else {
      job.otherF = aligned;
      job.otherStride = kp;
    }
  }
  // Small chunks keep the threads balanced even when a few rows/columns hold most entries.
  const int64_t grain = std::max<int64_t>(1, std::min<int64_t>(64, job.nSelf / (threads * 512)));
  WorkQueue queue(job.nSelf, grain);
  Team team(threads);
  std::atomic<bool> aborted{false};
  std::vector<Profile> profs(static_cast<size_t>(threads));
  std::vector<Fault> faults(static_cast<size_t>(threads));
  team.run([&](int tid) {
    // (The scalar small-rank solver keeps its sums in registers: no workspace to clear.)
    double* ws = nullptr;
    if (fn != solveRangeSmall) {
      ws = threadWorkspace(job.k);
      clearWorkspace(ws, job.k);
    }
    Profile* prof = profile ? &profs[static_cast<size_t>(tid)] : nullptr;
    int64_t b, e;
    while (!team.stopped() && queue.next(b, e)) {
      if (cancelRequested(options.cancel)) {
        aborted.store(true, std::memory_order_relaxed);
        team.requestStop();
        break;
      }
      Fault f = fn(job, b, e, ws, prof);
      if (f.kind != kFaultNone) {
        faults[static_cast<size_t>(tid)] = f;
        team.requestStop();
        break;
      }
    }
  });
  // Report the fault with the smallest position, whatever thread met it first.
  const Fault* first = nullptr;
  for (const Fault& f : faults)
    if (f.kind != kFaultNone && (first == nullptr || f.where < first->where)) first = &f;
  if (first != nullptr) raiseFault(*first, job, rows);
  if (profile) {
    const double wall = nowSeconds() - t0;
    (rows ? profile->rowPassSeconds : profile->colPassSeconds) += wall;
    for (const Profile& p : profs) {
      profile->gatherSeconds += p.gatherSeconds;
      profile->gramSeconds += p.gramSeconds;
      profile->solveSeconds += p.solveSeconds;
      profile->gramFlops += p.gramFlops;
      profile->passGather[rows ? 0 : 1] += p.gatherSeconds;
      profile->passGram[rows ? 0 : 1] += p.gramSeconds;
      profile->passSolve[rows ? 0 : 1] += p.solveSeconds;
    }
  }
  return !aborted.load();
}

}  // namespace

Status alsSweep(const ProblemView& problem, const ModelView& model, const Options& options,
                const AlsTuning* tuning, AlsProfile* profile) {
  detail::checkShape(problem, model, options);
  detail::checkNonNegative(options.lambda, "options.lambda");
  detail::checkNonNegative(options.lambdaBias, "options.lambdaBias");
  detail::require(model.k <= kMaxAlsK, ErrorCode::InvalidArgument,
                  "model.k = " + detail::str(model.k) + " is too large for ALS (at most " + detail::str(kMaxAlsK) + ")");
  detail::require((problem.rowPtr && problem.colIdx && problem.value && problem.colPtr && problem.cscRow &&
                   problem.cscValue) ||
                      problem.nnz == 0,
                  ErrorCode::InvalidArgument, "problem CSR/CSC arrays missing");
  detail::require(problem.rowPtr && problem.colPtr, ErrorCode::InvalidArgument, "problem.rowPtr/colPtr missing");
  if (cancelRequested(options.cancel)) return Status::Aborted;

  const bool f32 = model.float32();
  const bool blasKnobs = tuning && (tuning->useLapack || tuning->useBlasGram);
  // Small ranks: the scalar solver, the same on every CPU (and the TS backend's bits).
  const bool small = !f32 && model.k <= kMaxSmallAlsK && !blasKnobs;
  SolveFn fn = solveRangeGeneric;
  if (small) {
    fn = solveRangeSmall;
  } else {
    switch (activeIsa()) {
      case Isa::Avx512: fn = solveRangeAvx512; break;
      case Isa::Avx2: fn = solveRangeAvx2; break;
      default: break;
    }
  }
  // Only the generic kernel (no SIMD Gram tiles) and the benchmark knobs call BLAS / LAPACK: make
  // OpenBLAS single-threaded then, and not before (see initBlas for why it is process-wide).
  if (fn == solveRangeGeneric || blasKnobs) initBlas();

  SideJob job;
  job.k = model.k;
  job.mu = model.mu;
  job.useBias = options.useBias;
  job.lambda = options.lambda;
  job.lambdaBias = options.lambdaBias;
  job.weightedLambda = options.weightedLambda;
  job.nnz = problem.nnz;
  if (tuning) {
    job.useLapack = tuning->useLapack;
    job.useBlasGram = tuning->useBlasGram;
    job.prefetch = tuning->prefetch;
  }

  job.floatGram = f32;
  // Row pass: a = [V[c], 1], t = (y - mu) - colBias[c].
  job.nSelf = problem.nRows;
  job.nOther = problem.nCols;
  job.ptr = problem.rowPtr;
  job.idx = problem.colIdx;
  job.val = problem.value;
  job.wgt = problem.weight;
  job.selfF = model.U;
  job.selfB = model.rowBias;
  job.selfF32 = model.U32;
  job.selfB32 = model.rowBias32;
  job.otherF = model.V;
  job.otherStride = model.k;
  job.otherB = model.colBias;
  // An aligned copy of the other side's factors (see runSide), sized for the larger side; float32
  // models always go through it (it is where their factors become doubles).
  double* aligned = nullptr;
  // (Not for the scalar small-rank solver: it reads k values per entry, no whole vectors.)
  const bool copy = !small && (f32 || !(tuning && !tuning->alignedCopy)) && problem.nnz > 0;
  if (copy) {
    const size_t n = static_cast<size_t>(std::max(problem.nRows, problem.nCols)) * static_cast<size_t>(paddedK(model.k));
    aligned = static_cast<double*>(threadScratch(kScratchAlsAligned, n * sizeof(double)));
  }
  // float32: the other side's biases widened to double (one value per row or column).
  std::vector<double> otherB64(f32 && problem.nnz > 0 ? static_cast<size_t>(std::max(problem.nRows, problem.nCols)) : 0);
  if (!runSide(job, true, options, fn, profile, aligned, model.V32, f32 && problem.nnz > 0 ? model.colBias32 : nullptr, otherB64.data()))
    return Status::Aborted;

  // Column pass with the U / rowBias just computed.
  job.nSelf = problem.nCols;
  job.nOther = problem.nRows;
  job.ptr = problem.colPtr;
  job.idx = problem.cscRow;
  job.val = problem.cscValue;
  job.wgt = problem.cscWeight;
  job.selfF = model.V;
  job.selfB = model.colBias;
  job.selfF32 = model.V32;
  job.selfB32 = model.colBias32;
  job.otherF = model.U;
  job.otherStride = model.k;
  job.otherB = model.rowBias;
  if (!runSide(job, false, options, fn, profile, aligned, model.U32, f32 && problem.nnz > 0 ? model.rowBias32 : nullptr, otherB64.data()))
    return Status::Aborted;
  return Status::Ok;
}

}  // namespace collabperf
