// Reader: maps the file, picks the newest valid header slot, checks every array lies inside
// the file, then serves lookups straight from the map.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
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
  struct SectionView {
    std::string name;
    const char* keys;
    const char* locations;
    const char* values;
    uint64_t count;
    uint64_t values_length;
    // Every kFenceStride-th key, copied into memory on the first lookup of a big section, so
    // that the top of the search stays in cache (n/8 bytes for n keys).
    struct Fences {
      std::once_flag once;
      std::vector<uint64_t> keys;
    };
    std::unique_ptr<Fences> fences;
  };

  static absl::StatusOr<std::unique_ptr<Impl>> Open(const std::string& path,
                                                    const ReaderOptions& options) {
    Env* env = options.env != nullptr ? options.env : Env::Default();
    auto impl = std::make_unique<Impl>();
    impl->path_ = path;
    absl::StatusOr<std::unique_ptr<File>> file = env->Open(path, OpenMode::kReadOnly);
    if (!file.ok()) return file.status();
    impl->file_ = *std::move(file);
    absl::Status status = impl->file_->TryLock(LockMode::kShared);
    if (absl::IsUnavailable(status)) {
      if (!options.allow_being_written) {
        return absl::UnavailableError(
            path +
            ": being written by another process (a Writer holds its lock); pass "
            "ReaderOptions::allow_being_written to read its last committed state");
      }
    } else if (!status.ok()) {
      return status;
    }
    absl::StatusOr<uint64_t> size = impl->file_->Size();
    if (!size.ok()) return size.status();
    if (*size < internal::kDataStart) {
      return absl::DataLossError(
          absl::StrCat(path, ": ", *size, " bytes, smaller than the ", internal::kDataStart,
                       "-byte header region: not a flatpyramid store, or truncated"));
    }
    absl::StatusOr<std::unique_ptr<MappedRegion>> map = impl->file_->Map(*size);
    if (!map.ok()) return map.status();
    impl->map_ = *std::move(map);
    // Lookups touch a few pages each (header, keys, a location, a value): without this, the
    // first page fault's read-around (the device's readahead, megabytes on many disks) reads a
    // whole neighbourhood of the file, and cold lookups wait behind it.
    impl->map_->Advise(0, *size, AccessPattern::kRandom);
    const absl::string_view bytes = impl->map_->data();
    absl::StatusOr<Header> header = internal::NewestHeader(
        bytes.substr(0, internal::kSlotSize),
        bytes.substr(internal::kSlotSize, internal::kSlotSize), impl->slot_errors_);
    if (!header.ok()) return impl->Annotate(header.status());
    impl->header_ = *std::move(header);
    const PendingMove move = impl->header_.pending();
    absl::StatusOr<internal::MoveState> state = internal::JudgeMove(move, *size);
    if (!state.ok()) return impl->Annotate(state.status());
    if (*state == internal::MoveState::kInterrupted) {
      return absl::FailedPreconditionError(
          path +
          ": a writer stopped in the middle of moving the file's tail (filesystem "
          "without INSERT_RANGE); Writer::OpenForAppend finishes the move");
    }
    if (*state == internal::MoveState::kApplied) {
      status = internal::ApplyMove(move, &impl->header_);
      if (!status.ok()) return impl->Annotate(status);
    }
    impl->header_.clear_pending();
    status = internal::ValidateLayout(impl->header_, *size);
    if (!status.ok()) return impl->Annotate(status);
    for (const Section& section : impl->header_.sections()) {
      impl->sections_.push_back({section.name(), bytes.data() + section.keys().offset(),
                                 bytes.data() + section.locations().offset(),
                                 bytes.data() + section.values().offset(), section.entry_count(),
                                 section.values_length(), std::make_unique<SectionView::Fences>()});
    }
    return impl;
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

  static constexpr uint64_t kFenceStride = 64;        // Keys per block: 512 bytes, 8 lines.
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

  // LowerBound searches the in-memory fences first, then one 64-key block of the map whose
  // 8 cache lines are fetched in parallel.
  static uint64_t LowerBound(const SectionView& s, uint64_t key) {
    return LowerBoundPrefetching(s, key, /*prefetch_locations=*/false);
  }

  // prefetch_locations also starts fetching the block's locations (Get reads one of them), so
  // that miss overlaps the search instead of following it.
  static uint64_t LowerBoundPrefetching(const SectionView& s, uint64_t key,
                                        bool prefetch_locations) {
    const char* keys = s.keys;
    if (s.count < kFenceMinEntries) {
      return BranchFreeLowerBound(
          s.count, key, [keys](uint64_t i) { return absl::little_endian::Load64(keys + i * 8); });
    }
    std::call_once(s.fences->once, [&s] {
      s.fences->keys.reserve((s.count + kFenceStride - 1) / kFenceStride);
      for (uint64_t i = 0; i < s.count; i += kFenceStride) s.fences->keys.push_back(LoadKey(s, i));
    });
    const uint64_t* fences = s.fences->keys.data();
    // First fence >= key: the answer is in the block before it (whose first key is < key).
    const uint64_t fence = BranchFreeLowerBound(s.fences->keys.size(), key,
                                                [fences](uint64_t i) { return fences[i]; });
    if (fence == 0) return 0;
    const uint64_t begin = (fence - 1) * kFenceStride;
    const uint64_t length = std::min(kFenceStride, s.count - begin);
    const char* block = keys + begin * kKeySize;
    for (uint64_t line = 0; line < length * kKeySize; line += 64) __builtin_prefetch(block + line);
    if (prefetch_locations) {
      const char* locations = s.locations + begin * kLocationSize;
      for (uint64_t line = 0; line < length * kLocationSize; line += 64) {
        __builtin_prefetch(locations + line);
      }
    }
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
  return Impl::ValueOf(s, index);
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

}  // namespace storage
}  // namespace flatpyramid
