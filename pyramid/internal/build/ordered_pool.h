// OrderedPool: worker threads that process tasks first..end-1 in any order, and hand the
// results to one consumer in index order through a bounded reorder buffer.
//
// Example:
//   OrderedPool<UnitResult> pool(threads, 2 * threads + 1, 0, count,
//       [&] { uint64_t key; walker.Next(&key); return key; },
//       [&](int worker, uint64_t key) { return renderers[worker]->Render(key); });
//   for (uint64_t i = 0; i < count; ++i) Commit(pool.Take(i));
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_ORDERED_POOL_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_ORDERED_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace flatpyramid {
namespace pyramid {
namespace internal {

// OrderedPool runs `threads` workers. Each claims the next index (calling `claim` under the
// pool's lock, so claims happen one at a time in index order: `claim` may advance a
// sequential walker and return the task's argument), then runs `work(worker, argument)`
// without the lock; `work` must return a non-null result. At most `window` results wait for the
// consumer, so memory is bounded by (threads + window) results. Take and the destructor must be
// called from one thread.
template <typename Result>
class OrderedPool {
 public:
  using Claim = std::function<uint64_t()>;
  using Work = std::function<std::unique_ptr<Result>(int worker, uint64_t argument)>;

  // REQUIRES: threads >= 1, window >= 1, first <= end.
  OrderedPool(int threads, size_t window, uint64_t first, uint64_t end, Claim claim, Work work)
      : claim_(std::move(claim)),
        work_(std::move(work)),
        end_(end),
        next_(first),
        taken_(first),
        ring_(window) {
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, t] { RunWorker(t); });
    }
  }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  // The destructor stops the workers (after their current task) and joins them.
  ~OrderedPool() { Stop(); }

  // Take blocks until the result of `index` is ready and returns it.
  // REQUIRES: indices taken one by one in increasing order from `first`, below `end`.
  std::unique_ptr<Result> Take(uint64_t index) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ring_[index % ring_.size()] != nullptr; });
    std::unique_ptr<Result> result = std::move(ring_[index % ring_.size()]);
    taken_ = index + 1;
    cv_.notify_all();
    return result;
  }

  // Stop makes the workers return after their current task and joins them.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

 private:
  void RunWorker(int worker) {
    for (;;) {
      uint64_t index, argument;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || next_ >= end_ || next_ < taken_ + ring_.size(); });
        if (stop_ || next_ >= end_) return;
        index = next_++;
        argument = claim_();
      }
      std::unique_ptr<Result> result = work_(worker, argument);
      std::lock_guard<std::mutex> lock(mu_);
      ring_[index % ring_.size()] = std::move(result);
      cv_.notify_all();
    }
  }

  const Claim claim_;
  const Work work_;
  const uint64_t end_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_;   // Next index to claim. Guarded by mu_.
  uint64_t taken_;  // Indices below were taken by the consumer. Guarded by mu_.
  bool stop_ = false;
  // Results of indices taken_ .. taken_ + size - 1, by index % size. Guarded by mu_.
  std::vector<std::unique_ptr<Result>> ring_;
  std::vector<std::thread> workers_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_ORDERED_POOL_H_
