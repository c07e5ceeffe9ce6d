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
/**
 * Multiply-adds per thread below which a search stays on the calling thread: waking a pool worker
 * costs more than a small table's whole search (crowdsource's 72 models x 29 tasks), and those
 * searches come by the hundred in a `predict`.
 */
constexpr double kWorkPerThread = 1 << 20;

/** The team of a search of `work` multiply-adds in `chunks` chunks. */
int teamSize(int threads, double work, int64_t chunks) {
  const double byWork = std::max(1.0, std::floor(work / kWorkPerThread));
  return static_cast<int>(std::min<double>({static_cast<double>(threads), byWork, static_cast<double>(std::max<int64_t>(1, chunks))}));
}

/**
 * Runs perQuery(q, scratch) for q in [0, nQuery): chunks of kQueriesPerChunk queries handed to a
 * team sized by the work, each thread with its own scratch from makeScratch().
 */
template <class MakeScratch, class PerQuery>
void forEachQuery(int64_t nQuery, int threads, double work, MakeScratch makeScratch, PerQuery perQuery) {
  const int64_t nChunks = (nQuery + kQueriesPerChunk - 1) / kQueriesPerChunk;
  WorkQueue queue(nChunks, 1);
  Team team(teamSize(threads, work, nChunks));
  team.run([&](int) {
    auto scratch = makeScratch();
    int64_t b, e;
    while (!team.stopped() && queue.next(b, e))
      for (int64_t q = b * kQueriesPerChunk; q < std::min(nQuery, e * kQueriesPerChunk); ++q) perQuery(q, scratch);
  });
}

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

struct DistanceScratch {
  std::vector<double> ss, sh;
  std::vector<std::pair<double, int32_t>> finite;
};

/** Query q's L nearest finite (distance, position) pairs, ascending, into the job's outputs. */
void nearestOf(const NeighbourJob& job, int64_t q, DistanceScratch& s) {
  const int64_t A = job.nCand;
  const int64_t L = job.L;
  distances(job, q, s.ss.data(), s.sh.data());
  s.finite.clear();
  for (int64_t i = 0; i < A; ++i)
    if (s.ss[i] < std::numeric_limits<double>::infinity()) s.finite.emplace_back(s.ss[i], static_cast<int32_t>(i));
  const int64_t n = std::min<int64_t>(L, static_cast<int64_t>(s.finite.size()));
  // (distance, position) is a strict order: the L smallest, ascending, are unique.
  std::partial_sort(s.finite.begin(), s.finite.begin() + n, s.finite.end());
  for (int64_t p = 0; p < n; ++p) {
    job.outDist[q * L + p] = s.finite[static_cast<size_t>(p)].first;
    job.outIdx[q * L + p] = s.finite[static_cast<size_t>(p)].second;
  }
  job.outCount[q] = static_cast<int32_t>(n);
  job.outFinite[q] = static_cast<int32_t>(s.finite.size());
}

struct SimilarityScratch {
  std::vector<double> sim, qr, qm;
  std::vector<int32_t> overlap, positive;
  int64_t np = 0;
};

/** Cosine similarities of query q with every candidate over shared columns (src/backends/ts/neighbours.ts). */
void similarities(const SimilarityJob& job, int64_t q, SimilarityScratch& s) {
  const int T = job.nCols;
  for (int t = 0; t < T; ++t) {
    const double a = job.rows[q * T + t];
    s.qr[t] = a == a ? a : 0.0;
    s.qm[t] = a == a ? 1.0 : 0.0;
  }
  s.np = 0;
  for (int64_t i = 0; i < job.nCand; ++i) {
    double dot = 0.0, qq = 0.0, jj = 0.0, n = 0.0;
    const double* cr = job.resid + i * T;
    const double* cm = job.mask + i * T;
    for (int t = 0; t < T; ++t) {
      const double a = s.qr[t], b = cr[t], mb = cm[t];
      dot += a * b;
      qq += a * a * mb;
      jj += b * b * s.qm[t];
      n += s.qm[t] * mb;
    }
    s.overlap[i] = static_cast<int32_t>(n);
    s.sim[i] = (i == job.self[q] || n < job.minOverlap || !(qq > 0.0 && jj > 0.0)) ? 0.0 : dot / std::sqrt(qq * jj);
    if (s.sim[i] > 0.0) s.positive[s.np++] = static_cast<int32_t>(i);
  }
}

