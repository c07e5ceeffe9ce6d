#include "threads.hpp"

#include <condition_variable>
#include <deque>
#include <new>
#include <thread>

#include <sys/mman.h>

namespace collabperf {

namespace {

thread_local bool t_onWorker = false;

struct Region {
  int n = 0;
  int next = 1;  // ids still to claim: [next, n); guarded by the pool mutex
  const std::function<void(int)>* body = nullptr;
  std::mutex m;
  std::condition_variable cv;
  int doneByOthers = 0;   // guarded by m
  int claimedByOthers = 0;  // guarded by the pool mutex
};

}  // namespace

struct ThreadPool::Impl {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Region*> queue;
  std::vector<std::thread> threads;

  /** Claims one id of the front region; the caller holds `mutex` and the queue is not empty. */
  static int claim(std::deque<Region*>& q, Region*& r) {
    r = q.front();
    const int tid = r->next++;
    if (r->next >= r->n) q.pop_front();
    return tid;
  }

  void workerLoop() {
    t_onWorker = true;
    for (;;) {
      Region* r = nullptr;
      int tid = 0;
      {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return !queue.empty(); });
        tid = claim(queue, r);
        r->claimedByOthers++;
      }
      (*r->body)(tid);  // exceptions are caught by the Team's wrapper
      std::lock_guard<std::mutex> lock(r->m);
      r->doneByOthers++;
      r->cv.notify_all();  // under r->m: the caller cannot free the region before we let go
    }
  }
};

ThreadPool::ThreadPool() : impl_(new Impl) {
  const unsigned hw = std::thread::hardware_concurrency();
  const int want = hw > 1 ? static_cast<int>(hw) - 1 : 0;
  for (int i = 0; i < want; ++i) {
    try {
      impl_->threads.emplace_back([this] { impl_->workerLoop(); });
    } catch (...) {
      break;  // fewer workers: teams get smaller, results stay the same
    }
  }
  // Workers run until the process exits (detached: joining at static destruction could hang when
  // the process exits from inside a region, and the OS reclaims them anyway).
  for (auto& t : impl_->threads) t.detach();
  workers_ = static_cast<int>(impl_->threads.size());
}

ThreadPool& ThreadPool::instance() {
  // Leaked on purpose: worker threads may still reference it during static destruction.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

bool ThreadPool::onWorker() { return t_onWorker; }

void ThreadPool::run(int n, const std::function<void(int)>& body) {
  if (n <= 1 || workers_ == 0 || t_onWorker) {
    for (int t = 0; t < n; ++t) body(t);
    return;
  }
  Region r;
  r.n = n;
  r.body = &body;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->queue.push_back(&r);
  }
  if (n - 1 == 1) impl_->cv.notify_one();
  else impl_->cv.notify_all();
  body(0);
  // Take back whatever no worker has claimed yet (they may all be busy elsewhere).
  for (;;) {
    int tid = -1;
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      if (r.next < r.n) {
        tid = r.next++;
        if (r.next >= r.n) {
          for (auto it = impl_->queue.begin(); it != impl_->queue.end(); ++it)
            if (*it == &r) {
              impl_->queue.erase(it);
              break;
            }
        }
      }
    }
    if (tid < 0) break;
    body(tid);
  }
  int claimed;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    claimed = r.claimedByOthers;
  }
  std::unique_lock<std::mutex> lock(r.m);
  r.cv.wait(lock, [&] { return r.doneByOthers == claimed; });
}

namespace {

struct ScratchSlot {
  void* p = nullptr;
  size_t bytes = 0;
};

struct ScratchSet {
  ScratchSlot slots[kScratchSlots];
  ~ScratchSet() {
    for (auto& s : slots) std::free(s.p);
  }
};

}  // namespace

static ScratchSet& scratchOfThisThread() {
  thread_local ScratchSet set;
  return set;
}

void trimThreadScratch(size_t keepBytes) {
  for (ScratchSlot& s : scratchOfThisThread().slots) {
    if (s.bytes <= keepBytes) continue;
    std::free(s.p);
    s.p = nullptr;
    s.bytes = 0;
  }
}

void* threadScratch(int slot, size_t bytes) {
  ScratchSlot& s = scratchOfThisThread().slots[slot];
  bytes = std::max<size_t>(bytes, 64);
  if (s.bytes >= bytes) return s.p;
  std::free(s.p);
  s.p = nullptr;
  s.bytes = 0;
  const bool huge = bytes >= (size_t{8} << 20);
  const size_t align = huge ? (size_t{2} << 20) : 64;
  const size_t size = (bytes + align - 1) / align * align;
  void* p = nullptr;
  if (posix_memalign(&p, align, size) != 0 || p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (huge) madvise(p, size, MADV_HUGEPAGE);
#endif
  s.p = p;
  s.bytes = size;
  return p;
}

}  // namespace collabperf
