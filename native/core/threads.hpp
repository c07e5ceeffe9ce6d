// Threads of the native core: one persistent pool for the whole process (created lazily on first
// use, never per call), a Team that runs fn(tid) for tid = 0..n-1 on the caller plus pool threads,
// per-thread reusable scratch memory, and a chunk queue for dynamic load balancing.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

namespace collabperf {

/**
 * The process-wide worker pool (hardware_concurrency - 1 threads: the calling thread is always one
 * of a team). Workers sleep on a condition variable between regions. A region's thread ids are
 * claimed one by one by idle workers AND by the region's caller, so a region always completes even
 * when every worker is busy with another region (several libuv threads may run kernels at once).
 */
class ThreadPool {
 public:
  /** The pool, started on first use. */
  static ThreadPool& instance();

  /** Threads a team can use at most: the workers plus the caller. */
  int size() const { return workers_ + 1; }

  /** True on a pool worker thread (a team started there runs all its ids inline). */
  static bool onWorker();

  /** Runs body(tid) for tid in [0, n): tid 0 and any unclaimed ids on the caller; blocks until done. */
  void run(int n, const std::function<void(int)>& body);

 private:
  ThreadPool();
  struct Impl;
  Impl* impl_;
  int workers_ = 0;
};

/**
 * Memory a thread keeps between kernel calls so that an iteration does not malloc / mmap its
 * scratch again: slot i of the calling thread grows to the largest size asked for and stays
 * (64-byte aligned; 2 MB aligned with transparent huge pages above 8 MB).
 */
void* threadScratch(int slot, size_t bytes);

/**
 * Frees the calling thread's scratch slots larger than `keepBytes`. Called when an addon call ends:
 * the calls run on whichever of libuv's threads is free, so a large problem's buffers (the
 * deterministic SGD's copy of every entry is 16 bytes x nnz, 0.3 GB at 20M ratings) would otherwise
 * stay allocated once per libuv thread. Small slots stay, so tiny fits still allocate nothing.
 */
void trimThreadScratch(size_t keepBytes);
constexpr size_t kScratchKeepBytes = size_t{32} << 20;
constexpr int kScratchAlsWorkspace = 0;
constexpr int kScratchAlsAligned = 1;
constexpr int kScratchSgdEntries = 2;
constexpr int kScratchSgdU = 3;
constexpr int kScratchSgdV = 4;
constexpr int kScratchIals = 5;
constexpr int kScratchSlots = 6;

class Team {
 public:
  /** At most the pool's size; 1 (everything inline) on a pool worker, so teams never nest. */
  explicit Team(int threads)
      : threads_(ThreadPool::onWorker() ? 1 : std::max(1, std::min(threads, maxTeam()))) {}

  int size() const { return threads_; }

  /** True once any thread failed or requestStop() was called: loops should return soon. */
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }
  void requestStop() { stop_.store(true, std::memory_order_relaxed); }

  /** Runs fn(tid) for tid = 0..size()-1, tid 0 on the calling thread. Rethrows the first exception. */
  template <class Fn>
  void run(Fn&& fn) {
    auto guarded = [&](int tid) {
      try {
        fn(tid);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        requestStop();
      }
    };
    if (threads_ == 1) {
      guarded(0);
    } else {
      ThreadPool::instance().run(threads_, std::function<void(int)>(guarded));
    }
    if (error_) std::rethrow_exception(error_);
  }

  /** The largest team: the pool's size (the pool starts on first call). */
  static int maxTeam() { return ThreadPool::instance().size(); }

 private:
  int threads_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::exception_ptr error_;
};

/** Hands out [begin, end) chunks of 0..n to whichever thread asks first (dynamic load balancing). */
class WorkQueue {
 public:
  WorkQueue(int64_t n, int64_t grain) : n_(n), grain_(std::max<int64_t>(1, grain)) {}

  bool next(int64_t& begin, int64_t& end) {
    int64_t b = next_.fetch_add(grain_, std::memory_order_relaxed);
    if (b >= n_) return false;
    begin = b;
    end = std::min(n_, b + grain_);
    return true;
  }

 private:
  int64_t n_;
  int64_t grain_;
  std::atomic<int64_t> next_{0};
};

}  // namespace collabperf
