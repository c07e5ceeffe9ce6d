#include "recommend.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "check.hpp"
#include "errors.hpp"
#include "threads.hpp"

namespace collabperf {

namespace {

// V is repacked into panels of kPanel columns, f-major inside a panel, so that one u[f] meets
// kPanel columns in adjacent memory: the compiler vectorises the lanes, and each lane is still its
// own dot product summed in f order (no reassociation), so every score keeps the scalar bits.
constexpr int kPanel = 8;
constexpr int kRowBlock = 4;  // query rows sharing one pass over the panels
constexpr int64_t kRowsPerChunk = 16;

/** The TypeScript TopN (model.ts) step for step, including its handling of NaN. */
struct TopN {
  int32_t* idx;
  double* score;
  int32_t n;
  int32_t len = 0;
  void offer(int32_t i, double s) {
    if (len == n && !(s > score[n - 1])) return;
    int32_t p = len == n ? n - 1 : len;
    while (p > 0 && s > score[p - 1]) {
      if (p < n) {
        idx[p] = idx[p - 1];
        score[p] = score[p - 1];
      }
      p--;
    }
    idx[p] = i;
    score[p] = s;
    if (len < n) len++;
  }
};

template <class T>
void run(const ModelView& m, const T* U, const T* V, const T* rowBias, const T* colBias, const RecommendJob& job) {
  const int k = m.k;
  const int32_t nCols = job.nCols;
  const int64_t nPanels = (static_cast<int64_t>(nCols) + kPanel - 1) / kPanel;
  std::vector<double> panels(static_cast<size_t>(nPanels) * k * kPanel, 0.0);
  for (int64_t c = 0; c < nCols; ++c) {
    double* dst = panels.data() + (c / kPanel) * k * kPanel + (c % kPanel);
    const T* v = V + c * k;
    for (int f = 0; f < k; ++f) dst[f * kPanel] = static_cast<double>(v[f]);
  }
  const int64_t nChunks = (job.nQuery + kRowsPerChunk - 1) / kRowsPerChunk;
  WorkQueue queue(nChunks, 1);
  Team team(static_cast<int>(std::min<int64_t>(job.threads, std::max<int64_t>(1, nChunks))));
  team.run([&](int) {
    std::vector<double> scores(static_cast<size_t>(kRowBlock) * nPanels * kPanel);
    std::vector<uint8_t> skip(static_cast<size_t>(nCols), 0);
    std::vector<double> u(static_cast<size_t>(kRowBlock) * k);
    int64_t cb, ce;
    while (!team.stopped() && queue.next(cb, ce)) {
      const int64_t q1 = std::min<int64_t>(job.nQuery, (cb + 1) * kRowsPerChunk);
      for (int64_t q0 = cb * kRowsPerChunk; q0 < q1; q0 += kRowBlock) {
        const int nb = static_cast<int>(std::min<int64_t>(kRowBlock, q1 - q0));
        int32_t r[kRowBlock];
        for (int b = 0; b < kRowBlock; ++b) {
          r[b] = job.rows[q0 + std::min(b, nb - 1)];
          if (static_cast<uint32_t>(r[b]) >= static_cast<uint32_t>(job.nRows))
            throw Error(ErrorCode::IndexOutOfRange, "rows[" + detail::str(q0 + b) + "] = " + detail::str(r[b]) +
                                                        " is outside [0, nRows = " + detail::str(job.nRows) + ")");
          for (int f = 0; f < k; ++f) u[b * k + f] = static_cast<double>(U[static_cast<int64_t>(r[b]) * k + f]);
        }
        for (int64_t p = 0; p < nPanels; ++p) {
          const double* vp = panels.data() + p * k * kPanel;
          double d[kRowBlock][kPanel] = {};
          for (int f = 0; f < k; ++f) {
            const double* vf = vp + f * kPanel;
            for (int b = 0; b < kRowBlock; ++b) {
              const double uf = u[b * k + f];
              for (int j = 0; j < kPanel; ++j) d[b][j] += uf * vf[j];
            }
          }
          for (int b = 0; b < kRowBlock; ++b)
            for (int j = 0; j < kPanel; ++j) scores[(b * nPanels + p) * kPanel + j] = d[b][j];
        }
        for (int b = 0; b < nb; ++b) {
          const int64_t q = q0 + b;
          auto mark = [&](const int32_t* idx, int64_t lo, int64_t hi, const char* what, uint8_t val) {
            for (int64_t e = lo; e < hi; ++e) {
              const int32_t c = idx[e];
              if (static_cast<uint32_t>(c) >= static_cast<uint32_t>(nCols))
                throw Error(ErrorCode::IndexOutOfRange, std::string(what) + "[" + detail::str(e) + "] = " +
                                                            detail::str(c) + " is outside [0, nCols = " +
                                                            detail::str(nCols) + ")");
              skip[c] = val;
            }
          };
          int64_t lo = 0, hi = 0;
          if (job.excludePtr) {
            lo = job.excludePtr[r[b]];
            hi = job.excludePtr[r[b] + 1];
            if (lo < 0 || hi < lo || hi > job.nExcludeIdx)
              throw Error(ErrorCode::IndexOutOfRange, "excludePtr[" + detail::str(r[b]) + "] is not a valid range");
            mark(job.excludeIdx, lo, hi, "excludeIdx", 1);
          }
          mark(job.sharedExclude, 0, job.nShared, "exclude", 1);
          TopN top{job.outIdx + q * job.n, job.outScore + q * job.n, job.n};
          const double base = m.mu + static_cast<double>(rowBias[r[b]]);
          const double* s = scores.data() + b * nPanels * kPanel;
          for (int32_t c = 0; c < nCols; ++c)
            if (!skip[c]) top.offer(c, (base + static_cast<double>(colBias[c])) + s[c]);
          job.outCount[q] = top.len;
          if (job.excludePtr) mark(job.excludeIdx, lo, hi, "excludeIdx", 0);
          mark(job.sharedExclude, 0, job.nShared, "exclude", 0);
        }
      }
    }
  });
}

}  // namespace

void recommendMany(const ModelView& m, const RecommendJob& job) {
  detail::require(job.n >= 1, ErrorCode::InvalidArgument, "n must be >= 1");
  detail::require(job.nRows >= 0 && job.nCols >= 0 && m.k >= 1, ErrorCode::InvalidArgument, "bad model shape");
  detail::require(job.nQuery == 0 || (job.rows && job.outIdx && job.outScore && job.outCount),
                  ErrorCode::InvalidArgument, "recommendMany: arrays missing");
  detail::require(!job.excludePtr || job.excludeIdx, ErrorCode::InvalidArgument, "excludeIdx missing");
  detail::require(job.nShared == 0 || job.sharedExclude, ErrorCode::InvalidArgument, "exclude list missing");
  if (job.nQuery == 0) return;
  if (m.float32()) run(m, m.U32, m.V32, m.rowBias32, m.colBias32, job);
  else run(m, m.U, m.V, m.rowBias, m.colBias, job);
}

}  // namespace collabperf
