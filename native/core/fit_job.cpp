#include "fit_job.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "als.hpp"
#include "check.hpp"
#include "errors.hpp"
#include "ials.hpp"
#include "loss.hpp"
#include "sgd.hpp"
#include "threads.hpp"

namespace collabperf {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/**
 * Exactly src/backends/fit-loop.ts validationRmse: pred = ((mu + rb) + cb) + dot, sse += (w * err) * err,
 * in double whatever the storage T.
 */
template <class T>
double validationRmseOf(const ModelView& m, const T* U, const T* V, const T* rowBias, const T* colBias, const ValidationView& v) {
  double sse = 0.0, ws = 0.0;
  const int k = m.k;
  for (int64_t i = 0; i < v.n; ++i) {
    const int64_t r = v.rows[i], c = v.cols[i];
    const T* u = U + r * k;
    const T* vv = V + c * k;
    double dot = 0.0;
    for (int f = 0; f < k; ++f) dot += static_cast<double>(u[f]) * static_cast<double>(vv[f]);
    const double err = v.values[i] - (((m.mu + static_cast<double>(rowBias[r])) + static_cast<double>(colBias[c])) + dot);
    const double w = v.weights ? v.weights[i] : 1;
    sse += w * err * err;
    ws += w;
  }
  return std::sqrt(sse / ws);
}

double validationRmse(const ModelView& m, const ValidationView& v) {
  return m.float32() ? validationRmseOf(m, m.U32, m.V32, m.rowBias32, m.colBias32, v)
                     : validationRmseOf(m, m.U, m.V, m.rowBias, m.colBias, v);
}

/** The kept iteration's parameters, in the model's own storage. */
template <class T>
struct Snapshot {
  std::vector<T> U, V, rowBias, colBias;
  void resize(size_t nU, size_t nV, size_t nR, size_t nC) {
    U.resize(nU);
    V.resize(nV);
    rowBias.resize(nR);
    colBias.resize(nC);
  }
  void save(const T* u, const T* v, const T* rb, const T* cb) {
    std::copy(u, u + U.size(), U.begin());
    std::copy(v, v + V.size(), V.begin());
    std::copy(rb, rb + rowBias.size(), rowBias.begin());
    std::copy(cb, cb + colBias.size(), colBias.begin());
  }
  void restore(T* u, T* v, T* rb, T* cb) const {
    std::copy(U.begin(), U.end(), u);
    std::copy(V.begin(), V.end(), v);
    std::copy(rowBias.begin(), rowBias.end(), rb);
    std::copy(colBias.begin(), colBias.end(), cb);
  }
};

/** The training loss of the model as it is: the implicit objective's sums for ials, else trainLoss. */
LossSums lossOf(const ProblemView& p, const ModelView& m, const FitJob& job, const Confidences& conf) {
  LossSums loss;
  if (job.algo == Algo::Ials) implicitLoss(p, m, job.options, conf, loss);
  else trainLoss(p, m, job.options, loss);
  return loss;
}

bool isSmall(const FitJob& j) {
  if (j.algo == Algo::Sgd && j.options.sgdMode == SgdMode::Parallel && j.options.threads >= 2) return false;
  if (j.algo == Algo::Ials)
    return (static_cast<double>(j.problem.nnz) + j.problem.nRows + j.problem.nCols) * j.model.k < kSmallJobWork;
  return static_cast<double>(j.problem.nnz) * j.model.k < kSmallJobWork;
}

}  // namespace

