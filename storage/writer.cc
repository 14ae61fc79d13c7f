// Writer: appends into the three arrays of each section, grows them in place, and commits
// through the two header slots. The protocol and why each step is crash-safe are in
// storage/FORMAT.md ("Commit protocol", "Growth", "Fallback"); the comments here name the rule
// each step follows.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/crc32c.h"
#include "storage/internal/format.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {

using internal::kBlockSize;
using internal::kDataStart;
using internal::kKeySize;
using internal::kLocationSize;
using internal::kSlotSize;
using internal::RoundUpToBlock;

namespace {

constexpr size_t kIndexBufferFlush = 64 << 10;  // Buffered key/location bytes per section.
// Small values are gathered per section and written this many bytes at a time (one pwrite per
// tile costs more than copying the tile); a value at least this long is written directly.
constexpr size_t kValueBufferFlush = 1 << 20;
constexpr uint64_t kGrowthStepCap = 64 << 20;  // Cap of the file-size term of a growth.
constexpr uint64_t kCrcChunk = 4 << 20;        // Bytes read per pread by Seal's CRCs.
constexpr ArrayKind kArrayKinds[] = {ARRAY_KEYS, ARRAY_LOCATIONS, ARRAY_VALUES};

}  // namespace

class Writer::Impl {
 public:
  Impl(std::string path, std::unique_ptr<File> file, const WriterOptions& options)
      : path_(std::move(path)),
        file_(std::move(file)),
        options_(options),
        move_chunk_(RoundUpToBlock(std::max<uint64_t>(options.move_chunk_size, 1))) {
    use_fallocate_ranges_ = !options.force_fallback;
  }

  // Per-section state that is not in the header.
  struct SectionRuntime {
    std::string key_buffer;  // Appended keys not yet written to the file.
    // Appended values not yet written, from blob offset values_flushed on. Invariant:
    // values_flushed + value_buffer.size() == the section's values_length.
    std::string value_buffer;
    uint64_t values_flushed = 0;
    std::string location_buffer;  // Their locations.
    uint64_t flushed_entries = 0;
    std::optional<uint64_t> last_key;
    uint64_t committed_entries = 0;
    uint64_t committed_values_length = 0;
    // ReplaceEntries: the new index is written from these byte offsets of the keys and
    // locations arrays on (the committed entries before them stay readable until the commit,
    // which makes the arrays start there). Invariant: both 0 unless `replacing`.
    bool replacing = false;
    uint64_t key_base = 0;
    uint64_t location_base = 0;
  };

  absl::Status InitializeNew() {
    absl::Status status = file_->Truncate(kDataStart);
    if (!status.ok()) return Fail(status);
    file_size_ = kDataStart;
    // Both slots valid from the start, so that a damaged slot is always detectable.
    for (int i = 0; i < internal::kSlotCount; ++i) {
      status = WriteHeader(View(/*committed=*/true));
      if (!status.ok()) return Fail(status);
    }
    return absl::OkStatus();
  }

  // Recover reopens the file at its last committed state: an unsealed one to append, or with
  // `update` a sealed one to change in place (every header it writes then stays sealed).
  absl::Status Recover(bool update) {
    absl::StatusOr<uint64_t> size = file_->Size();
    if (!size.ok()) return size.status();
    file_size_ = *size;
    if (file_size_ < kDataStart) {
      return absl::DataLossError(absl::StrCat(path_, ": ", file_size_,
                                              " bytes, smaller than the header region: "
                                              "not a flatpyramid store, or truncated"));
    }
    std::string slots(kDataStart, '\0');
    absl::Status status = file_->Read(0, slots.size(), &slots[0]);
    if (!status.ok()) return status;
    absl::Status slot_errors[internal::kSlotCount];
    absl::StatusOr<Header> header =
        internal::NewestHeader(absl::string_view(slots).substr(0, kSlotSize),
                               absl::string_view(slots).substr(kSlotSize), slot_errors);
    if (!header.ok()) return Annotate(header.status());
    if (header->sealed() && !update) {
      return absl::FailedPreconditionError(
          path_ + ": the file is sealed; change it with Writer::OpenForUpdate");
    }
    if (!header->sealed() && update) {
      return absl::FailedPreconditionError(
          path_ + ": the file is not sealed; continue it with Writer::OpenForAppend");
    }
    updating_ = update;
    layout_ = *std::move(header);
    generation_ = layout_.generation();
    meta_type_ = committed_meta_type_ = layout_.user_metadata_type();
    meta_ = committed_meta_ = layout_.user_metadata();
    sections_.resize(layout_.sections_size());
    for (int s = 0; s < layout_.sections_size(); ++s) {
      SectionRuntime& runtime = sections_[s];
      runtime.flushed_entries = runtime.committed_entries = layout_.sections(s).entry_count();
      runtime.committed_values_length = runtime.values_flushed =
          layout_.sections(s).values_length();
    }
    const PendingMove move = layout_.pending();
    bool punch_room = false;
    status = ResolvePendingMove(move, &punch_room);
    if (!status.ok()) return status;
    layout_.clear_pending();
    status = internal::ValidateLayout(layout_, file_size_);
    if (!status.ok()) return Annotate(status);
    status = LoadLastKeys();
    if (!status.ok()) return status;
    // A clean header (no pending move) first, so that dropping bytes past the last array
    // (left by a move that never happened) is not a change any header describes.
    status = SyncIfMoved();
    if (status.ok()) status = WriteHeader(View(/*committed=*/true));
    // The room of a finished tail copy still holds stale bytes of the tail.
    if (status.ok() && punch_room) status = PunchIfSupported(move.offset(), move.length());
    if (!status.ok()) return Fail(status);
    const uint64_t end = LayoutEnd();
    if (file_size_ > end) {
      status = file_->Truncate(end);
      if (!status.ok()) return Fail(status);
      file_size_ = end;
      layout_moved_since_sync_ = true;
    }
    return absl::OkStatus();
  }

