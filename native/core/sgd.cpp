#include "sgd.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "check.hpp"
#include "cpu.hpp"
#include "errors.hpp"
#include "rng.hpp"
#include "sgd_kernel.hpp"
#include "threads.hpp"

namespace collabperf {

namespace {

using detail::str;

constexpr int64_t kCancelEvery = 4096;

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void badIndex(const char* field, int64_t e, int64_t value, const char* bound, int64_t n) {
  throw Error(ErrorCode::IndexOutOfRange, std::string(field) + "[" + str(e) + "] = " + str(value) +
                                              " is outside [0, " + bound + " = " + str(n) + ")");
}

/** Fisher–Yates exactly as Rng::shuffle, drawing the swap partners a few steps ahead to prefetch them. */
template <class T>
bool shufflePrefetched(Rng& rng, T* a, int64_t n, const int32_t* cancel) {
  if (n < 2) return true;
  constexpr int64_t D = 32;  // look-ahead (below the ring size)
  uint32_t ring[64];
  int64_t drawn = 0;  // j values drawn so far (for i = n-1, n-2, ...)
  auto draw = [&]() {
    const int64_t i = n - 1 - drawn;
    const uint32_t j = static_cast<uint32_t>(rng.nextDouble() * static_cast<double>(i + 1));
    ring[drawn & 63] = j;
    __builtin_prefetch(a + j, 1);
    ++drawn;
  };
  while (drawn < D && n - 1 - drawn > 0) draw();
  for (int64_t t = 0, i = n - 1; i > 0; ++t, --i) {
    if ((t & 0xffff) == 0xffff && cancelRequested(cancel)) return false;
    if (n - 1 - drawn > 0) draw();
    const uint32_t j = ring[t & 63];
    const T x = a[i];
    a[i] = a[j];
    a[j] = x;
  }
  return true;
}

struct Entry {
  int32_t r, c;
  double y;
};
struct WeightedEntry {
  int32_t r, c;
  double y, w;
};
inline double entryWeight(const Entry&) { return 1; }
inline double entryWeight(const WeightedEntry& x) { return x.w; }

/**
 * The doc's epoch: perm = Rng(seed, 1 + epoch).shuffle([0..nnz-1]), then the updates in perm order.
 * Instead of shuffling indices, the entries themselves (r, c, y[, w]) are packed and shuffled with the
 * very same swaps, so position i holds entry perm[i] and the update loop streams through them: the
 * same updates in the same order (bit-identical), without three random reads per entry.
 */
/** Identity for float64 models; for float32 ones the rounding a Float32Array store does. */
template <bool F32>
inline double stored(double x) {
  if constexpr (F32) return static_cast<double>(static_cast<float>(x));
  else return x;
}

/**
 * `F32`: a float32 model (docs/kernels.md "float32 factors"). The work copies of U and V stay double
 * and every value written to them is rounded to float32 at once, the biases are updated in their
 * float32 arrays: each update reads exactly the float32 values TypeScript's Float32Arrays hold.
 */
template <class E, bool F32, class T>
Status sgdDeterministicPacked(const ProblemView& p, const ModelView& m, const Options& o, int64_t epoch,
                              const T* mU, const T* mV, T* rowBias, T* colBias, T* outU, T* outV) {
  const int64_t nnz = p.nnz;
  // Scratch of the calling thread, reused from epoch to epoch (no mmap per call).
  E* a = static_cast<E*>(threadScratch(kScratchSgdEntries, static_cast<size_t>(nnz) * sizeof(E)));
  const uint32_t nRows = static_cast<uint32_t>(p.nRows);
  const uint32_t nCols = static_cast<uint32_t>(p.nCols);
  for (int64_t e = 0; e < nnz; ++e) {
    const int32_t r = p.rowIdx[e];
    const int32_t c = p.colIdx[e];
    if (static_cast<uint32_t>(r) >= nRows) badIndex("problem.rowIdx", e, r, "nRows", p.nRows);
    if (static_cast<uint32_t>(c) >= nCols) badIndex("problem.colIdx", e, c, "nCols", p.nCols);
    E x;
    x.r = r;
    x.c = c;
    x.y = p.value[e];
    if constexpr (sizeof(E) == sizeof(WeightedEntry)) x.w = p.weight[e];
    a[e] = x;
  }
  if (cancelRequested(o.cancel)) return Status::Aborted;
  Rng rng(o.seed, static_cast<uint32_t>(1 + epoch));
  if (!shufflePrefetched(rng, a, nnz, o.cancel)) return Status::Aborted;

  const double lr = o.learningRate / (1 + o.lrDecay * static_cast<double>(epoch));
  const double lambda = o.lambda;
  const double lambdaBias = o.lambdaBias;
  const double mu = m.mu;
  const int k = m.k;
  // The factors are worked on in copies whose rows start on cache lines (typed arrays are only 8- or
  // 16-byte aligned, so a 256-byte row would straddle 5 lines instead of 4), and copied back at the
  // end: the arithmetic is the same, the random reads fewer.
  const int64_t ks = (k + 7) / 8 * 8;
  double* U = static_cast<double*>(threadScratch(kScratchSgdU, static_cast<size_t>(p.nRows) * static_cast<size_t>(ks) * sizeof(double)));
  double* V = static_cast<double*>(threadScratch(kScratchSgdV, static_cast<size_t>(p.nCols) * static_cast<size_t>(ks) * sizeof(double)));
  auto copyIn = [k, ks](double* dst, const T* src, int64_t n) {
    if constexpr (F32) {
      for (int64_t i = 0; i < n; ++i)
        for (int f = 0; f < k; ++f) dst[i * ks + f] = static_cast<double>(src[i * k + f]);
    } else {
      for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * ks, src + i * k, sizeof(double) * k);
    }
  };
  auto copyOut = [k, ks](T* dst, const double* src, int64_t n) {
    if constexpr (F32) {
      // Exact: every work value is already a float32.
      for (int64_t i = 0; i < n; ++i)
        for (int f = 0; f < k; ++f) dst[i * k + f] = static_cast<T>(src[i * ks + f]);
    } else {
      for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * k, src + i * ks, sizeof(double) * k);
    }
  };
  copyIn(U, mU, p.nRows);
  copyIn(V, mV, p.nCols);
  struct CopyBack {
    std::function<void()> fn;
    ~CopyBack() { fn(); }
  } copyBack{[&] {
    copyOut(outU, U, p.nRows);
    copyOut(outV, V, p.nCols);
  }};
  constexpr int64_t PF = 10;  // prefetch the factor rows of the entry this far ahead