FitResult runFit(const FitJob& job, const IterationHook* hook, size_t jobIndex) {
  const ProblemView& p = job.problem;
  const ModelView& m = job.model;
  detail::require(job.iters >= 1, ErrorCode::InvalidArgument, "iters must be an integer >= 1");
  detail::require(job.patience >= 1 || !job.earlyStopping, ErrorCode::InvalidArgument, "patience must be >= 1");
  if (job.hasValidation) {
    const ValidationView& v = job.validation;
    for (int64_t i = 0; i < v.n; ++i) {
      if (static_cast<uint32_t>(v.rows[i]) >= static_cast<uint32_t>(p.nRows))
        throw Error(ErrorCode::IndexOutOfRange, "validation.rows[" + detail::str(i) + "] = " + detail::str(v.rows[i]) +
                                                    " is outside [0, nRows = " + detail::str(p.nRows) + ")");
      if (static_cast<uint32_t>(v.cols[i]) >= static_cast<uint32_t>(p.nCols))
        throw Error(ErrorCode::IndexOutOfRange, "validation.cols[" + detail::str(i) + "] = " + detail::str(v.cols[i]) +
                                                    " is outside [0, nCols = " + detail::str(p.nCols) + ")");
    }
  }
  const size_t nU = static_cast<size_t>(p.nRows) * m.k, nV = static_cast<size_t>(p.nCols) * m.k;
  FitResult res;
  res.history.reserve(static_cast<size_t>(job.iters));
  const bool track = job.earlyStopping && job.hasValidation;
  bool haveBest = false;
  int bestIter = 0;
  double bestRmse = 0.0;
  const bool f32 = m.float32();
  Snapshot<double> best64;
  Snapshot<float> best32;
  if (track) {
    if (f32) best32.resize(nU, nV, static_cast<size_t>(p.nRows), static_cast<size_t>(p.nCols));
    else best64.resize(nU, nV, static_cast<size_t>(p.nRows), static_cast<size_t>(p.nCols));
  }
  const bool implicit = job.algo == Algo::Ials;
  Confidences conf;  // the log confidences, once per fit (not per sweep)
  if (implicit) implicitConfidences(p, job.options.implicit, conf);
  for (int it = 0; it < job.iters; ++it) {
    if (cancelRequested(job.options.cancel)) {
      res.status = FitStatus::Aborted;
      break;
    }
    const double t = now();
    const Status s = job.algo == Algo::Als  ? alsSweep(p, m, job.options)
                     : implicit             ? ialsSweep(p, m, job.options, conf)
                                            : sgdEpoch(p, m, job.options, it);
    const double seconds = now() - t;
    if (s == Status::Aborted) {
      res.status = FitStatus::Aborted;
      break;
    }
    FitIteration rep;
    rep.trainRmse = std::numeric_limits<double>::quiet_NaN();
    rep.validRmse = std::numeric_limits<double>::quiet_NaN();
    rep.seconds = seconds;
    if (job.trackLoss) {
      const LossSums loss = lossOf(p, m, job, conf);
      rep.trainRmse = std::sqrt(loss.sse / loss.wsum);
      rep.objective = loss.objective;
    }
    if (job.trackLoss && !std::isfinite(rep.trainRmse)) {
      res.history.push_back(rep);
      res.status = FitStatus::Diverged;
      if (hook) (*hook)(jobIndex, it + 1, false);
      break;
    }
    if (job.hasValidation) rep.validRmse = validationRmse(m, job.validation);
    res.history.push_back(rep);
    if (hook) (*hook)(jobIndex, it + 1, false);
    if (track) {
      if (!haveBest || rep.validRmse < bestRmse - job.minDelta) {
        haveBest = true;
        bestIter = it + 1;
        bestRmse = rep.validRmse;
        if (f32) best32.save(m.U32, m.V32, m.rowBias32, m.colBias32);
        else best64.save(m.U, m.V, m.rowBias, m.colBias);
      } else if (it + 1 - bestIter >= job.patience) {
        res.stoppedEarly = it + 1 < job.iters;
        break;
      }
    }
  }
  const int n = static_cast<int>(res.history.size());
  if (haveBest && bestIter != n) {
    if (f32) best32.restore(m.U32, m.V32, m.rowBias32, m.colBias32);
    else best64.restore(m.U, m.V, m.rowBias, m.colBias);
  }
  res.bestIter = haveBest ? bestIter : n;
  if (!job.trackLoss && res.status == FitStatus::Ok && n > 0) {
    // The kept model's loss, once (it is that iteration's: the loss depends only on the model).
    const LossSums loss = lossOf(p, m, job, conf);
    FitIteration& kept = res.history[static_cast<size_t>(res.bestIter - 1)];
    kept.trainRmse = std::sqrt(loss.sse / loss.wsum);
    kept.objective = loss.objective;
    if (!std::isfinite(kept.trainRmse)) res.status = FitStatus::Diverged;
  }
  return res;
}

std::vector<FitResult> fitMany(const std::vector<FitJob>& jobs, const IterationHook* hook, int maxThreads) {
  std::vector<FitResult> results(jobs.size());
  std::vector<std::exception_ptr> errors(jobs.size());
  std::vector<size_t> small, large;
  for (size_t i = 0; i < jobs.size(); ++i) (isSmall(jobs[i]) ? small : large).push_back(i);
  const int cap = std::max(1, std::min(maxThreads, Team::maxTeam()));
  if (!small.empty()) {
    Team team(static_cast<int>(std::min<size_t>(static_cast<size_t>(cap), small.size())));
    WorkQueue queue(static_cast<int64_t>(small.size()), 1);
    team.run([&](int) {
      int64_t b, e;
      while (queue.next(b, e)) {
        const size_t i = small[static_cast<size_t>(b)];
        FitJob j = jobs[i];
        j.options.threads = 1;  // ALS and the loss are thread-invariant; deterministic SGD is serial
        try {
          results[i] = runFit(j, hook, i);
        } catch (...) {
          errors[i] = std::current_exception();
        }
        if (hook) (*hook)(i, static_cast<int>(results[i].history.size()), true);
      }
    });
  }
  for (size_t i : large) {
    FitJob j = jobs[i];
    try {
      results[i] = runFit(j, hook, i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
    if (hook) (*hook)(i, static_cast<int>(results[i].history.size()), true);
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return results;
}

}  // namespace collabperf
