// Reader: maps the file, picks the newest valid header slot, checks every array lies inside
// the file, then serves lookups straight from the map.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/crc32c.h"
#include "storage/internal/format.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {

using internal::kKeySize;
using internal::kLocationSize;

class Reader::Impl {
 public:
  // FenceIndex: every kFenceStride-th key of a big section, and every kTopStride-th of
  // those, copied into memory by the section's first lookup (n/2 + n/128 bytes for n keys)
  // so that the search touches the map only for one 16-key block. The top level of a
  // 1,000,000-key section is 7.8 KB (stays in L1). Published with one atomic pointer:
  // concurrent first lookups may each build it, one wins, no lock is taken.
  struct FenceIndex {
    std::vector<uint64_t> fences;
    std::vector<uint64_t> top;
  };
  struct Fences {
    std::atomic<FenceIndex*> index{nullptr};
    ~Fences() { delete index.load(); }
  };
  static_assert(std::atomic<FenceIndex*>::is_always_lock_free, "lookups must not take a lock");

  struct SectionView {
    std::string name;
    const char* keys;
    const char* locations;
    const char* values;
    uint64_t count;
    uint64_t values_length;
    std::unique_ptr<Fences> fences;
  };

  // A writer that holds the lock may change the file while Open reads it; Open retries this
  // many times (sleeping 1, 2, 4, ... ms) before it gives up with kUnavailable.
  static constexpr int kOpenAttempts = 8;

  static absl::StatusOr<std::unique_ptr<Impl>> Open(const std::string& path,
                                                    const ReaderOptions& options) {
    Env* env = options.env != nullptr ? options.env : Env::Default();
    auto impl = std::make_unique<Impl>();
    impl->path_ = path;
    absl::StatusOr<std::unique_ptr<File>> file = env->Open(path, OpenMode::kReadOnly);
    if (!file.ok()) return file.status();
    impl->file_ = *std::move(file);
    absl::Status status = impl->file_->TryLock(LockMode::kShared);
    const bool being_written = absl::IsUnavailable(status);
    if (being_written) {
      if (!options.allow_being_written) {
        return absl::UnavailableError(
            path +
            ": being written by another process (a Writer holds its lock); pass "
            "ReaderOptions::allow_being_written to read its last committed state");
      }
    } else if (!status.ok()) {
      return status;
    }
    if (!being_written) {
      status = impl->Load(/*being_written=*/false);
      if (!status.ok()) return status;
      return impl;
    }
    std::chrono::milliseconds pause(1);
    for (int attempt = 0;; ++attempt) {
      status = impl->Load(/*being_written=*/true);
      if (!absl::IsAborted(status)) break;  // Aborted: the writer changed the file meanwhile.
      if (attempt + 1 == kOpenAttempts) {
        return absl::UnavailableError(
            absl::StrCat(path, ": the writer kept changing the file while it was being opened (",
                         status.message(), "); retry later"));
      }
      std::this_thread::sleep_for(pause);
      pause *= 2;
    }
    if (!status.ok()) return status;
    return impl;
  }

  // ReadHeader reads both slots with pread (the first block of each, the rest of a payload
  // only when it is longer) and returns the newest valid header.
  absl::StatusOr<Header> ReadHeader() {
    std::string slots[internal::kSlotCount];
    for (int i = 0; i < internal::kSlotCount; ++i) {
      std::string& slot = slots[i];
      slot.resize(internal::kBlockSize);
      const uint64_t at = i * internal::kSlotSize;
      absl::Status status = file_->Read(at, slot.size(), &slot[0]);
      if (!status.ok()) return status;
      const uint32_t length = absl::little_endian::Load32(slot.data() + 12);
      if (length <= internal::kMaxPayloadSize && internal::kSlotPrefixSize + length > slot.size()) {
        const size_t first = slot.size();
        slot.resize(internal::kSlotPrefixSize + length);
        status = file_->Read(at + first, slot.size() - first, &slot[first]);
        if (!status.ok()) return status;
      }
    }
    absl::StatusOr<Header> header = internal::NewestHeader(slots[0], slots[1], slot_errors_);
    if (!header.ok()) return Annotate(header.status());
    return header;
  }

