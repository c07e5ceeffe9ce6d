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
}

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
        for (int64_t e = lo; e < hi; ++e) {
          const int32_t c = p.colIdx[e];
          if (static_cast<uint32_t>(c) >= nCols)
            throw Error(ErrorCode::IndexOutOfRange, "problem.colIdx[" + detail::str(e) + "] = " + detail::str(c) +
                                                        " is outside [0, nCols = " + detail::str(p.nCols) + ")");
          const double w = p.weight ? p.weight[e] : 1;
          const double err = p.value[e] - predict(m, r, c);
          sse += w * (err * err);
          wsum += w;
        }
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
