// Writer::Impl's changes of a file beyond appends: ReplaceEntries (a new index written after
// the committed one, shown by the next commit) and the checksums a commit of a file changed in
// place extends over what it added (FORMAT.md, "Changing a sealed file").
#include <string>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/format.h"
#include "storage/internal/writer_impl.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {

using internal::kKeySize;
using internal::kLocationSize;
using internal::RoundUpToBlock;

absl::Status Writer::Impl::ReplaceEntries(uint32_t section) {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  if (absl::Status status = CheckSection(section); !status.ok()) return status;
  SectionRuntime& runtime = sections_[section];
  if (runtime.replacing || layout_.sections(section).entry_count() != runtime.committed_entries) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": section '", layout_.sections(section).name(), "': ",
                     runtime.replacing ? "its entries are being replaced already"
                                       : "entries were added since the last commit",
                     "; commit before replacing its entries"));
  }
  // The new index goes right after the committed one, in the arrays' room (grown as
  // appends need): nothing committed is overwritten.
  runtime.key_base = RoundUpToBlock(runtime.committed_entries * kKeySize);
  runtime.location_base = RoundUpToBlock(runtime.committed_entries * kLocationSize);
  runtime.replacing = true;
  runtime.running_crcs_valid = false;
  runtime.flushed_entries = 0;
  runtime.last_key.reset();
  layout_.mutable_sections(section)->set_entry_count(0);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Entry>> Writer::Impl::ReadCommittedEntries(uint32_t section) {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  if (absl::Status status = CheckSection(section); !status.ok()) return status;
  const Section& layout = layout_.sections(section);
  const uint64_t count = sections_[section].committed_entries;
  std::vector<Entry> entries(count);
  if (count == 0) return entries;
  std::string keys(count * kKeySize, '\0');
  std::string locations(count * kLocationSize, '\0');
  absl::Status status = file_->Read(layout.keys().offset(), keys.size(), &keys[0]);
  if (status.ok()) {
    status = file_->Read(layout.locations().offset(), locations.size(), &locations[0]);
  }
  if (!status.ok()) return status;
  for (uint64_t i = 0; i < count; ++i) {
    entries[i].key = absl::little_endian::Load64(keys.data() + i * kKeySize);
    entries[i].value.offset = absl::little_endian::Load64(locations.data() + i * kLocationSize);
    entries[i].value.length = absl::little_endian::Load64(locations.data() + i * kLocationSize + 8);
  }
  return entries;
}

absl::StatusOr<Header> Writer::Impl::CommitView() {
  Header header = View(/*committed=*/false);
  for (int s = 0; s < header.sections_size(); ++s) {
    Section* section = header.mutable_sections(s);
    if (updating_) {
      for (ArrayKind kind : kArrayKinds) {
        absl::StatusOr<uint32_t> crc = ExtendedCrc(s, kind);
        if (!crc.ok()) return crc.status();
        SetCrc(section, kind, *crc);
      }
    }
    const SectionRuntime& runtime = sections_[s];
    if (!runtime.replacing) continue;
    const auto start_at = [](ArrayExtent* extent, uint64_t base) {
      extent->set_offset(extent->offset() + base);
      extent->set_capacity(extent->capacity() - base);
    };
    start_at(section->mutable_keys(), runtime.key_base);
    start_at(section->mutable_locations(), runtime.location_base);
  }
  return header;
}

absl::StatusOr<uint32_t> Writer::Impl::ExtendedCrc(int s, ArrayKind kind) {
  const Section& section = layout_.sections(s);
  const SectionRuntime& runtime = sections_[s];
  uint64_t begin = internal::Array(section, kind).offset();
  uint64_t from = 0;  // Used bytes the committed CRC covers.
  uint32_t crc = 0;
  if (kind == ARRAY_VALUES) {
    from = runtime.committed_values_length;
    crc = section.values_crc32c();
  } else if (runtime.replacing) {
    begin += kind == ARRAY_KEYS ? runtime.key_base : runtime.location_base;
  } else {
    const bool keys = kind == ARRAY_KEYS;
    from = runtime.committed_entries * (keys ? kKeySize : kLocationSize);
    crc = keys ? section.keys_crc32c() : section.locations_crc32c();
  }
  std::string buffer;
  return FileCrc(begin + from, internal::UsedBytes(section, kind) - from, nullptr, &buffer, crc);
}

}  // namespace storage
}  // namespace flatpyramid