  // Load reads the header, resolves a recorded move, maps the file and checks the layout. When
  // a writer holds the lock (`being_written`), a seqlock-style check: no move may be in
  // progress, and the size and the newest generation must be the same after the map as before
  // (kAborted otherwise, also when a check failed meanwhile, and Open tries again).
  absl::Status Load(bool being_written) {
    map_.reset();
    sections_.clear();
    absl::StatusOr<uint64_t> size = file_->Size();
    if (!size.ok()) return size.status();
    std::optional<uint64_t> generation;
    absl::Status status = MapAndCheck(*size, being_written, &generation);
    if (being_written) {
      absl::StatusOr<uint64_t> size_after = file_->Size();
      if (!size_after.ok()) return size_after.status();
      std::optional<uint64_t> generation_after;
      if (*size_after >= internal::kDataStart) {
        absl::StatusOr<Header> after = ReadHeader();
        if (after.ok()) generation_after = after->generation();
      }
      if (*size_after != *size || generation_after != generation) {
        map_.reset();
        return absl::AbortedError("the file changed while it was being opened");
      }
    }
    if (!status.ok()) {
      map_.reset();
      return status;
    }
    // Lookups touch a few pages each (header, keys, a location, a value): without this, the
    // first page fault's read-around (the device's readahead, megabytes on many disks) reads a
    // whole neighbourhood of the file, and cold lookups wait behind it.
    map_->Advise(0, *size, AccessPattern::kRandom);
    const absl::string_view bytes = map_->data();
    for (const Section& section : header_.sections()) {
      sections_.push_back({section.name(), bytes.data() + section.keys().offset(),
                           bytes.data() + section.locations().offset(),
                           bytes.data() + section.values().offset(), section.entry_count(),
                           section.values_length(), std::make_unique<Fences>()});
    }
    return absl::OkStatus();
  }

  // MapAndCheck is Load's work on a file of `size` bytes; `generation` receives the generation
  // of the header it read.
  absl::Status MapAndCheck(uint64_t size, bool being_written, std::optional<uint64_t>* generation) {
    if (size < internal::kDataStart) {
      return absl::DataLossError(
          absl::StrCat(path_, ": ", size, " bytes, smaller than the ", internal::kDataStart,
                       "-byte header region: not a flatpyramid store, or truncated"));
    }
    absl::StatusOr<Header> header = ReadHeader();
    if (!header.ok()) return header.status();
    header_ = *std::move(header);
    *generation = header_.generation();
    const PendingMove move = header_.pending();
    absl::StatusOr<internal::MoveState> state = internal::JudgeMove(move, size);
    if (!state.ok()) return Annotate(state.status());
    // A live writer may be in the middle of the recorded move. Only a fallocate move that is
    // visibly done (the size after it, the shift checks at their new place) is read; anything
    // else is retried: the move is about to start, or running.
    const bool done =
        *state == internal::MoveState::kApplied &&
        (move.kind() == PendingMove::INSERT_RANGE || move.kind() == PendingMove::COLLAPSE_RANGE);
    if (being_written && *state != internal::MoveState::kNone && !done) {
      return absl::AbortedError("the writer is moving data (growing or trimming an array)");
    }
    if (*state == internal::MoveState::kInterrupted) {
      return absl::FailedPreconditionError(
          path_ +
          ": a writer stopped in the middle of moving the file's tail (filesystem "
          "without INSERT_RANGE); Writer::OpenForAppend (Writer::OpenForUpdate for a sealed "
          "file, as build_pyramid --update --resume does) finishes the move");
    }
    absl::Status status = internal::CheckShift(move, *state, size, file_.get());
    if (being_written && !status.ok()) {
      return absl::AbortedError("the writer is moving data (shift checks do not match yet)");
    }
    if (!status.ok()) return Annotate(status);
    if (*state == internal::MoveState::kApplied) {
      status = internal::ApplyMove(move, &header_);
      if (!status.ok()) return Annotate(status);
    }
    header_.clear_pending();
    status = internal::ValidateLayout(header_, size);
    if (!status.ok()) return Annotate(status);
    absl::StatusOr<std::unique_ptr<MappedRegion>> map = file_->Map(size);
    if (!map.ok()) return map.status();
    map_ = *std::move(map);
    return absl::OkStatus();
  }

