// Writer::Impl's appends: entries and values (also copied from another store, and read back),
// the per-section buffers of keys, locations and small values, and their flushes to the arrays
// (each array grown first, writer_moves.cc).
#include <optional>
#include <string>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/crc32c.h"
#include "storage/internal/format.h"
#include "storage/internal/writer_impl.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {

using internal::kKeySize;
using internal::kLocationSize;

namespace {

constexpr size_t kIndexBufferFlush = 64 << 10;  // Buffered key/location bytes per section.
// Small values are gathered per section and written this many bytes at a time (one pwrite per
// tile costs more than copying the tile); a value at least this long is written directly.
constexpr size_t kValueBufferFlush = 1 << 20;

}  // namespace

absl::Status Writer::Impl::CheckKey(uint32_t section, uint64_t key) const {
  const std::optional<uint64_t>& last = sections_[section].last_key;
  if (last.has_value() && key <= *last) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": section '", layout_.sections(section).name(), "': key ", key,
                     key == *last ? " repeats the last key" : " is smaller than the last key ",
                     *last, "; keys must be appended in strictly increasing order"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ValueRef> Writer::Impl::Append(uint32_t section, uint64_t key,
                                              absl::string_view value) {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  if (absl::Status status = CheckSection(section); !status.ok()) return status;
  if (absl::Status status = CheckKey(section, key); !status.ok()) return status;
  const uint64_t values_length = layout_.sections(section).values_length();
  absl::Status status = Reserve(section, ARRAY_VALUES, values_length + value.size());
  if (status.ok()) status = BufferValue(section, value);
  if (!status.ok()) return Fail(status);
  StartWritebackEvery(value.size());
  const ValueRef ref{values_length, value.size()};
  status = AddEntry(section, key, ref);
  if (!status.ok()) return status;
  layout_.mutable_sections(section)->set_values_length(values_length + value.size());
  return ref;
}

absl::Status Writer::Impl::AppendShared(uint32_t section, uint64_t key, ValueRef existing) {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  if (absl::Status status = CheckSection(section); !status.ok()) return status;
  const uint64_t values_length = layout_.sections(section).values_length();
  if (existing.offset > values_length || existing.length > values_length - existing.offset) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": section '", layout_.sections(section).name(), "': shared value [",
                     existing.offset, ", +", existing.length, ") is not inside the ", values_length,
                     " value bytes appended so far"));
  }
  if (absl::Status status = CheckKey(section, key); !status.ok()) return status;
  return AddEntry(section, key, existing);
}

absl::StatusOr<ValueRef> Writer::Impl::AppendValueBytes(uint32_t section, File* source,
                                                        uint64_t source_offset, uint64_t length) {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  if (absl::Status status = CheckSection(section); !status.ok()) return status;
  const uint64_t values_length = layout_.sections(section).values_length();
  absl::Status status = Reserve(section, ARRAY_VALUES, values_length + length);
  if (status.ok()) status = FlushValues(section);
  if (status.ok() && length > 0) {
    stats_.bytes_written += length;
    status = file_->CopyFrom(source, source_offset,
                             layout_.sections(section).values().offset() + values_length, length);
  }
  if (!status.ok()) return Fail(status);
  StartWritebackEvery(length);
  layout_.mutable_sections(section)->set_values_length(values_length + length);
  sections_[section].values_flushed = values_length + length;
  sections_[section].running_crcs_valid = false;  // Copied by the kernel, not seen here.
  return ValueRef{values_length, length};
}

absl::StatusOr<std::string> Writer::Impl::ReadValue(uint32_t section, ValueRef ref) {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  if (absl::Status status = CheckSection(section); !status.ok()) return status;
  const uint64_t values_length = layout_.sections(section).values_length();
  if (ref.offset > values_length || ref.length > values_length - ref.offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": section '", layout_.sections(section).name(), "': value [", ref.offset, ", +",
        ref.length, ") is not inside its ", values_length, " value bytes"));
  }
  absl::Status status = absl::OkStatus();
  if (ref.offset + ref.length > sections_[section].values_flushed) {
    status = FlushValues(section);  // The bytes are still in the buffer.
    if (!status.ok()) return Fail(status);
  }
  std::string value(ref.length, '\0');
  if (ref.length > 0) {
    status = file_->Read(layout_.sections(section).values().offset() + ref.offset, ref.length,
                         &value[0]);
  }
  if (!status.ok()) return status;
  return value;
}

