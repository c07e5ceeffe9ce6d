// A small helper to split kernel work across std::threads: the calling thread is thread 0, the first
// exception is kept and rethrown after every thread joined, and a shared flag lets the others stop.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace collabperf {

class Team {
 public:
  explicit Team(int threads) : threads_(std::max(1, threads)) {}

  int size() const { return threads_; }

  /** True once any thread failed or requestStop() was called: loops should return soon. */
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }
  void requestStop() { stop_.store(true, std::memory_order_relaxed); }

  /**
   * Runs fn(tid) for tid = 0..size()-1, tid 0 on the calling thread. If a thread cannot be created,
   * its share runs on the calling thread afterwards. Rethrows the first exception.
   */
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
    std::vector<std::thread> pool;
    std::vector<int> inline_tids;
    pool.reserve(static_cast<size_t>(threads_ - 1));
    for (int t = 1; t < threads_; ++t) {
      try {
        pool.emplace_back(guarded, t);
      } catch (...) {
        inline_tids.push_back(t);
      }
    }
    guarded(0);
    for (int t : inline_tids) guarded(t);
    for (auto& th : pool) th.join();
    if (error_) std::rethrow_exception(error_);
  }

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