  absl::Status Annotate(const absl::Status& status) const {
    return absl::Status(status.code(), absl::StrCat(path_, ": ", status.message()));
  }

  std::optional<uint32_t> FindSection(absl::string_view name) const {
    for (size_t s = 0; s < sections_.size(); ++s) {
      if (sections_[s].name == name) return static_cast<uint32_t>(s);
    }
    return std::nullopt;
  }

  static uint64_t LoadKey(const SectionView& s, uint64_t index) {
    return absl::little_endian::Load64(s.keys + index * kKeySize);
  }

  static constexpr uint64_t kFenceStride = 16;        // Keys per block: 128 bytes, 2 lines.
  static constexpr uint64_t kTopStride = 64;          // Fences per top entry: 512 bytes.
  static constexpr uint64_t kFenceMinEntries = 8192;  // Smaller sections: plain search.

  // Branch-free lower bound over keys[0, count): the loop runs log2(count) times whatever the
  // data, and the comparison becomes a conditional move.
  template <typename Load>
  static uint64_t BranchFreeLowerBound(uint64_t count, uint64_t key, Load load) {
    if (count == 0) return 0;
    uint64_t base = 0;
    while (count > 1) {
      const uint64_t half = count / 2;
      base = load(base + half - 1) < key ? base + half : base;
      count -= half;
    }
    return base + (load(base) < key ? 1 : 0);
  }

  // TouchLines loads one byte of each cache line of [data, data + bytes), so that the lines
  // arrive in parallel (the results are not waited for). Loads, not __builtin_prefetch: a
  // prefetch into a page missing from the TLB overlaps worse (measured with storage_benchmark's
  // Get; see testing/bench/RESULTS.md).
  static void TouchLines(const char* data, uint64_t bytes) {
    for (uint64_t line = 0; line < bytes; line += 64) {
      (void)*reinterpret_cast<const volatile char*>(data + line);
    }
  }

  // FencesOf returns the fence index of `s`, building it on first use (lock-free).
  static const FenceIndex& FencesOf(const SectionView& s) {
    FenceIndex* index = s.fences->index.load(std::memory_order_acquire);
    if (index != nullptr) return *index;
    auto built = std::make_unique<FenceIndex>();
    built->fences.reserve((s.count + kFenceStride - 1) / kFenceStride);
    for (uint64_t i = 0; i < s.count; i += kFenceStride) built->fences.push_back(LoadKey(s, i));
    for (uint64_t i = 0; i < built->fences.size(); i += kTopStride) {
      built->top.push_back(built->fences[i]);
    }
    FenceIndex* expected = nullptr;
    if (s.fences->index.compare_exchange_strong(expected, built.get(), std::memory_order_acq_rel,
                                                std::memory_order_acquire)) {
      return *built.release();
    }
    return *expected;  // Another thread published first; ours is dropped.
  }

  // LowerBound searches the top fences (in L1), then one block of 64 fences, then one block
  // of 16 keys of the map; each block's cache lines are fetched in parallel.
  static uint64_t LowerBound(const SectionView& s, uint64_t key) {
    return LowerBoundPrefetching(s, key, /*prefetch_locations=*/false);
  }