  for (int64_t base = 0; base < nnz; base += kCancelEvery) {
    if (cancelRequested(o.cancel)) return Status::Aborted;
    const int64_t stop = std::min(nnz, base + kCancelEvery);
    for (int64_t i = base; i < stop; ++i) {
      if (i + PF < nnz) {
        const E& f = a[i + PF];
        const double* up = U + static_cast<int64_t>(f.r) * ks;
        const double* vp = V + static_cast<int64_t>(f.c) * ks;
        for (int q = 0; q < k; q += 8) {
          __builtin_prefetch(up + q, 1);
          __builtin_prefetch(vp + q, 1);
        }
        __builtin_prefetch(up + k - 1, 1);
        __builtin_prefetch(vp + k - 1, 1);
        __builtin_prefetch(rowBias + f.r, 1);
        __builtin_prefetch(colBias + f.c, 1);
      }
      const E x = a[i];
      const int32_t r = x.r;
      const int32_t c = x.c;
      const double y = x.y;
      const double w = entryWeight(x);
      double* u = U + static_cast<int64_t>(r) * ks;
      double* v = V + static_cast<int64_t>(c) * ks;
      // pred exactly as the doc: ((mu + rowBias[r]) + colBias[c]) + dot, dot from 0.0 in f order.
      double dot = 0.0;
      for (int f = 0; f < k; ++f) dot += u[f] * v[f];
      const double pred = ((mu + static_cast<double>(rowBias[r])) + static_cast<double>(colBias[c])) + dot;
      const double err = y - pred;
      const double g = w * err;
      if (o.useBias) {
        const double br = rowBias[r];
        const double bc = colBias[c];
        rowBias[r] = static_cast<T>(br + lr * (g - lambdaBias * br));
        colBias[c] = static_cast<T>(bc + lr * (g - lambdaBias * bc));
      }
      for (int f = 0; f < k; ++f) {
        const double uf = u[f];
        const double vf = v[f];
        u[f] = stored<F32>(uf + lr * (g * vf - lambda * uf));
        v[f] = stored<F32>(vf + lr * (g * uf - lambda * vf));
      }
    }
  }
  return Status::Ok;
}

