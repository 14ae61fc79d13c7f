// Benchmarks for //storage, each against a peer in the same run:
//   bazel run --config=opt //storage:storage_benchmark -- --benchmark_repetitions=3
// Files go to $FLATPYRAMID_BENCH_DIR, else $HOME/.cache/flatpyramid_bench (a real disk: ext4
// here; not /dev/shm, where INSERT_RANGE is refused). To measure the fallback on tmpfs:
//   FLATPYRAMID_BENCH_DIR=/dev/shm/bench bazel run --config=opt //storage:storage_benchmark --
//     --benchmark_filter='Append.*/0|Sequential'
//
// BM_AppendEightSections: 100,000 values of 1-32 KiB (1.6 GiB) across 8 sections growing at
//   once, then Commit. Each iteration also writes the same bytes in the same order with
//   write() to a new file and fdatasyncs it (the peer, same disk, same run; before ours in
//   even repetitions, after in odd ones), and reports our throughput against it (target:
//   >= 90 %). A thread samples the disk space in use
//   (st_blocks) every millisecond through the appends, the growths, the commit and Seal
//   (target: never above the sealed size + 1 % + 64 MiB). Argument 0: keys and locations start
//   at one 4 KiB block and values at the default 64 MiB, so every array grows (the INSERT_RANGE
//   count includes the index growths); 1: 1 GiB of holes reserved per value array and 1 MiB
//   per index array (no growth at all), which isolates the cost of growing; 2: the default
//   capacities (the values grow; the index arrays, 32,768 entries, hold the 12,500 of each
//   section without growing).
// BM_SequentialWrite: the peer alone.
// BM_RandomGet vs BM_StdLowerBound: random Get on a sealed 1,000,000-key section, warm cache,
//   in CPU time and (/real_time) wall time (target: >= 5 M lookups/s); the peer is
//   std::lower_bound over the same keys in a std::vector (search only: Get also reads the
//   location). BM_ReaderLowerBound is our search alone.
// BM_Commit: Commit() after 64 small appends spread over 8 sections.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {
namespace {

std::string BenchDir() {
  const char* dir = std::getenv("FLATPYRAMID_BENCH_DIR");
  std::string path;
  if (dir != nullptr && *dir != '\0') {
    path = dir;
  } else {
    const char* home = std::getenv("HOME");
    path = absl::StrCat(home != nullptr ? home : "/tmp", "/.cache/flatpyramid_bench");
  }
  ::mkdir(path.c_str(), 0755);
  return path;
}

// The workload: value i is pool[offset_i, offset_i + size_i) for section_i.
struct Workload {
  std::string pool;
  std::vector<uint32_t> sections;
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> sizes;
  uint64_t total_bytes = 0;
};

const Workload& GetWorkload() {
  static const Workload* const workload = [] {
    auto* w = new Workload();
    std::mt19937_64 random(7);
    w->pool.resize(64 << 20);
    for (size_t i = 0; i + 8 <= w->pool.size(); i += 8) {
      const uint64_t r = random();
      std::memcpy(&w->pool[i], &r, 8);
    }
    for (int i = 0; i < 100000; ++i) {
      const uint32_t size = 1024 + static_cast<uint32_t>(random() % (31 * 1024 + 1));
      w->sections.push_back(static_cast<uint32_t>(random() % 8));
      w->sizes.push_back(size);
      w->offsets.push_back(random() % (w->pool.size() - size));
      w->total_bytes += size;
    }
    return w;
  }();
  return *workload;
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// DiskSampler records the peak of AllocatedBytes(path), sampled every millisecond on its own
// thread from construction to Stop.
class DiskSampler {
 public:
  explicit DiskSampler(std::string path)
      : path_(std::move(path)), thread_([this] {
          while (!stop_.load()) {
            Sample();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          Sample();
        }) {}
  ~DiskSampler() { Stop(); }
  // Stop ends the sampling and returns the peak.
  uint64_t Stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
    return peak_;
  }
  uint64_t samples() const { return samples_; }

 private:
  void Sample() {
    peak_ = std::max<uint64_t>(peak_, AllocatedBytes(path_));
    ++samples_;
  }
  const std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> peak_{0};
  std::atomic<uint64_t> samples_{0};
  std::thread thread_;  // Last: starts once the members above exist.
};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// WriteSequentially is the peer: write() of the workload's bytes in order to a new file, then
// fdatasync. Returns the seconds it took, or a negative number on error.
double WriteSequentially(const Workload& w, const std::string& path) {
  ::unlink(path.c_str());
  const Clock::time_point start = Clock::now();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  for (size_t i = 0; i < w.sizes.size(); ++i) {
    if (::write(fd, w.pool.data() + w.offsets[i], w.sizes[i]) != static_cast<ssize_t>(w.sizes[i])) {
      ::close(fd);
      return -1;
    }
  }
  ::fdatasync(fd);
  ::close(fd);
  const double seconds = Seconds(Clock::now() - start);
  ::unlink(path.c_str());
  return seconds;
}

void BM_AppendEightSections(benchmark::State& state) {
  const Workload& w = GetWorkload();
  const std::string path = BenchDir() + "/append.fpyr";
  uint64_t peak = 0;
  uint64_t samples = 0;
  uint64_t final_size = 0;
  double ours_seconds = 0;
  double peer_seconds = 0;
  WriterStats stats;
  // Which runs first alternates between repetitions (the disk is busier right after 1.6 GB), and
  // both start after a sync() and a 1 s pause.
  static int runs = 0;
  const bool peer_first = runs++ % 2 == 0;
  const auto run_peer = [&] {
    ::sync();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    peer_seconds += WriteSequentially(w, BenchDir() + "/sequential.bin");
  };
  for (auto _ : state) {
    state.PauseTiming();
    if (peer_first) run_peer();
    ::unlink(path.c_str());
    ::sync();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const Clock::time_point start = Clock::now();
    state.ResumeTiming();
    WriterOptions options;
    if (state.range(0) == 0) {
      options.initial_key_capacity = 4096;
      options.initial_location_capacity = 4096;
    } else if (state.range(0) == 1) {  // No growth at all.
      options.initial_key_capacity = 1 << 20;
      options.initial_location_capacity = 1 << 20;
      options.initial_value_capacity = 1ull << 30;
    }
    absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path, options);
    if (!writer.ok()) {
      state.SkipWithError(std::string(writer.status().message()).c_str());
      return;
    }
    DiskSampler sampler(path);
    for (int s = 0; s < 8; ++s) (void)(*writer)->AddSection(absl::StrCat("z", s));
    std::vector<uint64_t> keys(8, 0);
    for (size_t i = 0; i < w.sizes.size(); ++i) {
      const uint32_t s = w.sections[i];
      absl::StatusOr<ValueRef> ref = (*writer)->Append(
          s, ++keys[s], absl::string_view(w.pool.data() + w.offsets[i], w.sizes[i]));
      if (!ref.ok()) {
        state.SkipWithError(std::string(ref.status().message()).c_str());
        return;
      }
    }
    if (!(*writer)->Commit().ok()) {
      state.SkipWithError("commit failed");
      return;
    }
    state.PauseTiming();
    ours_seconds += Seconds(Clock::now() - start);
    stats = (*writer)->stats();
    if (!(*writer)->Seal().ok()) state.SkipWithError("seal failed");
    peak = std::max(peak, sampler.Stop());
    samples += sampler.samples();
    struct stat st;
    ::stat(path.c_str(), &st);
    final_size = static_cast<uint64_t>(st.st_size);
    writer->reset();
    ::unlink(path.c_str());
    if (!peer_first) run_peer();
    state.ResumeTiming();
  }
  const double iterations = static_cast<double>(state.iterations());
  const double mb = static_cast<double>(w.total_bytes) / 1e6;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.total_bytes));
  state.counters["growths"] = static_cast<double>(stats.growths);
  state.counters["index_growths"] = static_cast<double>(stats.index_growths);
  state.counters["insert_range_calls"] = static_cast<double>(stats.insert_range_calls);
  state.counters["header_writes"] = static_cast<double>(stats.header_writes);
  state.counters["syncs"] = static_cast<double>(stats.syncs);
  state.counters["tail_moves"] = static_cast<double>(stats.tail_moves);
  state.counters["moved_MiB"] = static_cast<double>(stats.bytes_moved) / (1 << 20);
  state.counters["ours_MBps"] = mb * iterations / ours_seconds;
  state.counters["write_MBps"] = mb * iterations / peer_seconds;
  const double ratio = peer_seconds / ours_seconds;
  state.counters["vs_write"] = ratio;
  state.counters["throughput_target_met"] = ratio >= 0.9 ? 1 : 0;
  // Disk space: peak (every millisecond, growth, commit and Seal included) vs the budget.
  const double budget = final_size * 1.01 + (64 << 20);
  state.counters["disk_samples"] = static_cast<double>(samples);
  state.counters["peak_disk_MiB"] = static_cast<double>(peak) / (1 << 20);
  state.counters["sealed_size_MiB"] = static_cast<double>(final_size) / (1 << 20);
  state.counters["peak_over_budget_MiB"] = (static_cast<double>(peak) - budget) / (1 << 20);
  state.counters["disk_target_met"] = static_cast<double>(peak) <= budget ? 1 : 0;
}
BENCHMARK(BM_AppendEightSections)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

