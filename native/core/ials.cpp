// Implicit ALS: the sweep driver, the Gram matrix and the loss, in plain C++ built with
// -ffp-contract=off; the row solvers are per ISA (ials_kernel.inc for CG, als_kernel.inc for the
// exact solve). The Gram matrix and the CG path follow src/backends/ts/ials.ts operation by
// operation (each sum over the same terms in the same order), so with the linear confidence they
// give the TypeScript backend's factors bit for bit. Only loops across independent sums (over f,
// i or entries, never along one reduction) are vectorised, which keeps every element's order.
#include "ials.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <cmath>
#include <string>
#include <vector>

#include "als.hpp"
#include "als_kernel.hpp"
#include "check.hpp"
#include "cpu.hpp"
#include "errors.hpp"
#include "info.hpp"
#include "threads.hpp"

namespace collabperf {

using als_detail::Fault;
using als_detail::IalsSide;
using als_detail::IalsSide32;
using als_detail::IalsSideT;
using als_detail::kFaultIndex;
using als_detail::kFaultNone;
using als_detail::kFaultNumeric;
using als_detail::kFaultPtr;
using als_detail::paddedK;

namespace {

/** Rows of the fixed side per Gram block, as ials.ts (als.ts BLOCK). */
constexpr int64_t kGramBlock = 64;

/**
 * G = F^T F (k x k, row stride kp, padding 0) with ials.ts's order: G[i][j] is the sum over blocks
 * of 64 consecutive rows of F, in order, of each block's own sum from 0.0 in row order; the upper
 * triangle is computed and mirrored. Threads split the rows i of G (each walks F once, block by
 * block); every element's arithmetic is the same whichever thread computes it. Float factors are
 * summed in double, exactly as their widened copy would be.
 */
template <typename T>
void gram(const T* F, int64_t n, int k, int threads, std::vector<double>& G) {
  const int kp = paddedK(k);
  G.assign(static_cast<size_t>(k) * kp, 0.0);
  const double work = static_cast<double>(n) * k * k;
  const int t = work < 4e6 ? 1 : std::max(1, std::min(threads, k));
  Team team(t);
  const int nt = team.size();
  team.run([&](int tid) {
    std::vector<double> s(static_cast<size_t>(k));
    double* __restrict sp = s.data();
    for (int64_t b0 = 0; b0 < n; b0 += kGramBlock) {
      const int64_t m = std::min<int64_t>(kGramBlock, n - b0);
      const T* blk = F + b0 * k;
      // Rows i paired from both ends (i and k-1-i cost k-i and i+1) for an even split.
      for (int i = 0; i < k; ++i) {
        const int lane = i % (2 * nt);
        if (lane != tid && lane != 2 * nt - 1 - tid) continue;
        for (int j = i; j < k; ++j) sp[j] = 0.0;
        for (int64_t q = 0; q < m; ++q) {
          const T* __restrict row = blk + q * k;
          const double xi = row[i];
          for (int j = i; j < k; ++j) sp[j] += xi * row[j];
        }
        double* __restrict gi = G.data() + static_cast<size_t>(i) * kp;
        for (int j = i; j < k; ++j) gi[j] += sp[j];
      }
    }
  });
  for (int i = 0; i < k; ++i)
    for (int j = i + 1; j < k; ++j) G[static_cast<size_t>(j) * kp + i] = G[static_cast<size_t>(i) * kp + j];
}

/** a . b summed in double (float values widened exactly, as their double copy would give). */
template <typename T>
inline double dot(const T* __restrict a, const T* __restrict b, int k) {
  double s = 0.0;
  for (int f = 0; f < k; ++f) s += static_cast<double>(a[f]) * b[f];
  return s;
}

[[noreturn]] void raise(const Fault& f, const int32_t* ptr, int64_t nnz, bool rows, int64_t nOther) {
  using detail::str;
  const char* self = rows ? "row" : "column";
  switch (f.kind) {
    case kFaultNumeric:
      throw Error(ErrorCode::Numeric, std::string("implicit ALS: the normal equations of ") + self + " " + str(f.where) +
                                          " are not positive definite (non-positive pivot at position " +
                                          str(f.value) + "); use lambda > 0");
    case kFaultPtr: {
      const long long a = ptr[f.where], b = ptr[f.where + 1];
      const bool order = a >= 0 && b <= nnz && b < a;
      throw Error(order ? ErrorCode::InvalidArgument : ErrorCode::IndexOutOfRange,
                  std::string(rows ? "problem.rowPtr" : "problem.colPtr") + "[" + str(f.where) + "], [" +
                      str(f.where + 1) + "] = " + str(a) + ", " + str(b) +
                      (order ? " decrease" : " is outside [0, nnz = " + str(nnz) + "]"));
    }
    case kFaultIndex:
      throw Error(ErrorCode::IndexOutOfRange, std::string(rows ? "problem.colIdx" : "problem.cscRow") + "[" +
                                                  str(f.where) + "] = " + str(f.value) + " is outside [0, " +
                                                  (rows ? "nCols" : "nRows") + " = " + str(nOther) + ")");
    default:
      throw Error(ErrorCode::Native, "implicit ALS: unknown fault");
  }
}

typedef Fault (*ExactFn)(const IalsSide&, int64_t, int64_t, double*);
typedef Fault (*CgFn)(const IalsSide&, int, int64_t, int64_t, double*);
typedef Fault (*Cg32Fn)(const IalsSide32&, int, int64_t, int64_t, double*);

/** The active ISA's double solver (CG or exact); every ISA's CG gives the same bits (no FMA, the same sums). */
std::function<Fault(const IalsSide&, int64_t, int64_t, double*)> solverFor(const Options& o) {
  ExactFn exact = als_detail::ialsExactGeneric;
  CgFn cg = als_detail::ialsCgGeneric;
  switch (activeIsa()) {
    case Isa::Avx512:
      exact = als_detail::ialsExactAvx512;
      cg = als_detail::ialsCgAvx512;
      break;
    case Isa::Avx2:
      exact = als_detail::ialsExactAvx2;
      cg = als_detail::ialsCgAvx2;
      break;
    default:
      if (!o.implicit.cg) initBlas();  // the generic exact solver's Gram step is dgemm
      break;
  }
  const int steps = o.implicit.cgSteps;
  if (o.implicit.cg) return [cg, steps](const IalsSide& s, int64_t b, int64_t e, double* ws) { return cg(s, steps, b, e, ws); };
  return exact;
}

/** The active ISA's float-arithmetic CG. */
std::function<Fault(const IalsSide32&, int64_t, int64_t, double*)> solverFor32(const Options& o) {
  Cg32Fn cg = als_detail::ialsCg32Generic;
  if (activeIsa() == Isa::Avx512) cg = als_detail::ialsCg32Avx512;
  if (activeIsa() == Isa::Avx2) cg = als_detail::ialsCg32Avx2;
  const int steps = o.implicit.cgSteps;
  return [cg, steps](const IalsSide32& s, int64_t b, int64_t e, double* ws) { return cg(s, steps, b, e, ws); };
}

/** G of the fixed side in the solver's type (a float solver gets the double sums rounded once). */
void gramFor(const double* F, const IalsSide& s, int threads, std::vector<double>& G64, std::vector<double>& G) {
  (void)G64;
  gram(F, s.nOther, s.k, threads, G);
}
void gramFor(const float* F, const IalsSide32& s, int threads, std::vector<double>& G64, std::vector<float>& G) {
  gram(F, s.nOther, s.k, threads, G64);
  G.assign(G64.begin(), G64.end());
}

/** One side: G of the fixed factors, then the rows in small chunks on a team; false when cancelled. */
template <typename T, class Solve>
bool runSide(IalsSideT<T> s, bool rows, const Options& o, const Solve& solve) {
  if (s.nSelf == 0) return true;
  std::vector<double> G64;
  std::vector<T> G;
  gramFor(s.otherF, s, o.threads, G64, G);
  s.G = G.data();
  if (cancelRequested(o.cancel)) return false;
  const int threads = static_cast<int>(std::min<int64_t>(o.threads, std::max<int64_t>(1, s.nSelf / 16)));
  const int64_t grain = std::max<int64_t>(1, std::min<int64_t>(64, s.nSelf / (threads * 512)));
  WorkQueue queue(s.nSelf, grain);
  Team team(threads);
  std::atomic<bool> aborted{false};
  std::vector<Fault> faults(static_cast<size_t>(team.size()));
  const int k = s.k;
  team.run([&](int tid) {
    double* ws = o.implicit.cg
                     ? static_cast<double*>(threadScratch(kScratchIals, als_detail::cgWorkspaceBytes(k, sizeof(T) == 4)))
                     : static_cast<double*>(threadScratch(kScratchAlsWorkspace, als_detail::workspaceDoubles(k) * sizeof(double)));
    if (!o.implicit.cg) als_detail::clearWorkspace(ws, k);
    int64_t b, e;
    while (!team.stopped() && queue.next(b, e)) {
      if (cancelRequested(o.cancel)) {
        aborted.store(true, std::memory_order_relaxed);
        team.requestStop();
        break;
      }
      const Fault f = solve(s, b, e, ws);
      if (f.kind != kFaultNone) {
        faults[static_cast<size_t>(tid)] = f;
        team.requestStop();
        break;
      }
    }
  });
  const Fault* first = nullptr;
  for (const Fault& f : faults)
    if (f.kind != kFaultNone && (first == nullptr || f.where < first->where)) first = &f;
  if (first != nullptr) raise(*first, s.ptr, s.nnz, rows, s.nOther);
  return !aborted.load();
}

void checkImplicit(const ImplicitOptions& o) {
  detail::checkNonNegative(o.alpha, "options.implicit.alpha");
  if (o.logConfidence) {
    detail::require(std::isfinite(o.epsilon), ErrorCode::NonFinite, "options.implicit.epsilon must be finite");
    detail::require(o.epsilon > 0.0, ErrorCode::InvalidArgument, "options.implicit.epsilon must be > 0");
  }
  detail::require(o.cgSteps >= 1 || !o.cg, ErrorCode::InvalidArgument, "options.implicit.cgSteps must be an integer >= 1");
}

void checkProblem(const ProblemView& p, const ModelView& m, const Options& o) {
  detail::checkShape(p, m, o);
  detail::checkNonNegative(o.lambda, "options.lambda");
  detail::require(m.k <= kMaxAlsK, ErrorCode::InvalidArgument,
                  "model.k = " + detail::str(m.k) + " is too large for ALS (at most " + detail::str(kMaxAlsK) + ")");
  detail::require((p.rowPtr && p.colIdx && p.value && p.colPtr && p.cscRow && p.cscValue) || p.nnz == 0,
                  ErrorCode::InvalidArgument, "problem CSR/CSC arrays missing");
  detail::require(p.rowPtr && p.colPtr, ErrorCode::InvalidArgument, "problem.rowPtr/colPtr missing");
  checkImplicit(o.implicit);
}

}  // namespace

void implicitConfidences(const ProblemView& p, const ImplicitOptions& o, Confidences& out) {
  checkImplicit(o);
  out.csr.clear();
  out.csc.clear();
  if (!o.logConfidence || p.nnz == 0) return;
  // ials.ts confidenceOf: 1 + alpha * log(1 + r / epsilon); entries with r <= 0 are never read.
  auto fill = [&](const double* v, std::vector<double>& c) {
    c.resize(static_cast<size_t>(p.nnz));
    for (int64_t e = 0; e < p.nnz; ++e) c[static_cast<size_t>(e)] = v[e] > 0.0 ? 1.0 + o.alpha * std::log(1.0 + v[e] / o.epsilon) : 1.0;
  };
  fill(p.value, out.csr);
  fill(p.cscValue, out.csc);
}

namespace {

/** Widens n float32 values into `out` (exact). */
void widen(const float* src, size_t n, std::vector<double>& out) {
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(src[i]);
}

/** Rounds `d` to float32 into `dst` and writes the rounded value back, so later reads see what is stored. */
void roundStore(std::vector<double>& d, float* dst) {
  for (size_t i = 0; i < d.size(); ++i) {
    dst[i] = static_cast<float>(d[i]);
    d[i] = static_cast<double>(dst[i]);
  }
}

/** The row side (rows solved against fixed V) or the column side of a sweep over U and V. */
template <typename T>
IalsSideT<T> sideOf(const ProblemView& p, int k, const Options& o, const Confidences& conf, bool rows, T* U, T* V) {
  IalsSideT<T> s;
  s.k = k;
  s.nnz = p.nnz;
  s.alpha = o.implicit.alpha;
  s.lambda = o.lambda;
  s.weightedLambda = o.weightedLambda;
  s.otherStride = k;
  s.nSelf = rows ? p.nRows : p.nCols;
  s.nOther = rows ? p.nCols : p.nRows;
  s.ptr = rows ? p.rowPtr : p.colPtr;
  s.idx = rows ? p.colIdx : p.cscRow;
  s.val = rows ? p.value : p.cscValue;
  s.conf = rows ? conf.rows() : conf.cols();
  s.selfF = rows ? U : V;
  s.otherF = rows ? V : U;
  return s;
}

/**
 * The double sweep; with `roundU` (float32 models) the row pass's U is rounded to float32 before
 * the column pass builds its Gram matrix from it, as ials.ts does when U is a Float32Array.
 */
Status sweep64(const ProblemView& p, const ModelView& m, const Options& o, const Confidences& conf,
               std::vector<double>* roundU, float* U32) {
  const auto solve = solverFor(o);
  if (!runSide(sideOf(p, m.k, o, conf, true, m.U, m.V), true, o, solve)) return Status::Aborted;
  if (roundU != nullptr) roundStore(*roundU, U32);
  if (!runSide(sideOf(p, m.k, o, conf, false, m.U, m.V), false, o, solve)) return Status::Aborted;
  return Status::Ok;
}

/** The float-arithmetic CG sweep of a float32 model, on its own factors. */
Status sweep32(const ProblemView& p, const ModelView& m, const Options& o, const Confidences& conf) {
  const auto solve = solverFor32(o);
  if (!runSide(sideOf(p, m.k, o, conf, true, m.U32, m.V32), true, o, solve)) return Status::Aborted;
  if (!runSide(sideOf(p, m.k, o, conf, false, m.U32, m.V32), false, o, solve)) return Status::Aborted;
  return Status::Ok;
}

/**
 * The objective of factors U, V of type T, summed in double: float factors give the bits of their
 * widened copy without making one.
 */
template <typename T>
void lossOf(const ProblemView& p, int k, const T* U, const T* V, const Options& o, LossSums& out, const Confidences& conf) {
  const int kp = paddedK(k);
  std::vector<double> G;
  gram(V, p.nCols, k, o.threads, G);
  const int64_t nR = p.nRows;
  // Per row: x^T G x (quad), the observed cells' correction (obs) and extra confidence (extra).
  std::vector<double> quad(static_cast<size_t>(nR)), obs(static_cast<size_t>(nR)), extra(static_cast<size_t>(nR));
  const int threads = static_cast<int>(std::min<int64_t>(o.threads, std::max<int64_t>(1, nR / 64)));
  WorkQueue queue(nR, 64);
  Team team(threads);
  const uint32_t nCols = static_cast<uint32_t>(p.nCols);
  const double* cr = conf.rows();
  team.run([&](int) {
    std::vector<double> tv(static_cast<size_t>(k));
    double* __restrict t = tv.data();
    int64_t b, e;
    while (!team.stopped() && queue.next(b, e)) {
      for (int64_t r = b; r < e; ++r) {
        const T* __restrict u = U + r * k;
        // t_i = sum_j G[i][j] u_j, j ascending, as G[j][i] u_j across i (the same products: G is
        // mirrored), so the loop over i vectorises without reordering any sum.
        for (int i = 0; i < k; ++i) t[i] = 0.0;
        for (int j = 0; j < k; ++j) {
          const double* __restrict gj = G.data() + static_cast<size_t>(j) * kp;
          const double uj = u[j];
          for (int i = 0; i < k; ++i) t[i] += gj[i] * uj;
        }
        double q = 0.0;
        for (int i = 0; i < k; ++i) q += u[i] * t[i];
        quad[static_cast<size_t>(r)] = q;
        const int64_t lo = p.rowPtr[r], hi = p.rowPtr[r + 1];
        if (lo < 0 || hi < lo || hi > p.nnz)
          throw Error(ErrorCode::IndexOutOfRange, "problem.rowPtr[" + detail::str(r) + "], [" + detail::str(r + 1) +
                                                      "] = " + detail::str(lo) + ", " + detail::str(hi) +
                                                      " is not a range inside [0, nnz = " + detail::str(p.nnz) + "]");
        double ob = 0.0, ex = 0.0;
        auto column = [&](int64_t en) -> int64_t {
          const int32_t c = p.colIdx[en];
          if (static_cast<uint32_t>(c) >= nCols)
            throw Error(ErrorCode::IndexOutOfRange, "problem.colIdx[" + detail::str(en) + "] = " + detail::str(c) +
                                                        " is outside [0, nCols = " + detail::str(p.nCols) + ")");
          return c;
        };
        auto add = [&](int64_t en, double d) {
          const double v = p.value[en];
          if (!(v > 0.0)) return;
          const double cf = cr ? cr[en] : 1.0 + o.implicit.alpha * v;
          const double err = 1.0 - d;
          ob += cf * (err * err) - d * d;
          ex += cf - 1.0;
        };
        // Four entries' dot products side by side (each over f ascending, as one alone would be).
        int64_t en = lo;
        for (; en + 4 <= hi; en += 4) {
          const T* v0 = V + column(en) * k;
          const T* v1 = V + column(en + 1) * k;
          const T* v2 = V + column(en + 2) * k;
          const T* v3 = V + column(en + 3) * k;
          double d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
          for (int f = 0; f < k; ++f) {
            const double uf = u[f];
            d0 += uf * v0[f];
            d1 += uf * v1[f];
            d2 += uf * v2[f];
            d3 += uf * v3[f];
          }
          add(en, d0);
          add(en + 1, d1);
          add(en + 2, d2);
          add(en + 3, d3);
        }
        for (; en < hi; ++en) add(en, dot(u, V + column(en) * k, k));
        obs[static_cast<size_t>(r)] = ob;
        extra[static_cast<size_t>(r)] = ex;
      }
    }
  });
  // ials.ts adds x^T G x in chunks of rows, each summed from 0.0: the same chunks give the same bits.
  const int64_t rowChunk = std::max<int64_t>(16, static_cast<int64_t>(std::floor(1048576.0 / (static_cast<double>(k) * k + 1))));
  double all = 0.0, ob = 0.0, ex = 0.0;
  for (int64_t r0 = 0; r0 < nR; r0 += rowChunk) {
    double sc = 0.0;
    for (int64_t r = r0; r < std::min(nR, r0 + rowChunk); ++r) sc += quad[static_cast<size_t>(r)];
    all += sc;
  }
  for (int64_t r = 0; r < nR; ++r) {
    ob += obs[static_cast<size_t>(r)];
    ex += extra[static_cast<size_t>(r)];
  }
  auto l2 = [&](const T* F, int64_t n, const int32_t* ptr) {
    double s = 0.0;
    for (int64_t r = 0; r < n; ++r) {
      double t = 0.0;
      for (int f = 0; f < k; ++f) {
        const double x = F[r * k + f];
        t += x * x;
      }
      s += o.weightedLambda ? static_cast<double>(ptr[r + 1] - ptr[r]) * t : t;
    }
    return s;
  };
  // Mathematically >= 0; the Gram-trick subtraction can round a near-perfect fit below it.
  out.sse = std::max(0.0, all + ob);
  out.wsum = static_cast<double>(p.nRows) * static_cast<double>(p.nCols) + ex;
  out.objective = out.sse + o.lambda * (l2(U, p.nRows, p.rowPtr) + l2(V, p.nCols, p.colPtr));
}

/** A float64 view of a float32 model: its factors widened into U and V. */
ModelView widened(const ProblemView& p, const ModelView& m, std::vector<double>& U, std::vector<double>& V) {
  const size_t k = static_cast<size_t>(m.k);
  widen(m.U32, static_cast<size_t>(p.nRows) * k, U);
  widen(m.V32, static_cast<size_t>(p.nCols) * k, V);
  ModelView md;
  md.k = m.k;
  md.U = U.data();
  md.V = V.data();
  return md;
}

}  // namespace

// float32 models (docs/kernels.md "float32 factors"): the CG solver runs in float arithmetic on
// the float factors (half the bytes per gathered row, twice the lanes). The exact solver widens the
// factors to double, runs the float64 solver unchanged and rounds every stored value to float32;
// the TypeScript backend does that for both solvers, so the exact path gives its bits and the CG
// path agrees with it to float rounding (a stated tolerance, test/backends/ials-float32.test.ts).
Status ialsSweep(const ProblemView& p, const ModelView& m, const Options& o, const Confidences& conf) {
  checkProblem(p, m, o);
  if (cancelRequested(o.cancel)) return Status::Aborted;
  if (!m.float32()) return sweep64(p, m, o, conf, nullptr, nullptr);
  if (o.implicit.cg) return sweep32(p, m, o, conf);
  std::vector<double> U, V;
  const ModelView md = widened(p, m, U, V);
  const Status st = sweep64(p, md, o, conf, &U, m.U32);
  // Cancelled: U may be half-solved, V untouched; store what was computed, as the float64 path leaves it.
  if (st != Status::Ok) {
    roundStore(U, m.U32);
    return st;
  }
  roundStore(V, m.V32);
  return st;
}

void implicitLoss(const ProblemView& p, const ModelView& m, const Options& o, const Confidences& conf, LossSums& out) {
  checkProblem(p, m, o);
  if (m.float32()) return lossOf(p, m.k, m.U32, m.V32, o, out, conf);
  lossOf(p, m.k, m.U, m.V, o, out, conf);
}

}  // namespace collabperf