Status sgdDeterministic(const ProblemView& p, const ModelView& m, const Options& o, int64_t epoch) {
  if (m.float32())
    return p.weight ? sgdDeterministicPacked<WeightedEntry, true>(p, m, o, epoch, m.U32, m.V32, m.rowBias32, m.colBias32, m.U32, m.V32)
                    : sgdDeterministicPacked<Entry, true>(p, m, o, epoch, m.U32, m.V32, m.rowBias32, m.colBias32, m.U32, m.V32);
  return p.weight ? sgdDeterministicPacked<WeightedEntry, false>(p, m, o, epoch, m.U, m.V, m.rowBias, m.colBias, m.U, m.V)
                  : sgdDeterministicPacked<Entry, false>(p, m, o, epoch, m.U, m.V, m.rowBias, m.colBias, m.U, m.V);
}

// ---- Parallel mode ---------------------------------------------------------------------------

typedef int64_t (*TasksFn)(const sgd_detail::RowCtx&, const sgd_detail::RowTask*, int64_t);
typedef int64_t (*Tasks32Fn)(const sgd_detail::RowCtx32&, const sgd_detail::RowTask*, int64_t);

/** The block workers' context before the block's column range is set (T = the model's storage). */
template <class T>
sgd_detail::RowCtxT<T> rowContext(const ProblemView& p, const ModelView& m, const Options& o, int64_t epoch, T* U, T* V,
                                  T* rowBias, T* colBias) {
  sgd_detail::RowCtxT<T> base;
  base.colIdx = p.colIdx;
  base.value = p.value;
  base.weight = p.weight;
  base.U = U;
  base.V = V;
  base.rowBias = rowBias;
  base.colBias = colBias;
  base.k = m.k;
  base.useBias = o.useBias;
  base.mu = m.mu;
  base.lr = o.learningRate / (1 + o.lrDecay * static_cast<double>(epoch));
  base.lambda = o.lambda;
  base.lambdaBias = o.lambdaBias;
  return base;
}

/** Checks an offsets array (n+1 entries, non-decreasing, inside [0, nnz]). */
void checkOffsets(const int32_t* ptr, int64_t n, int64_t nnz, const char* field) {
  int64_t prev = 0;
  for (int64_t i = 0; i <= n; ++i) {
    const int64_t x = ptr[i];
    if (x < 0 || x > nnz)
      throw Error(ErrorCode::IndexOutOfRange,
                  std::string(field) + "[" + str(i) + "] = " + str(x) + " is outside [0, nnz = " + str(nnz) + "]");
    if (i > 0 && x < prev)
      throw Error(ErrorCode::InvalidArgument, std::string(field) + " decreases at [" + str(i) + "]");
    prev = x;
  }
}

/** Cuts 0..n into B ranges holding about equal numbers of entries (by the offsets array). */
std::vector<int32_t> balancedCuts(const int32_t* ptr, int32_t n, int B) {
  std::vector<int32_t> cuts(static_cast<size_t>(B) + 1);
  const int64_t first = ptr[0];
  const int64_t total = static_cast<int64_t>(ptr[n]) - first;
  cuts[0] = 0;
  for (int i = 1; i < B; ++i) {
    const int64_t target = first + total * i / B;
    int32_t pos = static_cast<int32_t>(std::lower_bound(ptr, ptr + n + 1, target) - ptr);
    pos = std::min(std::max(pos, cuts[static_cast<size_t>(i) - 1]), n);
    cuts[static_cast<size_t>(i)] = pos;
  }
  cuts[static_cast<size_t>(B)] = n;
  return cuts;
}

