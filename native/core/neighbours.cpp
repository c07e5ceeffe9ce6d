#include "neighbours.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "errors.hpp"
#include "threads.hpp"

namespace collabperf {

namespace {

constexpr int64_t kQueriesPerChunk = 8;

/** One query's distances into ss (sums, then distances) using sh (shared-column counts). */
void distances(const NeighbourJob& job, int64_t q, double* ss, double* sh) {
  const int64_t A = job.nCand;
  const double* row = job.query + q * job.nCols;
  std::fill(ss, ss + A, 0.0);
  std::fill(sh, sh + A, 0.0);
  for (int t = 0; t < job.nCols; ++t) {
    const double a = row[t];
    if (a != a) continue;
    const double* z = job.zt + static_cast<int64_t>(t) * A;
    const double* w = job.wt + static_cast<int64_t>(t) * A;
    // Independent per candidate: the compiler's lanes keep every candidate's own order of sums.
    for (int64_t i = 0; i < A; ++i) {
      const double d = a - z[i];
      ss[i] += w[i] * (d * d);
      sh[i] += w[i];
    }
  }
  const double need = static_cast<double>(job.need[q]);
  const int64_t self = job.self[q];
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < A; ++i) ss[i] = (i == self || sh[i] < need) ? inf : ss[i] / sh[i];
}

}  // namespace

void nearestRows(const NeighbourJob& job) {
  detail::require(job.L >= 1, ErrorCode::InvalidArgument, "nearestRows: L must be >= 1");
  for (int64_t q = 0; q < job.nQuery; ++q) {
    const int32_t s = job.self[q];
    detail::require(s >= -1 && s < job.nCand, ErrorCode::IndexOutOfRange,
                    "nearestRows: self[" + detail::str(q) + "] = " + detail::str(s) + " is outside [-1, " +
                        detail::str(job.nCand) + ")");
  }
  const int64_t A = job.nCand;
  const int64_t L = job.L;
  const int64_t nChunks = (job.nQuery + kQueriesPerChunk - 1) / kQueriesPerChunk;
  WorkQueue queue(nChunks, 1);
  Team team(static_cast<int>(std::min<int64_t>(job.threads, std::max<int64_t>(1, nChunks))));
  team.run([&](int) {
    std::vector<double> ss(static_cast<size_t>(A)), sh(static_cast<size_t>(A));
    std::vector<std::pair<double, int32_t>> finite;
    finite.reserve(static_cast<size_t>(A));
    int64_t b, e;
    while (!team.stopped() && queue.next(b, e)) {
      for (int64_t q = b * kQueriesPerChunk; q < std::min(job.nQuery, e * kQueriesPerChunk); ++q) {
        distances(job, q, ss.data(), sh.data());
        finite.clear();
        for (int64_t i = 0; i < A; ++i)
          if (ss[i] < std::numeric_limits<double>::infinity()) finite.emplace_back(ss[i], static_cast<int32_t>(i));
        const int64_t n = std::min<int64_t>(L, static_cast<int64_t>(finite.size()));
        // (distance, position) is a strict order: the L smallest, ascending, are unique.
        std::partial_sort(finite.begin(), finite.begin() + n, finite.end());
        for (int64_t p = 0; p < n; ++p) {
          job.outDist[q * L + p] = finite[static_cast<size_t>(p)].first;
          job.outIdx[q * L + p] = finite[static_cast<size_t>(p)].second;
        }
        job.outCount[q] = static_cast<int32_t>(n);
        job.outFinite[q] = static_cast<int32_t>(finite.size());
      }
    }
  });
}

}  // namespace collabperf
