#include "loss.hpp"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "check.hpp"
#include "errors.hpp"
#include "threads.hpp"

namespace collabperf {

namespace {
constexpr int64_t kRowsPerChunk = 2048;  // fixed, so the sum order does not depend on the threads

/** Adds row r's entries to (sse, wsum); T is the storage of the factors (sums in double either way). */
template <class T>
void lossRow(const ProblemView& p, const ModelView& m, const T* U, const T* V, const T* rowBias, const T* colBias,
             int64_t r, int64_t lo, int64_t hi, uint32_t nCols, double& sse, double& wsum) {
  // Four entries at a time: four independent dot products, each summed in f order exactly
  // as predict() does, so every term is bit-identical to the one-by-one evaluation.
  const int k = m.k;
  const T* u = U + r * k;
  const double base = m.mu + static_cast<double>(rowBias[r]);
  auto column = [&](int64_t e) -> int64_t {
    const int32_t c = p.colIdx[e];
    if (static_cast<uint32_t>(c) >= nCols)
      throw Error(ErrorCode::IndexOutOfRange, "problem.colIdx[" + detail::str(e) + "] = " + detail::str(c) +
                                                  " is outside [0, nCols = " + detail::str(p.nCols) + ")");
    return c;
  };
  auto add = [&](int64_t e, int64_t c, double dot) {
    const double w = p.weight ? p.weight[e] : 1;
    const double err = p.value[e] - ((base + static_cast<double>(colBias[c])) + dot);
    sse += w * (err * err);
    wsum += w;
  };
  int64_t e = lo;
  for (; e + 4 <= hi; e += 4) {
    const int64_t c0 = column(e), c1 = column(e + 1), c2 = column(e + 2), c3 = column(e + 3);
    const T* v0 = V + c0 * k;
    const T* v1 = V + c1 * k;
    const T* v2 = V + c2 * k;
    const T* v3 = V + c3 * k;
    double d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
    for (int f = 0; f < k; ++f) {
      const double uf = static_cast<double>(u[f]);
      d0 += uf * static_cast<double>(v0[f]);
      d1 += uf * static_cast<double>(v1[f]);
      d2 += uf * static_cast<double>(v2[f]);
      d3 += uf * static_cast<double>(v3[f]);
    }
    add(e, c0, d0);
    add(e + 1, c1, d1);
    add(e + 2, c2, d2);
    add(e + 3, c3, d3);
  }
  for (; e < hi; ++e) {
    const int64_t c = column(e);
    const T* v = V + c * k;
    double d = 0.0;
    for (int f = 0; f < k; ++f) d += static_cast<double>(u[f]) * static_cast<double>(v[f]);
    add(e, c, d);
  }
}
}  // namespace

Status trainLoss(const ProblemView& p, const ModelView& m, const Options& o, LossSums& out) {
  detail::checkShape(p, m, o);
  detail::require(p.rowPtr != nullptr && ((p.colIdx && p.value) || p.nnz == 0), ErrorCode::InvalidArgument,
                  "problem CSR arrays missing");
  out = LossSums();
  const int64_t nChunks = (static_cast<int64_t>(p.nRows) + kRowsPerChunk - 1) / kRowsPerChunk;
  std::vector<LossSums> partial(static_cast<size_t>(nChunks));
  std::vector<char> done(static_cast<size_t>(nChunks), 0);
  const int threads = static_cast<int>(std::min<int64_t>(o.threads, std::max<int64_t>(1, nChunks)));
  WorkQueue queue(nChunks, 1);
  Team team(threads);
  const uint32_t nCols = static_cast<uint32_t>(p.nCols);
  team.run([&](int) {
    int64_t cb, ce;
    while (!team.stopped() && queue.next(cb, ce)) {
      const int64_t r0 = cb * kRowsPerChunk;
      const int64_t r1 = std::min<int64_t>(p.nRows, r0 + kRowsPerChunk);
      double sse = 0.0, wsum = 0.0;
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t lo = p.rowPtr[r], hi = p.rowPtr[r + 1];
        if (lo < 0 || hi < lo || hi > p.nnz)
          throw Error(ErrorCode::IndexOutOfRange, "problem.rowPtr[" + detail::str(r) + "], [" +
                                                      detail::str(r + 1) + "] = " + detail::str(lo) + ", " +
                                                      detail::str(hi) + " is not a range inside [0, nnz = " +
                                                      detail::str(p.nnz) + "]");
        if (m.float32()) lossRow(p, m, m.U32, m.V32, m.rowBias32, m.colBias32, r, lo, hi, nCols, sse, wsum);
        else lossRow(p, m, m.U, m.V, m.rowBias, m.colBias, r, lo, hi, nCols, sse, wsum);
      }
      partial[static_cast<size_t>(cb)] = LossSums{sse, wsum};
      done[static_cast<size_t>(cb)] = 1;
    }
  });
  for (int64_t i = 0; i < nChunks; ++i) {
    if (!done[static_cast<size_t>(i)]) continue;
    out.sse += partial[static_cast<size_t>(i)].sse;
    out.wsum += partial[static_cast<size_t>(i)].wsum;
  }
  return Status::Ok;
}

}  // namespace collabperf