/** Hands out blocks that share no row block or column block with a running one. */
class BlockScheduler {
 public:
  BlockScheduler(int B, std::vector<int32_t> order, const Team& team)
      : B_(B), order_(std::move(order)), started_(order_.size(), 0), rowBusy_(B, 0), colBusy_(B, 0),
        remaining_(static_cast<int>(order_.size())), team_(team) {}

  /** The next block (b = bi * B + bj), or -1 when none is left or the team stopped. */
  int acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (team_.stopped() || remaining_ == 0) return -1;
      for (size_t i = 0; i < order_.size(); ++i) {
        const int b = order_[i];
        if (started_[static_cast<size_t>(b)]) continue;
        const int bi = b / B_, bj = b % B_;
        if (rowBusy_[static_cast<size_t>(bi)] || colBusy_[static_cast<size_t>(bj)]) continue;
        started_[static_cast<size_t>(b)] = 1;
        rowBusy_[static_cast<size_t>(bi)] = colBusy_[static_cast<size_t>(bj)] = 1;
        --remaining_;
        return b;
      }
      cv_.wait(lock);
    }
  }

  void release(int b) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      rowBusy_[static_cast<size_t>(b / B_)] = 0;
      colBusy_[static_cast<size_t>(b % B_)] = 0;
    }
    cv_.notify_all();
  }

  void wakeAll() {
    { std::lock_guard<std::mutex> lock(mutex_); }
    cv_.notify_all();
  }

 private:
  int B_;
  std::vector<int32_t> order_;
  std::vector<char> started_, rowBusy_, colBusy_;
  int remaining_;
  const Team& team_;
  std::mutex mutex_;
  std::condition_variable cv_;
};

