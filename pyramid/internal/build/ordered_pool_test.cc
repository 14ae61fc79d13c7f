#include "pyramid/internal/build/ordered_pool.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

TEST(OrderedPoolTest, ResultsComeInIndexOrderWhateverOrderWorkersFinish) {
  uint64_t next_argument = 100;  // Claims run under the pool's lock, in index order.
  OrderedPool<uint64_t> pool(
      4, 9, 0, 200, [&next_argument] { return next_argument++; },
      [](int, uint64_t argument) {
        // Later arguments finish sooner: the reorder buffer must restore the order.
        std::this_thread::sleep_for(std::chrono::microseconds((300 - argument) % 7 * 50));
        return std::make_unique<uint64_t>(argument);
      });
  for (uint64_t i = 0; i < 200; ++i) ASSERT_EQ(*pool.Take(i), 100 + i);
}

TEST(OrderedPoolTest, NoMoreThanWindowResultsWaitForTheConsumer) {
  std::atomic<uint64_t> started{0};
  uint64_t next = 0;
  OrderedPool<int> pool(
      3, 5, 10, 1000, [&next] { return next++; },
      [&started](int, uint64_t) {
        ++started;
        return std::make_unique<int>(0);
      });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Indices 10..14 fill the window; nothing beyond is claimed until Take(10).
  EXPECT_EQ(started.load(), 5u);
  pool.Take(10);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(started.load(), 6u);
}

TEST(OrderedPoolTest, DestructorStopsWorkersBeforeTheEnd) {
  std::atomic<uint64_t> started{0};
  uint64_t next = 0;
  {
    OrderedPool<int> pool(
        2, 3, 0, 1'000'000, [&next] { return next++; },
        [&started](int, uint64_t) {
          ++started;
          return std::make_unique<int>(0);
        });
    pool.Take(0);
  }
  EXPECT_LE(started.load(), 4u);  // The window after index 0, never the million.
}

}  // namespace
}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