  // prefetch_locations also starts fetching the key block's locations (Get reads one of
  // them), so that miss overlaps the search instead of following it.
  static uint64_t LowerBoundPrefetching(const SectionView& s, uint64_t key,
                                        bool prefetch_locations) {
    const char* keys = s.keys;
    if (s.count < kFenceMinEntries) {
      return BranchFreeLowerBound(
          s.count, key, [keys](uint64_t i) { return absl::little_endian::Load64(keys + i * 8); });
    }
    const FenceIndex& index = FencesOf(s);
    // First top fence >= key: the first fence >= key is in the top entry's block before it
    // (or is that top fence itself, the block's end).
    const uint64_t* top = index.top.data();
    const uint64_t t =
        BranchFreeLowerBound(index.top.size(), key, [top](uint64_t i) { return top[i]; });
    if (t == 0) return 0;
    const uint64_t fence_begin = (t - 1) * kTopStride;
    const uint64_t fence_length = std::min(kTopStride, index.fences.size() - fence_begin);
    const uint64_t* fences = index.fences.data() + fence_begin;
    TouchLines(reinterpret_cast<const char*>(fences), fence_length * sizeof(uint64_t));
    // First fence >= key: the answer is in the key block before it (whose first key is < key).
    const uint64_t fence =
        fence_begin +
        BranchFreeLowerBound(fence_length, key, [fences](uint64_t i) { return fences[i]; });
    if (fence == 0) return 0;
    const uint64_t begin = (fence - 1) * kFenceStride;
    const uint64_t length = std::min(kFenceStride, s.count - begin);
    const char* block = keys + begin * kKeySize;
    TouchLines(block, length * kKeySize);
    if (prefetch_locations) TouchLines(s.locations + begin * kLocationSize, length * kLocationSize);
    return begin + BranchFreeLowerBound(length, key, [block](uint64_t i) {
             return absl::little_endian::Load64(block + i * 8);
           });
  }

  static ValueRef RefAt(const SectionView& s, uint64_t index) {
    const char* location = s.locations + index * kLocationSize;
    return ValueRef{absl::little_endian::Load64(location),
                    absl::little_endian::Load64(location + 8)};
  }

  static std::optional<absl::string_view> ValueOf(const SectionView& s, uint64_t index) {
    const ValueRef ref = RefAt(s, index);
    if (ref.offset > s.values_length || ref.length > s.values_length - ref.offset) {
      return std::nullopt;  // Corrupt location: never read outside the blob.
    }
    return absl::string_view(s.values + ref.offset, ref.length);
  }

  absl::Status Verify() const {
    if (header_.sealed()) {
      for (int i = 0; i < internal::kSlotCount; ++i) {
        if (!slot_errors_[i].ok()) return Annotate(slot_errors_[i]);
      }
    }
    for (size_t i = 0; i < sections_.size(); ++i) {
      const SectionView& s = sections_[i];
      const Section& section = header_.sections(static_cast<int>(i));
      const std::string where = absl::StrCat(path_, ": section ", i, " '", s.name, "': ");
      for (uint64_t j = 1; j < s.count; ++j) {
        if (LoadKey(s, j) <= LoadKey(s, j - 1)) {
          return absl::DataLossError(absl::StrCat(where, "key ", j, " (", LoadKey(s, j),
                                                  ") is not greater than key ", j - 1, " (",
                                                  LoadKey(s, j - 1), ")"));
        }
      }
      for (uint64_t j = 0; j < s.count; ++j) {
        if (!ValueOf(s, j).has_value()) {
          const ValueRef ref = RefAt(s, j);
          return absl::DataLossError(absl::StrCat(where, "entry ", j, " points at [", ref.offset,
                                                  ", +", ref.length, ") outside its ",
                                                  s.values_length, "-byte value blob"));
        }
      }
      if (!header_.sealed()) continue;
      if (section.state() != SECTION_SEALED) {
        return absl::DataLossError(where + "the file is sealed but the section is not");
      }
      struct Check {
        const char* name;
        const char* data;
        uint64_t length;
        uint32_t expected;
      } checks[] = {
          {"keys", s.keys, s.count * kKeySize, section.keys_crc32c()},
          {"locations", s.locations, s.count * kLocationSize, section.locations_crc32c()},
          {"values", s.values, s.values_length, section.values_crc32c()},
      };
      for (const Check& check : checks) {
        const uint64_t offset = static_cast<uint64_t>(check.data - map_->data().data());
        map_->Advise(offset, check.length, AccessPattern::kSequential);
        const uint32_t actual = internal::Crc32cExtend(0, check.data, check.length);
        map_->Advise(offset, check.length, AccessPattern::kRandom);
        if (actual != check.expected) {
          return absl::DataLossError(absl::StrCat(where, check.name, " array CRC32C is ", actual,
                                                  ", the header says ", check.expected,
                                                  ": the file is corrupt"));
        }
      }
    }
    return absl::OkStatus();
  }