Status sgdParallel(const ProblemView& p, const ModelView& m, const Options& o, int64_t epoch,
                   const SgdTuning& tuning) {
  const double tStart = seconds();
  const int T = o.threads;
  int B = tuning.blocksPerDim > 0 ? tuning.blocksPerDim : T + 1;
  B = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(B), p.nRows, p.nCols})));
  const int64_t nnz = p.nnz;
  checkOffsets(p.rowPtr, p.nRows, nnz, "problem.rowPtr");
  checkOffsets(p.colPtr, p.nCols, nnz, "problem.colPtr");
  const std::vector<int32_t> rb = balancedCuts(p.rowPtr, p.nRows, B);
  const std::vector<int32_t> cb = balancedCuts(p.colPtr, p.nCols, B);
  const size_t stride = static_cast<size_t>(B) + 1;

  // split[r * (B+1) + j]: first CSR entry of row r whose column is >= cb[j] (rows are sorted by
  // column, so a block's part of a row is one contiguous range; every entry is checked again
  // against its block's column range when it is used).
  std::vector<int32_t> split(static_cast<size_t>(p.nRows) * stride);
  {
    Team team(std::min<int>(T, std::max<int>(1, p.nRows / 4096)));
    WorkQueue q(p.nRows, 4096);
    team.run([&](int) {
      int64_t b, e;
      while (q.next(b, e)) {
        for (int64_t r = b; r < e; ++r) {
          // (clamped: rowPtr was checked above, but the caller's arrays could change meanwhile)
          const int32_t lo = static_cast<int32_t>(std::min<int64_t>(std::max<int32_t>(p.rowPtr[r], 0), nnz));
          const int32_t hi = static_cast<int32_t>(std::min<int64_t>(std::max<int32_t>(p.rowPtr[r + 1], lo), nnz));
          int32_t* s = split.data() + static_cast<size_t>(r) * stride;
          s[0] = lo;
          int32_t prev = lo;
          for (int j = 1; j < B; ++j) {
            int32_t pos = static_cast<int32_t>(std::lower_bound(p.colIdx + prev, p.colIdx + hi, cb[static_cast<size_t>(j)]) - p.colIdx);
            s[j] = prev = pos;
          }
          s[B] = hi;
        }
      }
    });
  }

  Rng master(o.seed, static_cast<uint32_t>(1 + epoch));
  const int nBlocks = B * B;
  std::vector<uint32_t> blockSeed(static_cast<size_t>(nBlocks));
  for (auto& s : blockSeed) s = master.nextU32();
  std::vector<int32_t> order(static_cast<size_t>(nBlocks));
  for (int i = 0; i < nBlocks; ++i) order[static_cast<size_t>(i)] = i;
  master.shuffle(order.data(), order.size());

  // A float32 model runs the float kernel on its own arrays (same blocks, seeds and order).
  const bool f32 = m.float32();
  TasksFn tasksFn = sgd_detail::sgdTasksGeneric;
  Tasks32Fn tasks32Fn = sgd_detail::sgdTasks32Generic;
  switch (activeIsa()) {
    case Isa::Avx512:
      tasksFn = sgd_detail::sgdTasksAvx512;
      tasks32Fn = sgd_detail::sgdTasks32Avx512;
      break;
    case Isa::Avx2:
      tasksFn = sgd_detail::sgdTasksAvx2;
      tasks32Fn = sgd_detail::sgdTasks32Avx2;
      break;
    default: break;
  }

  const sgd_detail::RowCtx base = rowContext<double>(p, m, o, epoch, m.U, m.V, m.rowBias, m.colBias);
  const sgd_detail::RowCtx32 base32 = rowContext<float>(p, m, o, epoch, m.U32, m.V32, m.rowBias32, m.colBias32);

  if (tuning.profile) tuning.profile->setupSeconds += seconds() - tStart;
  std::mutex profMutex;
  Team team(T);
  BlockScheduler sched(B, order, team);
  std::atomic<bool> aborted{false};
  std::atomic<int64_t> badEntry{-1};
  int32_t maxRowBlock = 0;
  for (int i = 0; i < B; ++i) maxRowBlock = std::max(maxRowBlock, rb[static_cast<size_t>(i) + 1] - rb[static_cast<size_t>(i)]);

  team.run([&](int) {
    std::vector<int32_t> rows(static_cast<size_t>(maxRowBlock));
    std::vector<sgd_detail::RowTask> tasks;
    tasks.reserve(static_cast<size_t>(maxRowBlock));
    double waitT = 0.0, procT = 0.0;
    try {
      for (;;) {
        const double t0 = tuning.profile ? seconds() : 0.0;
        const int b = sched.acquire();
        const double t1 = tuning.profile ? seconds() : 0.0;
        waitT += t1 - t0;
        if (b < 0) break;
        const int bi = b / B, bj = b % B;
        // The block's rows in a seeded order: ascending from a random row (streams through the CSR
        // arrays, like LIBMF's sorted blocks) or fully shuffled (tuning.shuffleRows); each row's
        // entries from a seeded random start.
        Rng rng(blockSeed[static_cast<size_t>(b)], 0);
        const int32_t r0 = rb[static_cast<size_t>(bi)], r1 = rb[static_cast<size_t>(bi) + 1];
        const int32_t nr = r1 - r0;
        if (nr <= 0) {
          sched.release(b);
          continue;
        }
        const int32_t first = static_cast<int32_t>(rng.nextBelowFast(static_cast<uint32_t>(nr)));
        for (int32_t i = 0; i < nr; ++i) rows[static_cast<size_t>(i)] = r0 + (first + i) % nr;
        if (tuning.shuffleRows)
          for (int32_t i = nr - 1; i > 0; --i)
            std::swap(rows[static_cast<size_t>(i)], rows[rng.nextBelowFast(static_cast<uint32_t>(i) + 1)]);
        tasks.clear();
        for (int32_t i = 0; i < nr; ++i) {
          const int32_t r = rows[static_cast<size_t>(i)];
          const int32_t* sp = split.data() + static_cast<size_t>(r) * stride + bj;
          const int32_t lo = sp[0], hi = sp[1];
          if (hi <= lo) continue;
          const int32_t start =
              tuning.rotateRows ? lo + static_cast<int32_t>(rng.nextBelowFast(static_cast<uint32_t>(hi - lo))) : lo;
          tasks.push_back(sgd_detail::RowTask{r, lo, hi, start});
        }
        sgd_detail::RowCtx cx = base;
        sgd_detail::RowCtx32 cx32 = base32;
        cx.cLo = cx32.cLo = cb[static_cast<size_t>(bj)];
        cx.cHi = cx32.cHi = cb[static_cast<size_t>(bj) + 1];
        // Batches of about kCancelEvery entries, with a look at the cancel flag in between.
        size_t i = 0;
        while (i < tasks.size()) {
          size_t j = i;
          int64_t entries = 0;
          while (j < tasks.size() && entries < kCancelEvery * 4) {
            entries += tasks[j].hi - tasks[j].lo;
            ++j;
          }
          const int64_t bad = f32 ? tasks32Fn(cx32, tasks.data() + i, static_cast<int64_t>(j - i))
                                  : tasksFn(cx, tasks.data() + i, static_cast<int64_t>(j - i));
          if (bad == -2) throw std::bad_alloc();
          if (bad >= 0) {
            int64_t expected = -1;
            badEntry.compare_exchange_strong(expected, bad);
            team.requestStop();
          }
          i = j;
          if (cancelRequested(o.cancel)) {
            aborted.store(true, std::memory_order_relaxed);
            team.requestStop();
          }
          if (team.stopped()) break;
        }
        sched.release(b);
        if (tuning.profile) procT += seconds() - t1;
      }
    } catch (...) {
      team.requestStop();
      sched.wakeAll();
      throw;
    }
    sched.wakeAll();
    if (tuning.profile) {
      std::lock_guard<std::mutex> lock(profMutex);
      tuning.profile->waitSeconds += waitT;
      tuning.profile->processSeconds += procT;
    }
  });
  const int64_t bad = badEntry.load();
  if (bad >= 0) {
    const int32_t c = p.colIdx[bad];
    if (static_cast<uint32_t>(c) >= static_cast<uint32_t>(p.nCols)) badIndex("problem.colIdx", bad, c, "nCols", p.nCols);
    throw Error(ErrorCode::InvalidArgument, "problem.colIdx[" + str(bad) + "] = " + str(c) +
                                                ": the entries of its row are not sorted by column");
  }
  return aborted.load() ? Status::Aborted : Status::Ok;
}

}  // namespace