void BM_SequentialWrite(benchmark::State& state) {
  const Workload& w = GetWorkload();
  for (auto _ : state) {
    if (WriteSequentially(w, BenchDir() + "/sequential.bin") < 0) {
      state.SkipWithError("write failed");
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.total_bytes));
}
BENCHMARK(BM_SequentialWrite)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

constexpr uint64_t kGetKeys = 1000000;

struct GetFixture {
  std::vector<uint64_t> keys;
  std::vector<uint64_t> queries;
  std::unique_ptr<Reader> reader;
};

GetFixture* GetGetFixture() {
  static GetFixture* const fixture = [] {
    auto* f = new GetFixture();
    std::mt19937_64 random(11);
    uint64_t key = 0;
    for (uint64_t i = 0; i < kGetKeys; ++i) {
      key += 1 + random() % 16;  // Sparse keys.
      f->keys.push_back(key);
    }
    for (uint64_t i = 0; i < kGetKeys; ++i) f->queries.push_back(f->keys[random() % kGetKeys]);
    const std::string path = BenchDir() + "/get.fpyr";
    WriterOptions options;
    options.overwrite = true;
    std::unique_ptr<Writer> writer = *Writer::Create(path, options);
    const uint32_t s = *writer->AddSection("z20");
    for (uint64_t k : f->keys) {
      char value[8];
      std::memcpy(value, &k, 8);
      (void)writer->Append(s, k, absl::string_view(value, 8));
    }
    (void)writer->Seal();
    writer.reset();
    f->reader = *Reader::Open(path);
    return f;
  }();
  return fixture;
}