/** The best (at most kMax) positive candidates having column t under shrinkage beta; returns how many. */
int64_t topNeighbours(const SimilarityJob& job, const SimilarityScratch& s, int t, double beta, int32_t* idx, double* w) {
  const int64_t K = job.kMax;
  int64_t k = 0;
  for (int64_t j = 0; j < s.np; ++j) {
    const int32_t i = s.positive[j];
    if (job.mask[static_cast<int64_t>(i) * job.nCols + t] == 0.0) continue;
    const double nn = static_cast<double>(s.overlap[i]);
    const double v = (s.sim[i] * nn) / (nn + beta);
    if (k == K && v <= w[k - 1]) continue;
    int64_t p = k < K ? k++ : k - 1;
    while (p > 0 && w[p - 1] < v) {
      w[p] = w[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
    w[p] = v;
    idx[p] = i;
  }
  return k;
}

void checkSimilarityJob(const SimilarityJob& job) {
  using detail::str;
  detail::require(job.kMax >= 1, ErrorCode::InvalidArgument, "neighbourWeights: kMax must be >= 1");
  detail::require(job.cellPtr[0] == 0 && job.cellPtr[job.nQuery] == job.nCells, ErrorCode::InvalidArgument,
                  "neighbourWeights: cellPtr must run from 0 to the number of cells");
  for (int64_t q = 0; q < job.nQuery; ++q) {
    detail::require(job.self[q] >= -1 && job.self[q] < job.nCand, ErrorCode::IndexOutOfRange,
                    "neighbourWeights: self[" + str(q) + "] = " + str(job.self[q]) + " is outside [-1, " +
                        str(job.nCand) + ")");
    detail::require(job.cellPtr[q + 1] >= job.cellPtr[q], ErrorCode::InvalidArgument,
                    "neighbourWeights: cellPtr[" + str(q) + "], [" + str(q + 1) + "] decrease");
  }
  for (int64_t c = 0; c < job.nCells; ++c)
    detail::require(job.cellTask[c] >= 0 && job.cellTask[c] < job.nCols, ErrorCode::IndexOutOfRange,
                    "neighbourWeights: cellTask[" + str(c) + "] = " + str(job.cellTask[c]) + " is outside [0, " +
                        str(job.nCols) + ")");
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
  const size_t A = static_cast<size_t>(job.nCand);
  forEachQuery(
      job.nQuery, job.threads, static_cast<double>(job.nQuery) * job.nCand * job.nCols,
      [A] {
        DistanceScratch s{std::vector<double>(A), std::vector<double>(A), {}};
        s.finite.reserve(A);
        return s;
      },
      [&](int64_t q, DistanceScratch& s) { nearestOf(job, q, s); });
}

void neighbourWeights(const SimilarityJob& job) {
  checkSimilarityJob(job);
  const size_t C = static_cast<size_t>(job.nCand), T = static_cast<size_t>(job.nCols);
  const int64_t K = job.kMax;
  forEachQuery(
      job.nQuery, job.threads, static_cast<double>(job.nQuery) * job.nCand * job.nCols,
      [C, T] {
        return SimilarityScratch{std::vector<double>(C), std::vector<double>(T), std::vector<double>(T),
                                 std::vector<int32_t>(C), std::vector<int32_t>(C), 0};
      },
      [&](int64_t q, SimilarityScratch& s) {
        // Read once and checked again here: the arrays are read in place, and a SharedArrayBuffer
        // can change under the call (the checks above only make a well-formed call's errors clear).
        const int64_t c0 = job.cellPtr[q], c1 = job.cellPtr[q + 1];
        detail::require(c0 >= 0 && c0 <= c1 && c1 <= job.nCells, ErrorCode::InvalidArgument,
                        "neighbourWeights: cellPtr changed during the call");
        if (c1 == c0) return;
        similarities(job, q, s);
        for (int64_t c = c0; c < c1; ++c) {
          const int t = job.cellTask[c];
          detail::require(t >= 0 && t < job.nCols, ErrorCode::IndexOutOfRange, "neighbourWeights: cellTask changed during the call");
          for (int32_t bi = 0; bi < job.nBetas; ++bi) {
            const int64_t slot = c * job.nBetas + bi;
            job.outFound[slot] = static_cast<int32_t>(topNeighbours(job, s, t, job.betas[bi], job.outIdx + slot * K, job.outW + slot * K));
          }
        }
      });
}

}  // namespace collabperf