Status sgdEpoch(const ProblemView& problem, const ModelView& model, const Options& options, int64_t epoch,
                const SgdTuning* tuning) {
  detail::checkShape(problem, model, options);
  detail::checkNonNegative(options.lambda, "options.lambda");
  detail::checkNonNegative(options.lambdaBias, "options.lambdaBias");
  detail::require(std::isfinite(options.learningRate), ErrorCode::NonFinite, "options.learningRate must be finite");
  detail::require(std::isfinite(options.lrDecay), ErrorCode::NonFinite, "options.lrDecay must be finite");
  detail::require(epoch >= 0 && epoch <= 0x7fffffff, ErrorCode::InvalidArgument,
                  "epoch must be an integer in [0, 2^31)");
  if (cancelRequested(options.cancel)) return Status::Aborted;
  if (problem.nnz == 0) return Status::Ok;
  if (options.sgdMode == SgdMode::Parallel && (options.threads >= 2 || (tuning && tuning->blocksOnOneThread))) {
    detail::require(problem.rowPtr && problem.colIdx && problem.value && problem.colPtr, ErrorCode::InvalidArgument,
                    "problem CSR arrays missing");
    const SgdTuning defaults;
    return sgdParallel(problem, model, options, epoch, tuning ? *tuning : defaults);
  }
  detail::require(problem.rowIdx && problem.colIdx && problem.value, ErrorCode::InvalidArgument,
                  "problem COO arrays missing");
  return sgdDeterministic(problem, model, options, epoch);
}

}  // namespace collabperf