void BM_RandomGet(benchmark::State& state) {
  GetFixture* f = GetGetFixture();
  size_t i = 0;
  uint64_t found = 0;
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    const std::optional<absl::string_view> value = f->reader->Get(0, f->queries[i]);
    found += value.has_value();
    benchmark::DoNotOptimize(value);
    if (++i == f->queries.size()) i = 0;
  }
  const double wall = Seconds(Clock::now() - start);
  if (found != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("a key was not found");
  }
  state.SetItemsProcessed(state.iterations());
  const double per_second_wall = static_cast<double>(state.iterations()) / wall;
  state.counters["lookups_per_s_wall"] = per_second_wall;
  state.counters["target_met"] = per_second_wall >= 5e6 ? 1 : 0;  // 5 M lookups/s, one core.
}
BENCHMARK(BM_RandomGet);
BENCHMARK(BM_RandomGet)->UseRealTime();

void BM_ReaderLowerBound(benchmark::State& state) {
  GetFixture* f = GetGetFixture();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f->reader->LowerBound(0, f->queries[i]));
    if (++i == f->queries.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReaderLowerBound);

void BM_StdLowerBound(benchmark::State& state) {
  GetFixture* f = GetGetFixture();
  size_t i = 0;
  for (auto _ : state) {
    auto it = std::lower_bound(f->keys.begin(), f->keys.end(), f->queries[i]);
    benchmark::DoNotOptimize(it);
    if (++i == f->queries.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StdLowerBound);

void BM_Commit(benchmark::State& state) {
  const std::string path = BenchDir() + "/commit.fpyr";
  WriterOptions options;
  options.overwrite = true;
  std::unique_ptr<Writer> writer = *Writer::Create(path, options);
  for (int s = 0; s < 8; ++s) (void)writer->AddSection(absl::StrCat("z", s));
  uint64_t key = 0;
  const std::string value(4096, 'c');
  for (auto _ : state) {
    state.PauseTiming();
    ++key;
    for (int i = 0; i < 64; ++i) (void)writer->Append(i % 8, key * 64 + i, value);
    state.ResumeTiming();
    if (!writer->Commit().ok()) state.SkipWithError("commit failed");
  }
  writer.reset();
  ::unlink(path.c_str());
}
BENCHMARK(BM_Commit)->Unit(benchmark::kMicrosecond)->Iterations(200);

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