  // ResolvePendingMove brings layout_ to where the recorded `move` left the file: nothing to do,
  // a shift fallocate applied (or not), or an interrupted tail copy, which it finishes; then
  // `*punch_room` says the copy's room still holds stale bytes.
  absl::Status ResolvePendingMove(const PendingMove& move, bool* punch_room) {
    absl::Status status;
    absl::StatusOr<internal::MoveState> state = internal::JudgeMove(move, file_size_);
    if (!state.ok()) return Annotate(state.status());
    switch (*state) {
      case internal::MoveState::kNone:
        break;
      case internal::MoveState::kNotApplied:
      case internal::MoveState::kApplied:
        // A fallocate move that the filesystem applied only in part is refused here.
        status = internal::CheckShift(move, *state, file_size_, file_.get());
        if (!status.ok()) return Annotate(status);
        if (*state == internal::MoveState::kApplied) {
          status = internal::ApplyMove(move, &layout_);
          if (!status.ok()) return Annotate(status);
        }
        break;
      case internal::MoveState::kInterrupted: {
        // Validate the pre-move layout first: the copy below trusts its numbers.
        Header before = layout_;
        before.clear_pending();
        status = internal::ValidateLayout(before, move.file_size_before());
        if (!status.ok()) return Annotate(status);
        Header after = before;
        status = internal::ApplyMove(move, &after);
        if (!status.ok()) return Annotate(status);
        layout_.clear_pending();
        status = move.kind() == PendingMove::COPY_TAIL_UP ? CopyTailUp(move) : CopyTailDown(move);
        if (!status.ok()) return status;
        layout_ = after;
        *punch_room = move.kind() == PendingMove::COPY_TAIL_UP;
        break;
      }
    }
    return absl::OkStatus();
  }