void Writer::Impl::StartWritebackEvery(uint64_t appended) {
  // Keep the kernel writing appended values as they come, as a plain sequential write()
  // gets from background writeback: otherwise each growth's and commit's fdatasync waits
  // for everything appended since the last one, and the appends stall meanwhile.
  unstarted_writeback_bytes_ += appended;
  if (unstarted_writeback_bytes_ >= kWritebackStep) {
    file_->StartWriteback();
    unstarted_writeback_bytes_ = 0;
  }
}

absl::Status Writer::Impl::AddEntry(uint32_t section, uint64_t key, ValueRef ref) {
  const uint64_t count = layout_.sections(section).entry_count();
  SectionRuntime& runtime = sections_[section];
  absl::Status status = Reserve(section, ARRAY_KEYS, runtime.key_base + (count + 1) * kKeySize);
  if (status.ok()) {
    status = Reserve(section, ARRAY_LOCATIONS, runtime.location_base + (count + 1) * kLocationSize);
  }
  if (!status.ok()) return Fail(status);
  char key_bytes[kKeySize];
  char location_bytes[kLocationSize];
  absl::little_endian::Store64(key_bytes, key);
  absl::little_endian::Store64(location_bytes, ref.offset);
  absl::little_endian::Store64(location_bytes + 8, ref.length);
  runtime.key_buffer.append(key_bytes, kKeySize);
  runtime.location_buffer.append(location_bytes, kLocationSize);
  if (runtime.running_crcs_valid) {
    runtime.running_crcs[0] = internal::Crc32cExtend(runtime.running_crcs[0], key_bytes, kKeySize);
    runtime.running_crcs[1] =
        internal::Crc32cExtend(runtime.running_crcs[1], location_bytes, kLocationSize);
  }
  runtime.last_key = key;
  layout_.mutable_sections(section)->set_entry_count(count + 1);
  if (runtime.location_buffer.size() >= kIndexBufferFlush) {
    status = FlushBuffers(section);
    if (!status.ok()) return Fail(status);
  }
  return absl::OkStatus();
}

absl::Status Writer::Impl::BufferValue(uint32_t section, absl::string_view value) {
  SectionRuntime& runtime = sections_[section];
  if (runtime.running_crcs_valid) {
    runtime.running_crcs[2] =
        internal::Crc32cExtend(runtime.running_crcs[2], value.data(), value.size());
  }
  if (value.size() >= kValueBufferFlush) {
    absl::Status status = FlushValues(section);
    if (!status.ok()) return status;
    status = WriteFile(layout_.sections(section).values().offset() + runtime.values_flushed, value);
    if (status.ok()) runtime.values_flushed += value.size();
    return status;
  }
  // Its whole size at once: growing it by doubling copies and faults it in again and again.
  if (runtime.value_buffer.capacity() < 2 * kValueBufferFlush) {
    runtime.value_buffer.reserve(2 * kValueBufferFlush);
  }
  runtime.value_buffer.append(value.data(), value.size());
  return runtime.value_buffer.size() >= kValueBufferFlush ? FlushValues(section) : absl::OkStatus();
}

absl::Status Writer::Impl::FlushValues(uint32_t section) {
  SectionRuntime& runtime = sections_[section];
  if (runtime.value_buffer.empty()) return absl::OkStatus();
  absl::Status status = WriteFile(
      layout_.sections(section).values().offset() + runtime.values_flushed, runtime.value_buffer);
  if (!status.ok()) return status;
  runtime.values_flushed += runtime.value_buffer.size();
  runtime.value_buffer.clear();
  return absl::OkStatus();
}

absl::Status Writer::Impl::FlushBuffers(uint32_t section) {
  absl::Status values = FlushValues(section);
  if (!values.ok()) return values;
  SectionRuntime& runtime = sections_[section];
  if (runtime.key_buffer.empty()) return absl::OkStatus();
  const Section& layout = layout_.sections(section);
  absl::Status status =
      WriteFile(layout.keys().offset() + runtime.key_base + runtime.flushed_entries * kKeySize,
                runtime.key_buffer);
  if (status.ok()) {
    status = WriteFile(layout.locations().offset() + runtime.location_base +
                           runtime.flushed_entries * kLocationSize,
                       runtime.location_buffer);
  }
  if (!status.ok()) return status;
  runtime.flushed_entries += runtime.key_buffer.size() / kKeySize;
  runtime.key_buffer.clear();
  runtime.location_buffer.clear();
  return absl::OkStatus();
}

absl::Status Writer::Impl::FlushAllBuffers() {
  for (uint32_t s = 0; s < sections_.size(); ++s) {
    absl::Status status = FlushBuffers(s);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace storage
}  // namespace flatpyramid