  std::string path_;
  std::unique_ptr<File> file_;  // Kept open: it holds the shared lock.
  std::unique_ptr<MappedRegion> map_;
  Header header_;
  absl::Status slot_errors_[internal::kSlotCount];
  std::vector<SectionView> sections_;
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                                     const ReaderOptions& options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Open(path, options);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Reader>(new Reader(*std::move(impl)));
}

uint32_t Reader::section_count() const { return static_cast<uint32_t>(impl_->sections_.size()); }
absl::string_view Reader::section_name(uint32_t section) const {
  return impl_->sections_[section].name;
}
std::optional<uint32_t> Reader::FindSection(absl::string_view name) const {
  return impl_->FindSection(name);
}
uint64_t Reader::entry_count(uint32_t section) const { return impl_->sections_[section].count; }

std::optional<absl::string_view> Reader::Get(uint32_t section, uint64_t key) const {
  const Impl::SectionView& s = impl_->sections_[section];
  const uint64_t index = Impl::LowerBoundPrefetching(s, key, /*prefetch_locations=*/true);
  if (index == s.count || Impl::LoadKey(s, index) != key) return std::nullopt;
  return Impl::ValueOf(s, index).value_or(absl::string_view());  // Corrupt location: empty.
}

uint64_t Reader::KeyAt(uint32_t section, uint64_t index) const {
  return Impl::LoadKey(impl_->sections_[section], index);
}
absl::string_view Reader::ValueAt(uint32_t section, uint64_t index) const {
  return Impl::ValueOf(impl_->sections_[section], index).value_or(absl::string_view());
}
ValueRef Reader::ValueRefAt(uint32_t section, uint64_t index) const {
  return Impl::RefAt(impl_->sections_[section], index);
}
uint64_t Reader::LowerBound(uint32_t section, uint64_t key) const {
  return Impl::LowerBound(impl_->sections_[section], key);
}
absl::string_view Reader::user_metadata_type() const { return impl_->header_.user_metadata_type(); }
absl::string_view Reader::user_metadata() const { return impl_->header_.user_metadata(); }
bool Reader::sealed() const { return impl_->header_.sealed(); }
uint64_t Reader::generation() const { return impl_->header_.generation(); }
absl::Status Reader::Verify() const { return impl_->Verify(); }

absl::StatusOr<Reader::ValueBytesInFile> Reader::LocateValues(uint32_t section,
                                                              ValueRef range) const {
  if (section >= impl_->sections_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(impl_->path_, ": no section ", section, " (",
                                                   impl_->sections_.size(), " sections)"));
  }
  const Impl::SectionView& view = impl_->sections_[section];
  if (range.offset > view.values_length || range.length > view.values_length - range.offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        impl_->path_, ": section '", view.name, "': value bytes [", range.offset, ", +",
        range.length, ") are not inside its ", view.values_length, "-byte value blob"));
  }
  const uint64_t blob = static_cast<uint64_t>(view.values - impl_->map_->data().data());
  return ValueBytesInFile{impl_->file_.get(), blob + range.offset};
}

}  // namespace storage
}  // namespace flatpyramid