  // LoadLastKeys reads each section's last committed key (appends must follow it).
  absl::Status LoadLastKeys() {
    for (int s = 0; s < layout_.sections_size(); ++s) {
      const Section& section = layout_.sections(s);
      SectionRuntime& runtime = sections_[s];
      if (section.entry_count() > 0) {
        char key[kKeySize];
        absl::Status status = file_->Read(
            section.keys().offset() + (section.entry_count() - 1) * kKeySize, kKeySize, key);
        if (!status.ok()) return status;
        runtime.last_key = absl::little_endian::Load64(key);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> AddSection(absl::string_view name, const SectionCapacity& capacity) {
    if (absl::Status status = CheckUsable(); !status.ok()) return status;
    if (name.empty()) return absl::InvalidArgumentError("AddSection: empty section name");
    if (FindSection(name).has_value()) {
      return absl::AlreadyExistsError(absl::StrCat(path_, ": section '", name, "' exists"));
    }
    // The table must still fit in a slot once the section is in it.
    Header probe = View(/*committed=*/true);
    probe.add_sections()->set_name(std::string(name));
    if (absl::StatusOr<std::string> encoded = internal::EncodeSlot(probe); !encoded.ok()) {
      return encoded.status();
    }
    // Extending the file must not race a recorded move (its size check would then fail).
    absl::Status status = absl::OkStatus();
    if (disk_has_pending_) {
      status = SyncIfMoved();
      if (status.ok()) status = WriteHeader(View(/*committed=*/true));
      if (!status.ok()) return Fail(status);
    }
    Section* section = layout_.add_sections();
    section->set_name(std::string(name));
    if (updating_) section->set_state(SECTION_SEALED);  // Its CRCs are set by every commit.
    uint64_t offset = file_size_;
    const uint64_t capacities[] = {RoundUpToBlock(std::max<uint64_t>(capacity.keys, 1)),
                                   RoundUpToBlock(std::max<uint64_t>(capacity.locations, 1)),
                                   RoundUpToBlock(std::max<uint64_t>(capacity.values, 1))};
    for (int i = 0; i < 3; ++i) {
      ArrayExtent* extent = internal::MutableArray(section, kArrayKinds[i]);
      extent->set_offset(offset);
      extent->set_capacity(capacities[i]);
      offset += capacities[i];
    }
    sections_.emplace_back();
    status = file_->Truncate(offset);  // The new room is a hole.
    if (!status.ok()) return Fail(status);
    file_size_ = offset;
    status = Sync();  // The new size before a header that names it (sync_each_step).
    if (status.ok()) status = WriteHeader(View(/*committed=*/true));
    if (!status.ok()) return Fail(status);
    layout_moved_since_sync_ = false;
    return static_cast<uint32_t>(layout_.sections_size() - 1);
  }

  std::optional<uint32_t> FindSection(absl::string_view name) const {
    for (int s = 0; s < layout_.sections_size(); ++s) {
      if (layout_.sections(s).name() == name) return static_cast<uint32_t>(s);
    }
    return std::nullopt;
  }

  absl::Status CheckSection(uint32_t section) const {
    if (section >= sections_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": no section ", section, " (", sections_.size(), " sections)"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckKey(uint32_t section, uint64_t key) const {
    const std::optional<uint64_t>& last = sections_[section].last_key;
    if (last.has_value() && key <= *last) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": section '", layout_.sections(section).name(), "': key ", key,
                       key == *last ? " repeats the last key" : " is smaller than the last key ",
                       *last, "; keys must be appended in strictly increasing order"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ValueRef> Append(uint32_t section, uint64_t key, absl::string_view value) {
    if (absl::Status status = CheckUsable(); !status.ok()) return status;
    if (absl::Status status = CheckSection(section); !status.ok()) return status;
    if (absl::Status status = CheckKey(section, key); !status.ok()) return status;
    const uint64_t values_length = layout_.sections(section).values_length();
    absl::Status status = Reserve(section, ARRAY_VALUES, values_length + value.size());
    if (status.ok()) status = BufferValue(section, value);
    if (!status.ok()) return Fail(status);
    // Keep the kernel writing appended values as they come, as a plain sequential write()
    // gets from background writeback: otherwise each growth's and commit's fdatasync waits
    // for everything appended since the last one, and the appends stall meanwhile.
    unstarted_writeback_bytes_ += value.size();
    if (unstarted_writeback_bytes_ >= kWritebackStep) {
      file_->StartWriteback();
      unstarted_writeback_bytes_ = 0;
    }
    const ValueRef ref{values_length, value.size()};
    status = AddEntry(section, key, ref);
    if (!status.ok()) return status;
    layout_.mutable_sections(section)->set_values_length(values_length + value.size());
    return ref;
  }

  absl::Status AppendShared(uint32_t section, uint64_t key, ValueRef existing) {
    if (absl::Status status = CheckUsable(); !status.ok()) return status;
    if (absl::Status status = CheckSection(section); !status.ok()) return status;
    const uint64_t values_length = layout_.sections(section).values_length();
    if (existing.offset > values_length || existing.length > values_length - existing.offset) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": section '", layout_.sections(section).name(), "': shared value [",
                       existing.offset, ", +", existing.length, ") is not inside the ",
                       values_length, " value bytes appended so far"));
    }
    if (absl::Status status = CheckKey(section, key); !status.ok()) return status;
    return AddEntry(section, key, existing);
  }

  // AppendValueBytes copies `length` bytes at `source_offset` of `source` to the end of
  // `section`'s value blob (Writer::AppendValuesFrom).
  absl::StatusOr<ValueRef> AppendValueBytes(uint32_t section, File* source, uint64_t source_offset,
                                            uint64_t length) {
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
    unstarted_writeback_bytes_ += length;
    if (unstarted_writeback_bytes_ >= kWritebackStep) {
      file_->StartWriteback();
      unstarted_writeback_bytes_ = 0;
    }
    layout_.mutable_sections(section)->set_values_length(values_length + length);
    sections_[section].values_flushed = values_length + length;
    return ValueRef{values_length, length};
  }

  uint64_t ValuesLength(uint32_t section) const {
    if (section >= sections_.size()) return 0;
    return layout_.sections(section).values_length();
  }

  std::optional<uint64_t> LastKey(uint32_t section) const {
    if (section >= sections_.size()) return std::nullopt;
    return sections_[section].last_key;
  }

  uint64_t EntryCount(uint32_t section) const {
    if (section >= sections_.size()) return 0;
    return layout_.sections(section).entry_count();
  }

  void SetUserMetadata(absl::string_view type_name, std::string bytes) {
    meta_type_ = std::string(type_name);
    meta_ = std::move(bytes);
  }

  absl::Status Commit() {
    if (absl::Status status = CheckUsable(); !status.ok()) return status;
    // Refuse an oversized header before touching the file, so the caller can shrink it.
    if (absl::StatusOr<std::string> encoded = internal::EncodeSlot(View(false)); !encoded.ok()) {
      return encoded.status();
    }
    absl::Status status = FlushAllBuffers();
    absl::StatusOr<Header> next = Header();
    if (status.ok()) next = CommitView();
    if (status.ok()) status = next.status();
    // Data first, then the slot that points at it (FORMAT.md, "Commit protocol").
    if (status.ok()) status = Sync();
    if (status.ok()) status = WriteHeader(*next);
    if (!status.ok()) return Fail(status);
    layout_ = *std::move(next);  // Replaced indexes now start at their bases.
    for (int s = 0; s < layout_.sections_size(); ++s) {
      SectionRuntime& runtime = sections_[s];
      runtime.committed_entries = layout_.sections(s).entry_count();
      runtime.committed_values_length = layout_.sections(s).values_length();
      runtime.replacing = false;
      runtime.key_base = runtime.location_base = 0;
    }
    committed_meta_type_ = meta_type_;
    committed_meta_ = meta_;
    return absl::OkStatus();
  }

  absl::Status Seal() {
    absl::Status status = Commit();
    if (!status.ok()) return status;
    if (updating_) {  // The commit set the checksums (extended over what it added).
      status = RemoveRoom();
      if (!status.ok()) return Fail(status);
    } else {
      // Checksums over the used bytes of every array, before the trims: the trims move bytes
      // without changing them, and a move (fallocate COLLAPSE_RANGE) drops the moved range
      // from the page cache, which a later read would fetch from the disk again.
      absl::StatusOr<std::vector<std::array<uint32_t, 3>>> crcs = UsedBytesCrcs();
      if (!crcs.ok()) return Fail(crcs.status());
      status = RemoveRoom();
      if (!status.ok()) return Fail(status);
      for (int s = 0; s < layout_.sections_size(); ++s) {
        Section* section = layout_.mutable_sections(s);
        for (int i = 0; i < 3; ++i) SetCrc(section, kArrayKinds[i], (*crcs)[s][i]);
        section->set_state(SECTION_SEALED);
      }
      layout_.set_sealed(true);
    }
    final_syncs_ = true;
    status = Sync();
    // The sealed header goes into both slots, so a damaged slot never exposes an older layout.
    for (int i = 0; status.ok() && i < internal::kSlotCount; ++i) {
      status = WriteHeader(View(/*committed=*/false));
    }
    if (!status.ok()) return Fail(status);
    sealed_ = true;
    return absl::OkStatus();
  }

  absl::Status ReplaceEntries(uint32_t section) {
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
    runtime.flushed_entries = 0;
    runtime.last_key.reset();
    layout_.mutable_sections(section)->set_entry_count(0);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Entry>> ReadCommittedEntries(uint32_t section) {
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
      entries[i].value.length =
          absl::little_endian::Load64(locations.data() + i * kLocationSize + 8);
    }
    return entries;
  }

  absl::StatusOr<std::string> ReadValue(uint32_t section, ValueRef ref) {
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

  const WriterStats& stats() const { return stats_; }
  const WriterOptions& options() const { return options_; }
  bool uses_insert_range() const { return use_fallocate_ranges_; }

 private:
  absl::Status Annotate(const absl::Status& status) const {
    return absl::Status(status.code(), absl::StrCat(path_, ": ", status.message()));
  }
  // WhileDoing prefixes what the writer was doing (the code stays the same).
  static absl::Status WhileDoing(const absl::Status& status, absl::string_view doing) {
    return absl::Status(status.code(), absl::StrCat(doing, ": ", status.message()));
  }

  absl::Status CheckUsable() const {
    if (!failed_.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": the writer stopped after an earlier error (", failed_.message(),
                       "); the file is at its last commit: reopen it with Writer::",
                       updating_ ? "OpenForUpdate" : "OpenForAppend"));
    }
    if (sealed_) return absl::FailedPreconditionError(path_ + ": the writer has sealed the file");
    return absl::OkStatus();
  }

  // WriteFile is File::Write, counted in WriterStats::bytes_written.
  absl::Status WriteFile(uint64_t offset, absl::string_view data) {
    stats_.bytes_written += data.size();
    return file_->Write(offset, data);
  }

  absl::Status Fail(const absl::Status& status) {
    if (failed_.ok()) failed_ = status;
    return status;
  }

  absl::Status Sync() {
    if (!options_.sync_each_step && !final_syncs_) {
      layout_moved_since_sync_ = false;  // Ordered enough: nobody reopens this file if lost.
      return absl::OkStatus();
    }
    ++stats_.syncs;
    absl::Status status = file_->SyncData();
    if (status.ok()) layout_moved_since_sync_ = false;
    return status;
  }

  absl::Status SyncIfMoved() { return layout_moved_since_sync_ ? Sync() : absl::OkStatus(); }

  // CommitView is the header a commit writes: View(false), where a section whose entries are
  // replaced shows its new index (its keys and locations arrays start at the bases), and, in a
  // file changed in place, the CRC32Cs of the arrays' new used bytes.
  absl::StatusOr<Header> CommitView() {
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

  // ExtendedCrc is the CRC32C of the used bytes of `kind` of section `s` as the next commit
  // shows them: the committed CRC extended over the bytes added since (all of a replaced
  // index), so that an update reads what it wrote, not the file.
  absl::StatusOr<uint32_t> ExtendedCrc(int s, ArrayKind kind) {
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

  static void SetCrc(Section* section, ArrayKind kind, uint32_t crc) {
    switch (kind) {
      case ARRAY_KEYS:
        section->set_keys_crc32c(crc);
        break;
      case ARRAY_LOCATIONS:
        section->set_locations_crc32c(crc);
        break;
      case ARRAY_VALUES:
        section->set_values_crc32c(crc);
        break;
      default:
        break;
    }
  }

  // View returns the header to write: the current layout with the committed counts and
  // metadata (committed = true, for move records) or the current ones (a commit).
  Header View(bool committed) const {
    Header header = layout_;
    header.clear_pending();
    if (committed) {
      for (int s = 0; s < header.sections_size(); ++s) {
        header.mutable_sections(s)->set_entry_count(sections_[s].committed_entries);
        header.mutable_sections(s)->set_values_length(sections_[s].committed_values_length);
      }
      header.set_user_metadata_type(committed_meta_type_);
      header.set_user_metadata(committed_meta_);
    } else {
      header.set_user_metadata_type(meta_type_);
      header.set_user_metadata(meta_);
    }
    return header;
  }

  // WriteHeader writes `header` as the next generation into its slot and syncs it.
  absl::Status WriteHeader(Header header) {
    header.set_magic(internal::kHeaderMagic);
    header.set_format_major(internal::kFormatMajor);
    header.set_format_minor(internal::kFormatMinor);
    header.set_generation(generation_ + 1);
    absl::StatusOr<std::string> slot = internal::EncodeSlot(header);
    if (!slot.ok()) return slot.status();
    absl::Status status =
        WriteFile((header.generation() % internal::kSlotCount) * kSlotSize, *slot);
    if (!status.ok()) return status;
    ++stats_.header_writes;
    ++generation_;
    disk_has_pending_ = header.pending().kind() != PendingMove::KIND_NONE;
    return Sync();
  }

  uint64_t LayoutEnd() const {
    uint64_t end = kDataStart;
    for (const Section& section : layout_.sections()) {
      for (ArrayKind kind : kArrayKinds) {
        const ArrayExtent& extent = internal::Array(section, kind);
        end = std::max(end, extent.offset() + extent.capacity());
      }
    }
    return end;
  }

  absl::Status AddEntry(uint32_t section, uint64_t key, ValueRef ref) {
    const uint64_t count = layout_.sections(section).entry_count();
    SectionRuntime& runtime = sections_[section];
    absl::Status status = Reserve(section, ARRAY_KEYS, runtime.key_base + (count + 1) * kKeySize);
    if (status.ok()) {
      status =
          Reserve(section, ARRAY_LOCATIONS, runtime.location_base + (count + 1) * kLocationSize);
    }
    if (!status.ok()) return Fail(status);
    char bytes[kLocationSize];
    absl::little_endian::Store64(bytes, key);
    runtime.key_buffer.append(bytes, kKeySize);
    absl::little_endian::Store64(bytes, ref.offset);
    absl::little_endian::Store64(bytes + 8, ref.length);
    runtime.location_buffer.append(bytes, kLocationSize);
    runtime.last_key = key;
    layout_.mutable_sections(section)->set_entry_count(count + 1);
    if (runtime.location_buffer.size() >= kIndexBufferFlush) {
      status = FlushBuffers(section);
      if (!status.ok()) return Fail(status);
    }
    return absl::OkStatus();
  }

  // BufferValue adds `value` (appended at the end of the section's blob, room reserved) to the
  // value buffer, or writes it and the buffer when they are long.
  absl::Status BufferValue(uint32_t section, absl::string_view value) {
    SectionRuntime& runtime = sections_[section];
    if (value.size() >= kValueBufferFlush) {
      absl::Status status = FlushValues(section);
      if (!status.ok()) return status;
      status =
          WriteFile(layout_.sections(section).values().offset() + runtime.values_flushed, value);
      if (status.ok()) runtime.values_flushed += value.size();
      return status;
    }
    // Its whole size at once: growing it by doubling copies and faults it in again and again.
    if (runtime.value_buffer.capacity() < 2 * kValueBufferFlush) {
      runtime.value_buffer.reserve(2 * kValueBufferFlush);
    }
    runtime.value_buffer.append(value.data(), value.size());
    return runtime.value_buffer.size() >= kValueBufferFlush ? FlushValues(section)
                                                            : absl::OkStatus();
  }

  // FlushValues writes the section's buffered values at their place in the values array (as
  // it is now: growths of other arrays may have moved it since they were buffered).
  absl::Status FlushValues(uint32_t section) {
    SectionRuntime& runtime = sections_[section];
    if (runtime.value_buffer.empty()) return absl::OkStatus();
    absl::Status status = WriteFile(
        layout_.sections(section).values().offset() + runtime.values_flushed, runtime.value_buffer);
    if (!status.ok()) return status;
    runtime.values_flushed += runtime.value_buffer.size();
    runtime.value_buffer.clear();
    return absl::OkStatus();
  }

  absl::Status FlushBuffers(uint32_t section) {
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

  absl::Status FlushAllBuffers() {
    for (uint32_t s = 0; s < sections_.size(); ++s) {
      absl::Status status = FlushBuffers(s);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  // Reserve makes `array` of `section` at least `needed` bytes, growing it geometrically.
  absl::Status Reserve(uint32_t section, ArrayKind array, uint64_t needed) {
    const uint64_t capacity = internal::Array(layout_.sections(section), array).capacity();
    if (needed <= capacity) return absl::OkStatus();
    // At least doubling keeps each array's growth steps logarithmic. A small array in a big
    // file grows by a quarter of the file, up to 64 MiB, which skips its many small first steps
    // (each INSERT_RANGE costs a few syncs and up to ~100 ms on a large, fragmented ext4 file);
    // the cap keeps the logical file size within about twice the data plus 64 MiB per array.
    const uint64_t step =
        std::max(capacity, std::min(RoundUpToBlock(file_size_ / 4), kGrowthStepCap));
    const uint64_t target = std::max({RoundUpToBlock(needed), capacity + step, kBlockSize});
    return Grow(section, array, target - capacity);
  }

  absl::Status Grow(uint32_t section, ArrayKind array, uint64_t length) {
    ++stats_.growths;
    if (array != ARRAY_VALUES) ++stats_.index_growths;
    const ArrayExtent& extent = internal::Array(layout_.sections(section), array);
    PendingMove move;
    move.set_section(section);
    move.set_array(array);
    move.set_offset(extent.offset() + extent.capacity());
    move.set_file_size_before(file_size_);
    const bool at_end = move.offset() == file_size_;
    // Earlier moves durable before a header that describes their result.
    absl::Status status = SyncIfMoved();
    if (!status.ok()) return status;
    if (at_end || use_fallocate_ranges_) {
      move.set_kind(PendingMove::INSERT_RANGE);
      move.set_length(length);
      // The record (with where committed bytes of the tail must end up) durable before the
      // move itself; WriteHeader syncs.
      Header header = View(/*committed=*/true);
      if (!at_end) status = internal::RecordShiftChecks(header, file_.get(), &move);
      *header.mutable_pending() = move;
      if (status.ok()) status = WriteHeader(header);
      if (!status.ok()) return status;
      status =
          at_end ? file_->Truncate(file_size_ + length) : file_->InsertRange(move.offset(), length);
      if (status.ok()) {
        if (!at_end) ++stats_.insert_range_calls;
        // The record stays the newest header until the next header write, which syncs first.
        // Until then the writer only writes past committed bytes, so the shift checks hold.
        file_size_ += length;
        layout_moved_since_sync_ = true;
        return internal::ApplyMove(move, &layout_);
      }
      if (at_end || !absl::IsUnimplemented(status)) {
        return WhileDoing(status, "growing an array (INSERT_RANGE)");
      }
      use_fallocate_ranges_ = false;  // Refused by this filesystem: fall back from now on.
      move.clear_shift_checks();
    }
    // Fallback: copy the tail up. Bigger steps bound the number of tail copies.
    const uint64_t tail = file_size_ - move.offset();
    move.set_kind(PendingMove::COPY_TAIL_UP);
    move.set_length(std::max(length, RoundUpToBlock(tail / 16)));
    move.set_progress(file_size_);
    status = WriteHeader(WithPending(move));
    if (status.ok()) status = CopyTailUp(move);
    if (status.ok()) status = FinishGrowth(move);
    // The new room still holds stale bytes of the tail: make it a hole.
    if (status.ok()) status = PunchIfSupported(move.offset(), move.length());
    return status;
  }

  // FinishGrowth shows a finished (and synced) tail copy in a header without a pending move,
  // before anything else is written: later writes would land where recovery of the record
  // still copies bytes.
  absl::Status FinishGrowth(const PendingMove& move) {
    absl::Status status = internal::ApplyMove(move, &layout_);
    if (status.ok()) status = WriteHeader(View(/*committed=*/true));
    return status;
  }

  // RemoveRoom trims every array to round_up(its used bytes) and removes the gaps between the
  // arrays (left by ReplaceEntries), from the highest offset to the lowest, so that each move
  // shifts only bytes that are already final. Nothing else is written between the moves, so
  // the record of each may stay the newest header until the next one.
  absl::Status RemoveRoom() {
    struct Placed {
      uint64_t offset;
      uint32_t section;
      ArrayKind array;
    };
    std::vector<Placed> arrays;  // Those of capacity > 0 (the others own no bytes).
    for (int s = 0; s < layout_.sections_size(); ++s) {
      for (ArrayKind kind : kArrayKinds) {
        const ArrayExtent& extent = internal::Array(layout_.sections(s), kind);
        if (extent.capacity() > 0) {
          arrays.push_back({extent.offset(), static_cast<uint32_t>(s), kind});
        }
      }
    }
    std::sort(arrays.begin(), arrays.end(),
              [](const Placed& a, const Placed& b) { return a.offset > b.offset; });
    for (size_t i = 0; i < arrays.size(); ++i) {
      const Section& section = layout_.sections(arrays[i].section);
      const ArrayExtent& extent = internal::Array(section, arrays[i].array);
      const uint64_t keep = RoundUpToBlock(internal::UsedBytes(section, arrays[i].array));
      absl::Status status = absl::OkStatus();
      if (extent.capacity() > keep) {
        status = Shrink(arrays[i].section, arrays[i].array, extent.capacity() - keep);
      }
      uint64_t below = kDataStart;  // End of the next array down (moves above leave it).
      if (i + 1 < arrays.size()) {
        const ArrayExtent& next =
            internal::Array(layout_.sections(arrays[i + 1].section), arrays[i + 1].array);
        below = next.offset() + next.capacity();
      }
      if (status.ok() && extent.offset() > below) {
        PendingMove gap;
        gap.set_gap(true);
        gap.set_section(layout_.sections_size());  // No section: a 1.1 reader refuses it.
        gap.set_offset(below);
        gap.set_length(extent.offset() - below);
        status = Remove(gap);
      }
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  // Shrink trims `length` bytes off the end of an array.
  absl::Status Shrink(uint32_t section, ArrayKind array, uint64_t length) {
    const ArrayExtent& extent = internal::Array(layout_.sections(section), array);
    PendingMove move;
    move.set_section(section);
    move.set_array(array);
    move.set_offset(extent.offset() + extent.capacity() - length);
    move.set_length(length);
    return Remove(move);
  }

  // Remove removes `move`'s range [offset, offset + length) from the file (a trim or a gap),
  // recorded first (FORMAT.md, "Seal"), by ftruncate, COLLAPSE_RANGE or a tail copy.
  absl::Status Remove(PendingMove move) {
    const uint64_t length = move.length();
    move.set_file_size_before(file_size_);
    const bool at_end = move.offset() + length == file_size_;
    absl::Status status = SyncIfMoved();
    if (!status.ok()) return status;
    if (at_end || use_fallocate_ranges_) {
      move.set_kind(PendingMove::COLLAPSE_RANGE);
      Header header = View(/*committed=*/true);
      if (!at_end) status = internal::RecordShiftChecks(header, file_.get(), &move);
      *header.mutable_pending() = move;
      if (status.ok()) status = WriteHeader(header);
      if (!status.ok()) return status;
      status =
          at_end ? file_->Truncate(move.offset()) : file_->CollapseRange(move.offset(), length);
      if (status.ok()) {
        if (!at_end) ++stats_.collapse_range_calls;
        file_size_ -= length;
        status = internal::ApplyMove(move, &layout_);
        if (status.ok()) status = Sync();
        return status;
      }
      if (at_end || !absl::IsUnimplemented(status)) {
        return WhileDoing(status, "trimming an array (COLLAPSE_RANGE)");
      }
      use_fallocate_ranges_ = false;
      move.clear_shift_checks();
    }
    move.set_kind(PendingMove::COPY_TAIL_DOWN);
    move.set_progress(move.offset() + length);
    status = WriteHeader(WithPending(move));
    if (status.ok()) status = CopyTailDown(move);
    if (!status.ok()) return status;
    return internal::ApplyMove(move, &layout_);
  }

  Header WithPending(const PendingMove& move) const {
    Header header = View(/*committed=*/true);
    *header.mutable_pending() = move;
    return header;
  }

  absl::Status PunchIfSupported(uint64_t offset, uint64_t length) {
    absl::Status status = file_->PunchHole(offset, length);
    return absl::IsUnimplemented(status) ? absl::OkStatus() : status;
  }

  // WriteOrPunch writes [at, at + length) from `data`, except that runs of all-zero 4096-byte
  // blocks become holes (so reserved room that a move copies stays free disk space, also where
  // a chunk is part data, part room). `at` is block aligned.
  absl::Status WriteOrPunch(uint64_t at, const char* data, size_t length) {
    stats_.bytes_moved += length;
    const auto zero_block = [&](size_t i) {
      return internal::AllZero(data + i, std::min<size_t>(kBlockSize, length - i));
    };
    for (size_t run = 0; run < length;) {  // [run, end): blocks that are all zero, or not.
      const bool zero = zero_block(run);
      size_t end = run + std::min<size_t>(kBlockSize, length - run);
      while (end < length && zero_block(end) == zero) {
        end += std::min<size_t>(kBlockSize, length - end);
      }
      absl::Status status = absl::UnimplementedError("not a hole");
      if (zero) status = file_->PunchHole(at + run, end - run);
      if (absl::IsUnimplemented(status)) {
        status = WriteFile(at + run, absl::string_view(data + run, end - run));
      }
      if (!status.ok()) return status;
      run = end;
    }
    return absl::OkStatus();
  }

  // CopyChunk copies [from, from + n) to [to, to + n); a source that is only holes is not
  // read, its destination is punched.
  absl::Status CopyChunk(uint64_t from, uint64_t to, size_t n, std::string* buffer) {
    absl::StatusOr<uint64_t> data = file_->NextData(from);
    if (!data.ok()) return data.status();
    if (*data >= from + n) {
      absl::Status status = file_->PunchHole(to, n);
      if (!absl::IsUnimplemented(status)) return status;
      std::fill_n(buffer->begin(), n, '\0');
      return WriteFile(to, absl::string_view(buffer->data(), n));
    }
    absl::Status status = file_->Read(from, n, &(*buffer)[0]);
    if (status.ok()) status = WriteOrPunch(to, buffer->data(), n);
    return status;
  }

  // RecordProgress makes the copies so far durable, then a header recording `move` with them.
  absl::Status RecordProgress(const Header& base, const PendingMove& move) {
    Header header = base;
    *header.mutable_pending() = move;
    ++stats_.progress_records;
    absl::Status status = Sync();
    if (status.ok()) status = WriteHeader(header);
    return status;
  }

  // CopyTailUp moves [offset, progress) up by length, from the end backwards, recording the
  // progress before any write could overwrite bytes an earlier record still needs at their old
  // place, and after every chunk (FORMAT.md, "Fallback growth"). Ends with
  // every copy durable; the caller shows the new layout. The header's layout is the one before
  // the move.
  absl::Status CopyTailUp(PendingMove move) {
    ++stats_.tail_moves;
    const uint64_t begin = move.offset();
    const uint64_t length = move.length();
    const uint64_t after = move.file_size_before() + length;
    // A record after every chunk lets the old copies be freed a chunk at a time: the move
    // never needs more than one chunk of disk space beyond the larger layout.
    const uint64_t interval = std::min(length, move_chunk_);
    absl::Status status = absl::OkStatus();
    if (file_size_ != after) {
      status = file_->Truncate(after);
      if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
      file_size_ = after;
    }
    std::string buffer(std::min<uint64_t>(move_chunk_, move.progress() - begin), '\0');
    uint64_t recorded = move.progress();
    uint64_t copied_down_to = recorded;
    const Header base = View(/*committed=*/true);
    while (copied_down_to > begin) {
      const uint64_t limit = recorded - begin > interval ? recorded - interval : begin;
      if (copied_down_to == limit) {
        move.set_progress(copied_down_to);
        status = RecordProgress(base, move);
        recorded = copied_down_to;
        // Old copies of [recorded, recorded + length) were copied up and no record needs them
        // any more: free their disk space now, not at the end.
        if (status.ok() && recorded < move.file_size_before()) {
          status = PunchIfSupported(recorded, length);
        }
        if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
        continue;
      }
      const uint64_t from =
          std::max(limit, copied_down_to - std::min<uint64_t>(move_chunk_, copied_down_to));
      const size_t n = copied_down_to - from;
      status = CopyChunk(from, from + length, n, &buffer);
      if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
      copied_down_to = from;
    }
    status = Sync();
    if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
    return absl::OkStatus();
  }

  // CopyTailDown moves [progress, file_size_before) down by length, front to back, with the
  // mirror rule of CopyTailUp, then truncates.
  absl::Status CopyTailDown(PendingMove move) {
    ++stats_.tail_moves;
    const uint64_t length = move.length();
    const uint64_t end = move.file_size_before();
    // A record after every chunk lets the old copies be freed a chunk at a time: the move
    // never needs more than one chunk of disk space beyond the larger layout.
    const uint64_t interval = std::min(length, move_chunk_);
    std::string buffer(std::min<uint64_t>(move_chunk_, end - move.progress()), '\0');
    uint64_t recorded = move.progress();
    uint64_t copied_up_to = recorded;
    const Header base = View(/*committed=*/true);
    // [recorded - length, recorded): the removed room, or old copies of bytes already copied
    // down; no record needs them.
    absl::Status status = PunchIfSupported(recorded - length, length);
    while (status.ok() && copied_up_to < end) {
      const uint64_t limit = std::min(end, recorded + interval);
      if (copied_up_to == limit) {
        move.set_progress(copied_up_to);
        status = RecordProgress(base, move);
        recorded = copied_up_to;
        if (status.ok()) status = PunchIfSupported(recorded - length, length);
        continue;
      }
      const uint64_t to = std::min(limit, copied_up_to + move_chunk_);
      const size_t n = to - copied_up_to;
      status = CopyChunk(copied_up_to, copied_up_to - length, n, &buffer);
      copied_up_to = to;
    }
    if (status.ok()) {
      move.set_progress(end);
      status = RecordProgress(base, move);
    }
    if (status.ok()) status = file_->Truncate(end - length);
    if (!status.ok()) return WhileDoing(status, "moving the file's tail down");
    file_size_ = end - length;
    layout_moved_since_sync_ = true;
    return absl::OkStatus();
  }

  // UsedBytesCrcs returns the CRC32C of the used bytes of each section's keys, locations and
  // values, read through a map where the Env can map (no copy into a buffer: that copy costs
  // more than the CRC). As for a Reader, an I/O error under the map would raise SIGBUS; the
  // bytes were just written and are normally still in the page cache.
  absl::StatusOr<std::vector<std::array<uint32_t, 3>>> UsedBytesCrcs() {
    std::string buffer;
    absl::StatusOr<std::unique_ptr<MappedRegion>> map = file_->Map(file_size_);
    const MappedRegion* mapped = map.ok() ? map->get() : nullptr;
    std::vector<std::array<uint32_t, 3>> crcs(layout_.sections_size());
    for (int s = 0; s < layout_.sections_size(); ++s) {
      for (int i = 0; i < 3; ++i) {
        const ArrayKind kind = kArrayKinds[i];
        absl::StatusOr<uint32_t> crc =
            FileCrc(internal::Array(layout_.sections(s), kind).offset(),
                    internal::UsedBytes(layout_.sections(s), kind), mapped, &buffer);
        if (!crc.ok()) return crc.status();
        crcs[s][i] = *crc;
      }
    }
    return crcs;
  }

  // FileCrc returns `crc` extended over [offset, offset + length) of the file (by default the
  // CRC32C of those bytes), from `map` if not null (it maps the whole file), else read into
  // `buffer`.
  absl::StatusOr<uint32_t> FileCrc(uint64_t offset, uint64_t length, const MappedRegion* map,
                                   std::string* buffer, uint32_t crc = 0) {
    if (map != nullptr) {
      map->Advise(offset, length, AccessPattern::kSequential);
      return internal::Crc32cExtend(crc, map->data().data() + offset, length);
    }
    buffer->resize(std::min<uint64_t>(length, kCrcChunk));
    while (length > 0) {
      const size_t n = std::min<uint64_t>(length, kCrcChunk);
      absl::Status status = file_->Read(offset, n, &(*buffer)[0]);
      if (!status.ok()) return status;
      crc = internal::Crc32cExtend(crc, buffer->data(), n);
      offset += n;
      length -= n;
    }
    return crc;
  }

  const std::string path_;
  std::unique_ptr<File> file_;
  const WriterOptions options_;
  const uint64_t move_chunk_;                          // Bytes per pread/pwrite of a tail move.
  static constexpr uint64_t kWritebackStep = 8 << 20;  // Appended bytes per StartWriteback.
  uint64_t unstarted_writeback_bytes_ = 0;
  Header layout_;  // Current layout and counts (appended, committed or not).
  std::vector<SectionRuntime> sections_;
  std::string meta_type_, meta_, committed_meta_type_, committed_meta_;
  uint64_t generation_ = 0;
  uint64_t file_size_ = 0;
  bool use_fallocate_ranges_ = true;
  bool layout_moved_since_sync_ = false;
  bool disk_has_pending_ = false;  // The newest header on disk records a move.
  bool sealed_ = false;
  // Opened by OpenForUpdate: the file is sealed, and every header written stays sealed, with
  // the committed checksums (a commit extends them over what it added).
  bool updating_ = false;
  bool final_syncs_ = false;  // Seal's last steps: they sync even without sync_each_step.
  absl::Status failed_;
  WriterStats stats_;
};

namespace {

absl::StatusOr<std::unique_ptr<File>> OpenLocked(Env* env, const std::string& path, OpenMode mode) {
  absl::StatusOr<std::unique_ptr<File>> file = env->Open(path, mode);
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->TryLock(LockMode::kExclusive);
  if (absl::IsUnavailable(status)) {
    // Readers hold shared locks, writers the exclusive one: a shared lock we can take says
    // that only readers are in the way.
    if ((*file)->TryLock(LockMode::kShared).ok()) {
      return absl::UnavailableError(
          path +
          ": in use by a reader (it holds a shared lock); close the programs reading it, "
          "then retry");
    }
    return absl::UnavailableError(
        path +
        ": being written by another writer (it holds the exclusive lock); one writer "
        "per file");
  }
  if (!status.ok()) return status;
  return file;
}

}  // namespace

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::~Writer() = default;

absl::StatusOr<std::unique_ptr<Writer>> Writer::Create(const std::string& path,
                                                       const WriterOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  absl::StatusOr<std::unique_ptr<File>> file = OpenLocked(
      env, path, options.overwrite ? OpenMode::kCreateOrOpen : OpenMode::kCreateExclusive);
  if (!file.ok()) {
    if (absl::IsAlreadyExists(file.status())) {
      return absl::AlreadyExistsError(path +
                                      ": exists; pass WriterOptions::overwrite to replace it");
    }
    return file.status();
  }
  if (options.overwrite) {
    // Truncate only once the lock is ours: a reader's map must not lose its pages.
    absl::Status status = (*file)->Truncate(0);
    if (!status.ok()) return status;
  }
  auto impl = std::make_unique<Impl>(path, *std::move(file), options);
  absl::Status status = impl->InitializeNew();
  if (!status.ok()) return status;
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::Reopen(const std::string& path,
                                                       const WriterOptions& options, bool update) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  absl::StatusOr<std::unique_ptr<File>> file = OpenLocked(env, path, OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  auto impl = std::make_unique<Impl>(path, *std::move(file), options);
  absl::Status status = impl->Recover(update);
  if (!status.ok()) return status;
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::OpenForAppend(const std::string& path,
                                                              const WriterOptions& options) {
  return Reopen(path, options, /*update=*/false);
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::OpenForUpdate(const std::string& path,
                                                              const WriterOptions& options) {
  return Reopen(path, options, /*update=*/true);
}

absl::StatusOr<uint32_t> Writer::AddSection(absl::string_view name) {
  const WriterOptions& options = impl_->options();
  return impl_->AddSection(name, {options.initial_key_capacity, options.initial_location_capacity,
                                  options.initial_value_capacity});
}
absl::StatusOr<uint32_t> Writer::AddSection(absl::string_view name,
                                            const SectionCapacity& capacity) {
  return impl_->AddSection(name, capacity);
}
std::optional<uint32_t> Writer::FindSection(absl::string_view name) const {
  return impl_->FindSection(name);
}
absl::StatusOr<ValueRef> Writer::Append(uint32_t section, uint64_t key, absl::string_view value) {
  return impl_->Append(section, key, value);
}
absl::Status Writer::AppendShared(uint32_t section, uint64_t key, ValueRef existing) {
  return impl_->AppendShared(section, key, existing);
}
absl::Status Writer::ReplaceEntries(uint32_t section) { return impl_->ReplaceEntries(section); }
absl::StatusOr<std::vector<Entry>> Writer::ReadCommittedEntries(uint32_t section) {
  return impl_->ReadCommittedEntries(section);
}
absl::StatusOr<std::string> Writer::ReadValue(uint32_t section, ValueRef ref) {
  return impl_->ReadValue(section, ref);
}
absl::StatusOr<ValueRef> Writer::AppendValuesFrom(uint32_t section, const Reader& source,
                                                  uint32_t source_section, ValueRef range) {
  absl::StatusOr<Reader::ValueBytesInFile> bytes = source.LocateValues(source_section, range);
  if (!bytes.ok()) return bytes.status();
  return impl_->AppendValueBytes(section, bytes->file, bytes->offset, range.length);
}
uint64_t Writer::values_length(uint32_t section) const { return impl_->ValuesLength(section); }
std::optional<uint64_t> Writer::LastKey(uint32_t section) const { return impl_->LastKey(section); }
uint64_t Writer::entry_count(uint32_t section) const { return impl_->EntryCount(section); }
void Writer::SetUserMetadata(absl::string_view type_name, std::string bytes) {
  impl_->SetUserMetadata(type_name, std::move(bytes));
}
absl::Status Writer::Commit() { return impl_->Commit(); }
absl::Status Writer::Seal() { return impl_->Seal(); }
const WriterStats& Writer::stats() const { return impl_->stats(); }
bool Writer::uses_insert_range() const { return impl_->uses_insert_range(); }

}  // namespace storage
}  // namespace flatpyramid
